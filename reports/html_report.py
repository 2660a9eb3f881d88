"""The self-contained HTML report: inline CSS and inline SVG plots, no script and no network reference."""

from __future__ import annotations

from typing import Any, Optional

import jinja2

from reports import plots
from reports.inputs import LoadedResult
from conformance import verdicts
from reports.summary import (RUN_COLUMNS, TASK_COLUMNS, capacity_summary, conformance_counts, conformance_failures,
                             conformance_grid, header, run_steps, slo_checks, status, task_table)
from vdb_harness.kernel.results import package_version, utc_now

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
_ENV.filters["num"] = lambda v: f"{v:.4g}" if isinstance(v, float) else ("n/a" if v is None else v)


#: The CSS class (colour) of a verdict.
CSS = {verdicts.PASS: "pass", verdicts.KNOWN: "known-divergence", verdicts.NEW: "diverges", verdicts.FAILED: "fail",
       verdicts.ERROR: "error", verdicts.UNSUPPORTED: "unsupported"}


def _css(case: verdicts.Case) -> str:
    return "unsupported" if case.follows else ("fail" if case.fails and case.verdict == verdicts.KNOWN
                                               else CSS[case.verdict])


def _section(r: LoadedResult) -> dict[str, Any]:
    s: dict[str, Any] = {"name": r.name, "status": status(r), "tasks": [], "slo": [], "grid": None,
                         "capacity": [], "run_steps": [], "run_css": [], "runbook": None, "notes": list(r.data.get("notes") or [])}
    if r.kind == "load":
        s["tasks"], s["slo"] = task_table(r), slo_checks(r)
        s["runbook"] = runbook_table(r)
    elif r.kind == "conformance" and r.section():
        s["grid"], s["counts"], s["failures"] = conformance_grid(r), conformance_counts(r), conformance_failures(r)
    elif r.kind == "capacity" and r.section():
        s["capacity"] = capacity_summary(r)
    elif r.kind == "run" and r.section():
        s["run_steps"] = run_steps(r)
        section = r.section("run")
        s["run_css"] = [_css(verdicts.step_case(st, section)) for st in section.get("steps") or []
                        if isinstance(st, dict)]
    return s


def runbook_table(r: LoadedResult) -> Optional[dict[str, Any]]:
    """``load.runbook`` as the report's table: completion and per step its latency and recall (None: no runbook)."""
    runbook = r.section("load").get("runbook")
    if not isinstance(runbook, dict):
        return None

    def mean(value: Any) -> Optional[float]:
        return value.get("mean") if isinstance(value, dict) else None

    steps = []
    for st in runbook.get("steps") or []:
        if not isinstance(st, dict):
            continue
        latency = st.get("latency_ms") if isinstance(st.get("latency_ms"), dict) else {}
        steps.append({"label": st.get("label", ""), "op": st.get("op", ""), "start_s": st.get("start_s"),
                      "duration_s": st.get("duration_s"), "requests": st.get("requests", 0),
                      "failures": st.get("failures", 0), "rows": st.get("rows", 0), "p50": latency.get("p50"),
                      "p99": latency.get("p99"), "recall": mean(st.get("recall")),
                      "load_recall": mean(st.get("load_recall"))})
    return {"completed": bool(runbook.get("completed")), "steps_run": runbook.get("steps_run", len(steps)),
            "steps_total": runbook.get("steps_total", len(steps)), "error": runbook.get("error"), "steps": steps}


def render(results: list[LoadedResult], title: str = "vdb-harness report") -> str:
    """The report as one HTML document."""
    figures = [{"title": name, "svg": svg} for name, draw in plots.ALL if (svg := draw(results))]
    failed = sum(1 for r in results if status(r) != "pass")
    conformance = [r for r in results if r.kind == "conformance" and r.section()]
    return _ENV.get_template("report.html.j2").render(
        combined=conformance_grid(*conformance) if len(conformance) > 1 else None,
        title=title, results=results, headers=[header(r) for r in results], all_passed=failed == 0, failed=failed,
        plots=figures, sections=[_section(r) for r in results], task_columns=TASK_COLUMNS, run_columns=RUN_COLUMNS,
        generated=utc_now(),
        harness=package_version("vdb-harness"))
