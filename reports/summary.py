"""What every report format shows, as plain rows: one place decides the numbers; HTML, Markdown and JUnit draw them.
Verdicts (of each check and of each result) come from :mod:`conformance.verdicts` through :func:`cases` and
:func:`status`; no format decides one on its own."""

from __future__ import annotations

from typing import Any

from conformance import verdicts
from conformance.verdicts import Case
from reports.inputs import LoadedResult, conformance_matrix, rows, task_metrics
from reports.metrics import ERROR_RATE, P50, P99, QPS, RECALL, fmt

TASK_COLUMNS = ("task", "requests", "failures", "error rate", "QPS", "p50", "p99", "recall")
CONFORMANCE_STATUSES = verdicts.STATUSES


def _conformance(r: LoadedResult) -> dict[str, Any]:
    """The conformance section as the verdicts read it (matrix rows checked by ``inputs``)."""
    return {"strict": bool(r.section("conformance").get("strict")), "matrix": conformance_matrix(r)}


def cases(r: LoadedResult) -> list[Case]:
    """Every check a result file made, decided: one per conformance method, flow step, SLO check (or task), else
    one for the result's status; a recorded failure no check explains is a case of its own."""
    if r.status in ("error", "interrupted"):
        return [verdicts.status_case(r.kind, r.status, r.data.get("notes") or [])]
    out: list[Case] = []
    if r.kind == "load":
        checks = slo_checks(r)
        out = [verdicts.slo_case(c) for c in checks] or \
            [verdicts.task_case(label, m.requests, m.failures) for label, m in task_metrics(r).items()]
    elif r.kind == "conformance" and r.section():
        out = verdicts.conformance_cases(_conformance(r))
    elif r.kind == "run" and r.section("run").get("steps"):
        out = verdicts.run_cases(r.section("run"))
    if not out or (r.status == "fail" and not any(c.fails for c in out)):
        out.append(verdicts.status_case(r.kind, r.status))
    return out


def status(r: LoadedResult) -> str:
    """The verdict of a result file as every format shows it (pass, fail, error, interrupted)."""
    return verdicts.overall(cases(r), r.status)


def header(r: LoadedResult) -> dict[str, str]:
    """One overview row for a result file."""
    target = r.data.get("target") or {}
    server = target.get("server_version") or target.get("version") or ""
    return {"name": r.name, "kind": r.kind, "status": status(r), "file": str(r.path),
            "started": str(r.data.get("started_at") or ""),
            "target": " ".join(str(x) for x in (target.get("uri") or target.get("target") or "", server) if x),
            "harness": str((r.data.get("harness") or {}).get("version", ""))}


def task_table(r: LoadedResult) -> list[list[str]]:
    """Per-task rows of a load result, formatted, in ``TASK_COLUMNS`` order."""
    return [[label, f"{m.requests:,}", f"{m.failures:,}", fmt(ERROR_RATE, m.error_rate), fmt(QPS, m.qps),
             fmt(P50, m.p50_ms), fmt(P99, m.p99_ms), fmt(RECALL, m.recall)]
            for label, m in task_metrics(r).items()]


def slo_checks(r: LoadedResult) -> list[dict[str, Any]]:
    """SLO checks of a load result: ``{name, task, limit, value, ok}``."""
    slo = r.section("load").get("slo") or {}
    checks = slo.get("checks") if isinstance(slo, dict) else None
    return [c for c in (checks or []) if isinstance(c, dict)]


def conformance_counts(r: LoadedResult) -> dict[str, int]:
    """Rows of the conformance matrix per status."""
    matrix = conformance_matrix(r)
    return {s: sum(1 for row in matrix if row["status"] == s) for s in CONFORMANCE_STATUSES}


def conformance_failures(r: LoadedResult) -> list[dict[str, Any]]:
    """Matrix rows that fail (new divergence, error; known divergences too under strict), each with its ``verdict``
    label."""
    sec = _conformance(r)
    return [{**row, "verdict": case.label} for row, case in zip(sec["matrix"], verdicts.conformance_cases(sec))
            if case.fails]


Grid = tuple[list[str], list[tuple[str, list[dict[str, Any] | None]]]]


def conformance_grid(*results: LoadedResult) -> Grid:
    """The matrix of one or more conformance results as a grid: columns are ``server / pymilvus`` pairs (a later
    result's row wins for a repeated pair), one row per method, in method order."""
    methods: dict[str, dict[str, dict[str, Any]]] = {}
    cols: set[str] = set()
    for r in results:
        for row in conformance_matrix(r):
            col = f"{row.get('server', '?')} / {row.get('pymilvus', '?')}"
            cols.add(col)
            methods.setdefault(str(row["method"]), {})[col] = row
    ordered = sorted(cols)
    return ordered, [(m, [cells.get(c) for c in ordered]) for m, cells in sorted(methods.items())]


def capacity_summary(r: LoadedResult) -> list[str]:
    """Sentences about a capacity result: the maximum sustainable load, the knee, what broke first."""
    cap = r.section("capacity")
    unit = cap.get("load_unit", "users")
    out = []
    best = cap.get("max_sustainable")
    if best:
        out.append(f"maximum sustainable: {best.get('qps', 0):,.1f} QPS at {best.get('offered'):g} {unit}"
                   + (f" (p99 {best['p99_ms']:.1f} ms)" if best.get("p99_ms") is not None else ""))
    else:
        out.append("no offered load kept the SLOs")
    if cap.get("knee"):
        k = cap["knee"]
        out.append(f"latency knee: {k.get('offered'):g} {unit} ({k.get('qps', 0):,.1f} QPS, p99 "
                   f"{k.get('p99_ms', 0):.1f} ms)")
    if cap.get("first_breaking"):
        fb = cap["first_breaking"]
        out.append(f"first SLO break: {fb.get('offered'):g} {unit} ({', '.join(fb.get('broken', []))})")
    for p in rows(r, "capacity", "per_params"):
        rec = p.get("recall")
        out.append(f"{p.get('search_params')}: {p.get('max_qps') or 0:,.1f} QPS at the SLO"
                   + (f", recall {rec:.4f}" if rec is not None else ""))
    return out


RUN_COLUMNS = ("step", "MilvusClient", "AsyncMilvusClient", "agree")


def _recall(step: dict[str, Any], side: str) -> Any:
    return (step.get("recall") or {}).get(side)


def _side(side: Any, recall: Any = None) -> str:
    if not isinstance(side, dict):
        return "-"
    if not side.get("ok"):
        return f"error: {side.get('error') or side.get('error_type') or '?'}"
    ms = side.get("seconds")
    return (f"{side.get('summary') or 'ok'}" + (f"; recall {recall:.3f}" if isinstance(recall, (int, float)) else "")
            + (f" ({ms * 1000:.1f} ms)" if isinstance(ms, (int, float)) else ""))


def run_steps(r: LoadedResult) -> list[list[str]]:
    """The two-client flow of a ``run`` result, one row per step, in ``RUN_COLUMNS`` order."""
    section = r.section("run")
    steps = [st for st in section.get("steps") or [] if isinstance(st, dict)]
    return [[str(st.get("step")), _side(st.get("sync"), _recall(st, "sync")), _side(st.get("async"), _recall(st, "async")),
             _agree(st, verdicts.step_case(st, section))] for st in steps]


def _agree(step: dict[str, Any], case: Case) -> str:
    if step.get("match"):
        return "yes"
    return case.label if case.follows else f"no ({case.label}): {step.get('why') or ''}"


def run_divergences(r: LoadedResult) -> list[tuple[dict[str, Any], Case]]:
    """Steps of a ``run`` result where the clients disagree, without those that only follow from another one, each
    with its decided case (known or new)."""
    section = r.section("run")
    steps = [st for st in section.get("steps") or [] if isinstance(st, dict)]
    return [(st, verdicts.step_case(st, section)) for st in steps
            if not st.get("match") and not st.get("consequence_of")]
