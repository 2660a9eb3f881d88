"""The self-contained HTML report: inline CSS and inline SVG plots, no script and no network reference."""

from __future__ import annotations

from typing import Any

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
                         "capacity": [], "run_steps": [], "run_css": [], "notes": list(r.data.get("notes") or [])}
    if r.kind == "load":
        s["tasks"], s["slo"] = task_table(r), slo_checks(r)
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
