"""The release sweep: the conformance ``ci`` profile against a list of pymilvus releases, each in its own managed
virtualenv, and the per-method table of which release brought (and which removed) each divergence.

Layout of a sweep directory ``OUT``::

    OUT/releases/<version>/entry.json    what the sweep recorded for that release (resume reads it)
    OUT/releases/<version>/result.json   that release's conformance result (with reproducers/, conformance.md)
    OUT/releases/<version>/sweep.log     the run's output
    OUT/result.json                      every release's matrix rows plus the ``sweep`` section (the table)

A release already swept by the same harness fingerprint is not run again unless ``force``. The work per release is
done by a :class:`ReleaseRunner` (the real one: :class:`VenvRunner`; tests give a fake one).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol

from packaging.version import InvalidVersion, Version

from scenarios import engines, venvs
from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.results import atomic_write_text, package_version

Progress = Callable[[str], None]
#: The harness' packages (those the wheel holds, see ``[tool.setuptools.packages.find]``): what the build
#: fingerprint covers.
PACKAGES = ("scenarios", "conformance", "loadtests", "reports", "vdb_harness")
#: Statuses a method can have in one release (the matrix statuses, plus ``absent``: not in that release's run).
CELL_STATUSES = ("pass", "diverges", "known-divergence", "unsupported", "error", "absent")


# ---------------------------------------------------------------- releases

def parse_versions(pip_index_output: str) -> list[str]:
    """The versions listed by ``pip index versions pymilvus`` (its 'Available versions:' line)."""
    for line in pip_index_output.splitlines():
        if line.strip().startswith("Available versions:"):
            return [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()]
    return []


def available_releases(python: str = sys.executable) -> list[str]:
    """The pymilvus releases the package index offers (one ``pip index versions`` call)."""
    try:
        out = subprocess.run([python, "-m", "pip", "index", "versions", "pymilvus"], capture_output=True, text=True,
                             timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInputError(f"cannot list pymilvus releases with pip: {exc}") from None
    versions = parse_versions(out.stdout)
    if not versions:
        raise BadInputError("cannot list pymilvus releases (pip index versions pymilvus: "
                            f"{(out.stderr or out.stdout).strip()[-300:] or 'no output'}); give --releases")
    return versions


def _final(versions: Iterable[str]) -> list[Version]:
    out = []
    for v in versions:
        try:
            parsed = Version(v)
        except InvalidVersion:
            continue
        if not parsed.is_prerelease and not parsed.is_devrelease:
            out.append(parsed)
    return sorted(set(out))


def default_selection(versions: Iterable[str]) -> list[str]:
    """Every 2.6.x and 3.0.x release, plus the first and the last 2.5.x, oldest first."""
    final = _final(versions)
    picked = [v for v in final if (v.major, v.minor) in ((2, 6), (3, 0))]
    v25 = [v for v in final if (v.major, v.minor) == (2, 5)]
    if v25:
        picked += [v25[0], v25[-1]]
    return [str(v) for v in sorted(set(picked))]


def select_releases(spec: str, available: list[str]) -> list[str]:
    """``--releases``: comma-separated versions or specifiers (``2.6.2,>=3.0``), matched against ``available``."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    picked: set[Version] = set()
    final = _final(available)
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part[0].isdigit():
            try:
                picked.add(Version(part))
            except InvalidVersion:
                raise BadInputError(f"--releases: {part!r} is not a version") from None
            continue
        try:
            spec_set = SpecifierSet(part)
        except InvalidSpecifier:
            raise BadInputError(f"--releases: {part!r} is neither a version nor a specifier like >=2.6") from None
        picked.update(v for v in final if v in spec_set)
    if not picked:
        raise BadInputError(f"--releases {spec!r} selects no release")
    return [str(v) for v in sorted(picked)]


def spread(releases: list[str]) -> list[str]:
    """The order to sweep ``releases`` (oldest first) in so that an interrupted sweep still brackets every change:
    the newest, the oldest, then the middle of each remaining gap, breadth first."""
    if len(releases) <= 2:
        return list(reversed(releases))
    order, gaps = [releases[-1], releases[0]], [(0, len(releases) - 1)]
    while gaps:
        nxt = []
        for lo, hi in gaps:
            if hi - lo < 2:
                continue
            mid = (lo + hi) // 2
            order.append(releases[mid])
            nxt += [(lo, mid), (mid, hi)]
        gaps = nxt
    return order


def engine_order(version: str) -> list[str]:
    """The engines to serve a release from, in order of preference. milvus-lite 3 serves through the installed
    pymilvus' protobufs and cannot serve 2.5.x (no ShowCollectionsResponse.shards_num): 2.5.x gets Milvus Lite 2.5.1;
    a release that the first engine cannot serve at all (the server does not start) falls back to the next."""
    v = Version(version)
    return ["lite25"] if v < Version("2.6") else ["lite", "lite25"]


def release_requirements(version: str, engine: str) -> list[str]:
    """What a release's venv holds besides the harness' own dependencies: the pinned pymilvus and its engine."""
    reqs = [f"pymilvus=={version}"] + list(engines.ENGINES[engine].harness_requirements)
    if Version(version) < Version("2.6") and not any(r.startswith("setuptools") for r in reqs):
        reqs.append("setuptools<81")  # pymilvus 2.5.x imports pkg_resources
    return reqs


# ---------------------------------------------------------------- the harness as installed into release venvs

def harness_fingerprint(root: Optional[Path] = None) -> str:
    """``<version>+<sha256 prefix>`` of the harness' package files: a code change makes a new fingerprint."""
    base = root or Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for pkg in PACKAGES:
        for f in sorted((base / pkg).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".pyo"):
                digest.update(str(f.relative_to(base)).encode() + b"\0" + f.read_bytes() + b"\0")
    return f"{package_version('vdb-harness')}+{digest.hexdigest()[:12]}"


def checkout_root() -> Optional[Path]:
    """The source checkout this harness runs from (with its pyproject.toml), or None when installed from a wheel."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "vdb-harness"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def build_wheel(fingerprint: str, progress: Optional[Progress] = None) -> Path:
    """The harness wheel built from the checkout (cached per fingerprint)."""
    root = checkout_root()
    if root is None:
        raise BadInputError("the sweep installs the harness into each release's virtualenv; this one is not a "
                            "source checkout: give --harness-wheel PATH (a vdb-harness wheel)")
    dest = venvs.cache_root().parent / "wheels" / fingerprint
    found = sorted(dest.glob("vdb_harness-*.whl")) if dest.is_dir() else []
    if found:
        return found[0]
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (progress or print)(f"building the harness wheel from {root}")
    had_build = (root / "build").exists()
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp), str(root)], capture_output=True, text=True, timeout=600)
    if not had_build:  # setuptools builds in the checkout's build/: leave the checkout as it was
        shutil.rmtree(root / "build", ignore_errors=True)
    wheels = sorted(tmp.glob("vdb_harness-*.whl"))
    if out.returncode != 0 or not wheels:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BadInputError(f"cannot build the harness wheel from {root}: {(out.stderr or out.stdout).strip()[-500:]}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(dest.glob("vdb_harness-*.whl"))[0]


def wheel_dependencies(wheel: Path) -> list[str]:
    """The wheel's unconditional ``Requires-Dist`` lines (extras left out)."""
    with zipfile.ZipFile(wheel) as zf:
        name = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
        if name is None:
            raise BadInputError(f"{wheel}: not a wheel (no METADATA)")
        text = zf.read(name).decode("utf-8")
    deps = []
    for line in text.splitlines():
        if line.startswith("Requires-Dist:"):
            req = line.split(":", 1)[1].strip()
            if "extra ==" not in req:
                deps.append(req)
    return deps


# ---------------------------------------------------------------- running one release

@dataclass
class RunOutcome:
    """What running the suite for one release gave: the exit code and its result file (None: it did not finish)."""

    exit_code: int
    result: Optional[dict[str, Any]]
    log: str = ""
    #: Why the release cannot be compared at all (e.g. it has no AsyncMilvusClient); "" when it could be run.
    unsupported: str = ""


class ReleaseRunner(Protocol):
    """Installs a release and runs the ``ci`` profile against it (the real one is :class:`VenvRunner`)."""

    def install(self, version: str, engine: str) -> str:
        """The interpreter of the release's venv (raises :class:`venvs.VenvError` when it cannot be installed)."""

    def run(self, python: str, version: str, engine: str, out: Path) -> RunOutcome:
        """Run the suite into ``out``."""


@dataclass
class VenvRunner:
    """The real runner: a managed venv per (release, engine) holding the harness wheel, and the suite run in it."""

    wheel: Path
    fingerprint: str
    timeout: float = 3600.0
    profile: str = "ci"
    progress: Optional[Progress] = None
    #: pytest ``-k`` expression passed on (None: the whole profile).
    select: Optional[str] = None

    def install(self, version: str, engine: str) -> str:
        """Create (or reuse) the release's venv, three layers deep, each immutable once made: the harness'
        dependencies (shared by every release and build), this harness build (the wheel alone, shared by every
        release), and the release's own pins (pymilvus==VERSION and the engine's)."""
        deps = venvs.ensure_venv(wheel_dependencies(self.wheel), label="the harness' dependencies (shared layer)",
                                 progress=self.progress)
        build = venvs.ensure_venv([str(self.wheel)], layer_on=deps, pip_options=("--no-deps", "--ignore-installed"),
                                  label=f"harness build {self.fingerprint}", progress=self.progress)
        python = venvs.ensure_venv(release_requirements(version, engine), layer_on=build,
                                   label=f"pymilvus {version} on {engines.ENGINES[engine].title}",
                                   progress=self.progress)
        return str(python)

    def run(self, python: str, version: str, engine: str, out: Path) -> RunOutcome:
        """``python -m vdb_harness.cli conformance --profile ci --out OUT`` in an empty working directory (so that the
        installed harness, not a checkout, is imported); the output goes to ``OUT/sweep.log``."""
        out = out.resolve()  # the child runs in work/: a relative --out would land there
        out.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run([python, "-c", "import pymilvus; pymilvus.AsyncMilvusClient; pymilvus.MilvusClient"],
                               capture_output=True, text=True, timeout=300)
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
            return RunOutcome(probe.returncode, None, probe.stderr[-2000:],
                              unsupported=f"pymilvus {version} has no AsyncMilvusClient/MilvusClient to compare "
                                          f"({last[:200]})")
        work = out / "work"
        work.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("VDB_HARNESS_")}
        env["VDB_HARNESS_CACHE"] = str(venvs.cache_root().parent)
        log_path = out / "sweep.log"
        cmd = [python, "-m", "vdb_harness.cli", "conformance", "--profile", self.profile, "--out", str(out)]
        if self.select:
            cmd += ["-k", self.select]
        with open(log_path, "w", encoding="utf-8") as log:
            try:
                proc = subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      timeout=self.timeout)
                code = proc.returncode
            except subprocess.TimeoutExpired:
                log.write(f"\nsweep: timed out after {self.timeout:.0f} s\n")
                code = 2
        shutil.rmtree(work, ignore_errors=True)
        result = None
        if (out / "result.json").is_file():
            try:
                result = json.loads((out / "result.json").read_text(encoding="utf-8"))
            except ValueError:
                result = None
        return RunOutcome(code, result, log_path.read_text(encoding="utf-8", errors="replace")[-4000:])


# ---------------------------------------------------------------- the sweep

def method_cells(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per method of one release's conformance result: its status, detail and divergence signatures
    (``{signature: "new"|"known"}``); several rows of one method keep the worst status."""
    order = {s: i for i, s in enumerate(("pass", "unsupported", "known-divergence", "diverges", "error"))}
    cells: dict[str, dict[str, Any]] = {}
    for row in (result.get("conformance") or {}).get("matrix") or []:
        method = str(row.get("method"))
        sigs = {str(s): str((v or {}).get("verdict", "new")) for s, v in (row.get("signatures") or {}).items()}
        cell = cells.setdefault(method, {"status": "pass", "detail": "", "signatures": {}, "reproducer": None})
        status = str(row.get("status", "error"))
        if order.get(status, 4) >= order.get(cell["status"], 0):
            cell["status"], cell["detail"] = status, str(row.get("detail") or "")[:400]
        cell["signatures"].update(sigs)
        if row.get("reproducer"):
            cell["reproducer"] = row["reproducer"]
    return cells


def _server_of(result: dict[str, Any]) -> str:
    target = result.get("target") or {}
    return str(target.get("server_version") or target.get("backend") or "?")


def sweep(releases: list[str], out: Path, runner: ReleaseRunner, fingerprint: str, *, force: bool = False,
          progress: Optional[Progress] = None, select: Optional[str] = None,
          on_entry: Optional[Callable[[list[dict[str, Any]]], None]] = None) -> list[dict[str, Any]]:
    """Sweep ``releases`` into ``out`` in the given order (resuming: a release whose entry has the same
    ``fingerprint`` and ``select`` (pytest -k) is kept unless ``force``); returns every release's entry. ``on_entry`` sees the entries so far
    after each release (the command rewrites its table there, so an interrupted sweep leaves a partial one)."""
    say = progress or (lambda m: print(m, flush=True))
    entries = []
    for n, version in enumerate(releases, 1):
        rel_dir = out / "releases" / version
        entry_path = rel_dir / "entry.json"
        old = _read_entry(entry_path)
        if old and not force and old.get("harness") == fingerprint and old.get("status") in ("swept", "unsupported") \
                and old.get("select") == select:
            say(f"[{n}/{len(releases)}] pymilvus {version}: already swept by this harness build "
                f"({old.get('status')} on {old.get('engine')}, {old.get('seconds', 0):.0f} s); --force to run it again")
            entries.append(old)
            continue
        say(f"[{n}/{len(releases)}] pymilvus {version}: installing")
        entry = _sweep_one(version, rel_dir, runner, fingerprint, say, f"[{n}/{len(releases)}]")
        entry["select"] = select
        rel_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(entry_path, json.dumps(entry, indent=1) + "\n")
        entries.append(entry)
        if on_entry is not None:
            on_entry(entries)
    return entries


def load_entries(out: Path) -> list[dict[str, Any]]:
    """Every release entry a sweep directory holds (from this and earlier invocations), oldest release first."""
    found = [e for p in sorted((out / "releases").glob("*/entry.json")) if (e := _read_entry(p))]
    return sorted(found, key=lambda e: _vkey(str(e.get("version"))))


def _read_entry(path: Path) -> Optional[dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _sweep_one(version: str, rel_dir: Path, runner: ReleaseRunner, fingerprint: str, say: Progress,
               tag: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": version, "harness": fingerprint, "status": "not-run", "engine": None,
                             "server": None, "seconds": 0.0, "install_seconds": 0.0, "notes": [], "methods": {}}
    order = engine_order(version)
    failed_logs: dict[str, str] = {}  # an engine the suite did not finish on: its log, kept next to the next one's
    for i, engine in enumerate(order):
        t0 = time.monotonic()
        try:
            python = runner.install(version, engine)
        except venvs.VenvError as exc:
            entry["install_seconds"] += time.monotonic() - t0
            entry.update(status="uninstallable", engine=engine)
            entry["notes"].append(f"cannot install on {engine}: {exc}")
            say(f"{tag} pymilvus {version}: cannot be installed ({exc})")
            if i + 1 < len(order):
                continue
            return entry
        entry["install_seconds"] += time.monotonic() - t0
        say(f"{tag} pymilvus {version}: running the ci profile on {engines.ENGINES[engine].title}")
        t1 = time.monotonic()
        if rel_dir.exists():
            shutil.rmtree(rel_dir)
        outcome = runner.run(python, version, engine, rel_dir)
        for name, text in failed_logs.items():
            (rel_dir / f"did-not-finish-on-{name}.log").write_text(text, encoding="utf-8")
        entry["seconds"] = round(entry["seconds"] + time.monotonic() - t1, 1)
        entry["engine"] = engine
        if outcome.unsupported:
            entry["status"] = "unsupported"
            entry["notes"].append(outcome.unsupported)
            say(f"{tag} pymilvus {version}: unsupported: {outcome.unsupported}")
            break
        if outcome.result is None or not (outcome.result.get("conformance") or {}).get("matrix"):
            why = outcome.log.strip().splitlines()[-1:] or ["no output"]
            entry["notes"].append(f"{engine}: the suite did not run to the end (exit {outcome.exit_code}): {why[0]}")
            entry["status"] = "failed"
            failed_logs[engine] = outcome.log
            say(f"{tag} pymilvus {version}: the suite did not finish on {engine} (exit {outcome.exit_code})"
                + ("; trying the next engine" if i + 1 < len(order) else f"; see {rel_dir / 'sweep.log'}"))
            continue
        ran = str(((outcome.result.get("environment") or {}).get("packages") or {}).get("pymilvus", "?"))
        if ran != version:  # the table must never show another release's verdicts under this one's name
            entry["status"] = "failed"
            entry["notes"].append(f"{engine}: the run imported pymilvus {ran}, not {version} (a venv layering bug)")
            say(f"{tag} pymilvus {version}: the run imported pymilvus {ran} instead; not counted")
            return entry
        entry.update(status="swept", server=_server_of(outcome.result), exit_code=outcome.exit_code,
                     methods=method_cells(outcome.result))
        entry["install_seconds"] = round(entry["install_seconds"], 1)
        counts: dict[str, int] = {}
        for cell in entry["methods"].values():
            counts[cell["status"]] = counts.get(cell["status"], 0) + 1
        say(f"{tag} pymilvus {version}: swept in {entry['seconds']:.0f} s on {entry['server']}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return entry
    entry["install_seconds"] = round(entry["install_seconds"], 1)
    return entry


# ---------------------------------------------------------------- the table

@dataclass
class MethodHistory:
    """One method across the swept releases: the releases per status and per divergence signature."""

    method: str
    releases: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in CELL_STATUSES})
    signatures: dict[str, list[str]] = field(default_factory=dict)


def _vkey(v: str) -> Version:
    return Version(v)


def table(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sweep's table: per method the releases where it passes, diverges (by signature), is known, unsupported,
    errors or is absent, and per divergence signature the first release that shows it and the first later one
    that no longer does (None: still there in the newest swept release)."""
    swept = sorted((e for e in entries if e.get("status") == "swept"), key=lambda e: _vkey(e["version"]))
    versions = [e["version"] for e in swept]
    methods = sorted({m for e in swept for m in e.get("methods") or {}})
    rows, divergences = [], []
    for method in methods:
        hist = MethodHistory(method)
        for e in swept:
            cell = (e.get("methods") or {}).get(method)
            status = cell["status"] if cell else "absent"
            hist.releases.setdefault(status, []).append(e["version"])
            for sig in (cell or {}).get("signatures") or {}:
                hist.signatures.setdefault(sig, []).append(e["version"])
        rows.append({"method": method, "releases": {k: v for k, v in hist.releases.items() if v},
                     "cells": {e["version"]: _cell(e, method) for e in swept}})
        for sig, seen in hist.signatures.items():
            first = seen[0]
            server = next(e.get("server") for e in swept if e["version"] == first)
            # gone: a later release on the same server that ran the method without it (a change of server, as
            # between 2.5.x on Lite 2.5.1 and 2.6.x on Lite 3, says nothing about the client)
            later = [e for e in swept if _vkey(e["version"]) > _vkey(first) and e.get("server") == server]
            gone = next((e["version"] for e in later
                         if (c := (e.get("methods") or {}).get(method)) is not None and c["status"] != "error"
                         and sig not in (c.get("signatures") or {})), None)
            verdicts = {(e.get("methods") or {}).get(method, {}).get("signatures", {}).get(sig) for e in swept}
            divergences.append({"method": method, "signature": sig, "first_seen": first, "first_gone": gone,
                                "server": server,
                                "releases": seen, "known": "known" in verdicts and "new" not in verdicts})
    others = [{"version": e.get("version"), "status": e.get("status"), "notes": e.get("notes") or []}
              for e in entries if e.get("status") != "swept"]
    timing = [{"version": e["version"], "engine": e.get("engine"), "server": e.get("server"),
               "seconds": e.get("seconds"), "install_seconds": e.get("install_seconds"), "harness": e.get("harness")}
              for e in swept]
    return {"releases": versions, "methods": rows, "divergences": divergences, "not_swept": others,
            "timing": timing}


def _cell(entry: dict[str, Any], method: str) -> dict[str, Any]:
    cell = (entry.get("methods") or {}).get(method)
    if cell is None:
        return {"status": "absent"}
    return {"status": cell["status"], "signatures": sorted(cell.get("signatures") or {}),
            "detail": cell.get("detail", "") if cell["status"] == "error" else ""}


def combined_result(entries: list[dict[str, Any]], out: Path, fingerprint: str) -> dict[str, Any]:
    """The sweep's result file: kind ``conformance`` with every swept release's matrix rows (so report and gate read
    it like any conformance result) plus the ``sweep`` section (:func:`table`)."""
    from vdb_harness.kernel.results import new_result

    rows: list[dict[str, Any]] = []
    for e in entries:
        if e.get("status") != "swept":
            continue
        try:
            res = json.loads((out / "releases" / e["version"] / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for row in (res.get("conformance") or {}).get("matrix") or []:
            if row.get("reproducer"):
                row = {**row, "reproducer": str(Path("releases") / e["version"] / row["reproducer"])
                       if not os.path.isabs(str(row["reproducer"])) else row["reproducer"]}
            rows.append(row)
    result = new_result("conformance")
    result["harness"]["build"] = fingerprint
    statuses = {r.get("status") for r in rows}
    result["status"] = "error" if not rows else ("fail" if statuses & {"diverges", "error"} else "pass")
    result["target"] = {"kind": "embedded", "sweep": True}
    result["conformance"] = {"matrix": rows, "strict": False, "findings": []}
    result["sweep"] = table(entries)
    result["notes"] = [f"release sweep over {len(entries)} pymilvus releases "
                       f"({len(result['sweep']['releases'])} swept)"]
    return result
