"""The conformance report: method x server (x pymilvus) matrix as the ``conformance`` section of a versioned
``result.json``, plus Markdown and JUnit XML next to it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from conformance import verdicts
from conformance.check import Verdict
from conformance.discovery import Surface
from conformance.verdicts import STATUSES
from vdb_harness.kernel.results import atomic_write_text, new_result, write_result


def section(results: Iterable[Verdict], surface: Surface, *, strict: bool = False,
            findings: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The ``conformance`` section: counts, the matrix rows, the API asymmetries and other findings."""
    rows = sorted((v.as_dict() for v in results), key=lambda r: (r["category"], r["method"], r["server"]))
    counts = Counter(r["status"] for r in rows)
    return {
        "strict": strict,
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        "servers": sorted({r["server"] for r in rows}),
        "pymilvus": surface.pymilvus,
        "methods": {"discovered_async": len(surface.async_methods), "discovered_sync": len(surface.sync_methods),
                    "shared": len(surface.shared)},
        "matrix": rows,
        "asymmetry": {"sync_only": surface.sync_only, "async_only": surface.async_only,
                      "signature_differences": surface.signature_differences,
                      "async_not_coroutine": surface.async_not_coroutine},
        "findings": list(findings),
    }


def status_of(sec: dict[str, Any]) -> str:
    """``fail`` when anything diverges or errs (and known divergences under strict), else ``pass`` (decided by
    :mod:`conformance.verdicts`)."""
    return verdicts.overall(verdicts.conformance_cases(sec))


def _counts(row: dict[str, Any]) -> str:
    if "agreeing" not in row:
        return ""
    return f"{row.get('examples', 0)} / {row.get('agreeing', 0)} / {row.get('known', 0)} / {row.get('new', 0)}"


def markdown(sec: dict[str, Any], target: dict[str, Any]) -> str:
    """A human report: summary, the matrix (with examples run / agreeing / known / new per method), asymmetries."""
    cases = verdicts.conformance_cases(sec)
    lines = [f"# Conformance: AsyncMilvusClient vs MilvusClient (pymilvus {sec['pymilvus']})", "",
             f"Target: {target.get('kind', '?')} {target.get('backend_version', '')} — servers: "
             f"{', '.join(sec['servers'])} — **{verdicts.overall(cases)}**"
             + (" (strict: known divergences fail)" if sec.get("strict") else ""), "",
             "| status | count |", "|---|---|"] + [f"| {k} | {v} |" for k, v in sec["counts"].items()]
    totals = {k: sum(int(r.get(k) or 0) for r in sec["matrix"]) for k in ("examples", "agreeing", "known", "new")}
    lines += ["", f"Examples: {totals['examples']} run, {totals['agreeing']} agreeing, {totals['known']} known, "
                  f"{totals['new']} new."]
    lines += ["", "| category | method | server | status | examples run / agreeing / known / new | detail |",
              "|---|---|---|---|---|---|"]
    for row, case in zip(sec["matrix"], cases):
        detail = (row["detail"] or row.get("known_reason") or "").replace("|", "\\|").replace("\n", " ")[:160]
        repro = f" ([reproducer]({row['reproducer']}))" if row.get("reproducer") else ""
        lines.append(f"| {row['category']} | `{row['method']}` | {row['server']} | **{case.label}** | "
                     f"{_counts(row)} | {detail}{repro} |")
    asym = sec["asymmetry"]
    lines += ["", "## API asymmetries (findings)", "",
              f"- only on MilvusClient: {', '.join(asym['sync_only']) or 'none'}",
              f"- only on AsyncMilvusClient: {', '.join(asym['async_only']) or 'none'}",
              f"- not coroutines on AsyncMilvusClient: {', '.join(asym['async_not_coroutine']) or 'none'}", "",
              "| method | signature difference |", "|---|---|"]
    lines += [f"| `{m}` | {'; '.join(d)} |" for m, d in sorted(asym["signature_differences"].items())]
    for finding in sec["findings"]:
        lines.append(f"- **{finding.get('name')}**: {finding.get('status')} — {finding.get('detail', '')}")
    return "\n".join(lines) + "\n"


def junit(sec: dict[str, Any]) -> str:
    """JUnit XML of the section, rendered from :mod:`conformance.verdicts` (the one JUnit writer)."""
    return verdicts.junit_xml([("conformance", "conformance", verdicts.conformance_cases(sec))])


def write_all(out_dir: Path, sec: dict[str, Any], target: dict[str, Any], notes: Iterable[str] = ()) -> Path:
    """Write ``result.json`` (kind ``conformance``), ``conformance.md`` and ``conformance-junit.xml``."""
    out_dir = Path(out_dir)
    result = new_result("conformance", target=target, conformance=sec)
    result["status"] = status_of(sec)
    result["notes"].extend(notes)
    path = write_result(result, out_dir)
    atomic_write_text(out_dir / "conformance.md", markdown(sec, target))
    atomic_write_text(out_dir / "conformance-junit.xml", junit(sec))
    return path
