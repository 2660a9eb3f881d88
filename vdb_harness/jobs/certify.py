"""Release certification: run stages into one directory, then seal it as a bundle (``reports.bundle``).

A stage is a name and a callable that writes its artifacts (a ``result.json`` at least) into the directory it is
given and returns an exit code (0 pass, 1 fail, 2 error). Stages are injected, so the command runs the real
conformance suite, load runs and capacity search while tests run fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from conformance.verdicts import status_of_exit
from reports import bundle, html_report, inputs, junit, markdown
from vdb_harness.kernel.errors import BadInputError, HarnessError
from vdb_harness.kernel.results import atomic_write_text, new_result, write_result



@dataclass(frozen=True)
class Stage:
    """One step of a certification: ``run(stage_dir) -> exit code``."""

    name: str
    run: Callable[[Path], int]


def _describe(results: list[inputs.LoadedResult]) -> dict[str, Any]:
    servers = sorted({str((r.data.get("target") or {}).get("server_version")) for r in results
                      if (r.data.get("target") or {}).get("server_version")})
    datasets = {}
    for r in results:
        d = r.data.get("dataset") or {}
        if d.get("fingerprint"):
            datasets[d["fingerprint"]] = {k: d.get(k) for k in ("name", "fingerprint", "rows", "queries")}
    scen = {(r.data.get("scenario") or {}).get("name"): (r.data.get("scenario") or {}).get("sha256") for r in results
            if (r.data.get("scenario") or {}).get("name")}
    return {"server": {"versions": servers}, "datasets": list(datasets.values()), "scenarios": scen}


def certify(stages: list[Stage], out: Path, *, profile: str, secrets: list[str]) -> tuple[int, Path, Path]:
    """Run ``stages`` into ``out/<stage>/``, write the report and ``out/result.json``, seal the bundle.

    Returns (exit code, bundle dir, archive). Exit 0 when every stage passed, 1 when one failed, 2 when none
    failed but one could not run.
    """
    if out.exists() and any(out.iterdir()):
        raise BadInputError(f"{out}: the bundle directory must be new or empty")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    loaded: list[inputs.LoadedResult] = []
    for stage in stages:
        stage_dir = out / stage.name
        try:
            code = int(stage.run(stage_dir))
        except HarnessError as exc:
            code, note = exc.exit_code, str(exc)
        else:
            note = None
        result_path = stage_dir / "result.json"
        row = {"name": stage.name, "exit_code": code, "status": status_of_exit(code),
               "result": result_path.relative_to(out).as_posix() if result_path.exists() else None}
        if note:
            row["note"] = note
        rows.append(row)
        if code == 130:
            break
    redacted = bundle.redact(out, secrets)  # before anything is derived from the stages' files
    for row in rows:
        if row["result"]:
            try:
                loaded.append(inputs.load_one(out / row["result"]))
            except BadInputError as exc:
                row.update(status="error", note=str(exc))
    verdict = "pass" if all(r["status"] == "pass" for r in rows) else \
        "fail" if any(r["status"] == "fail" for r in rows) else "error"
    result = new_result("certify")
    result["certify"] = {"profile": profile, "stages": rows, "bundle": out.name, "archive": f"{out.name}.tar.gz"}
    result["status"] = verdict
    write_result(result, out)
    everything = loaded + [inputs.load_one(out / "result.json")]
    report_dir = out / "report"
    atomic_write_text(report_dir / "report.html", html_report.render(everything, f"Certification ({profile})"))
    atomic_write_text(report_dir / "summary.md", markdown.render(everything, f"Certification ({profile})"))
    atomic_write_text(report_dir / "junit.xml", junit.render(everything))
    redacted += bundle.redact(out, secrets)
    bundle.write_manifest(out, {"profile": profile, "verdict": verdict, "stages": rows, **_describe(loaded),
                                "redacted_files": redacted})
    archive = bundle.write_archive(out)
    return {"pass": 0, "fail": 1}.get(verdict, 2), out, archive


def verify_bundle(path: Path, *, echo: Optional[Callable[[str], None]] = print) -> int:
    """Verify a bundle (directory or archive); print what was found; exit 0 intact, 1 tampered."""
    found = bundle.verify(path)
    say = echo or (lambda _s: None)
    for problem in found.problems:
        say(f"TAMPERED  {problem}")
    verdict = found.manifest.get("verdict", "?")
    say(f"bundle {found.bundle}: {'intact' if found.ok else 'TAMPERED'} ({found.checked} artifacts checked; "
        f"certification verdict recorded: {verdict})")
    return 0 if found.ok else 1
