"""JUnit XML for CI systems: one test suite per result file, one test case per check it made.

Load results: one case per SLO check (or per task when there are none); conformance: one per matrix row
(``diverges``/``error`` fail, ``unsupported``/``known-divergence`` are skipped); other kinds: one case for the status.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reports.inputs import LoadedResult, conformance_matrix, task_metrics
from reports.summary import slo_checks


def _case(suite: ET.Element, classname: str, name: str, *, failure: str | None = None,
          skipped: str | None = None, error: str | None = None) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    if failure is not None:
        ET.SubElement(case, "failure", message=failure).text = failure
    if error is not None:
        ET.SubElement(case, "error", message=error).text = error
    if skipped is not None:
        ET.SubElement(case, "skipped", message=skipped)


def _suite(root: ET.Element, r: LoadedResult) -> None:
    suite = ET.SubElement(root, "testsuite", name=r.name, timestamp=str(r.data.get("started_at") or ""))
    cls = f"vdb_harness.{r.kind}"
    if r.status in ("error", "interrupted"):
        notes = "; ".join(r.data.get("notes") or []) or "no details"
        _case(suite, cls, "run", error=f"run {r.status}: {notes}")
    elif r.kind == "load":
        checks = slo_checks(r)
        for c in checks:
            name = f"{c.get('task')}: {c.get('name')}" if c.get("task") else str(c.get("name"))
            _case(suite, cls, f"SLO {name}",
                  failure=None if c.get("ok") else f"{c.get('value')} breaks the limit {c.get('limit')}")
        if not checks:
            for label, m in task_metrics(r).items():
                _case(suite, cls, f"task {label}", failure=f"{m.failures} of {m.requests} requests failed"
                      if m.failures else None)
    elif r.kind == "conformance":
        for row in conformance_matrix(r):
            name = f"{row['method']} [{row.get('server', '?')} / {row.get('pymilvus', '?')}]"
            status, detail = row["status"], row.get("detail") or row["status"]
            if row.get("reproducer"):
                detail += f" (reproducer: {row['reproducer']})"
            _case(suite, cls, name, failure=detail if status == "diverges" else None,
                  error=detail if status == "error" else None,
                  skipped=detail if status in ("unsupported", "known-divergence") else None)
    elif r.kind == "run" and r.section("run").get("steps"):
        for st in r.section("run")["steps"]:
            _case(suite, cls, f"flow step {st.get('step')}",
                  failure=None if st.get("match") else f"sync and async clients diverge: {st.get('why')}")
    else:
        _case(suite, cls, r.kind, failure=None if r.status == "pass" else f"status {r.status}")
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))


def render(results: list[LoadedResult]) -> str:
    """The JUnit XML document for ``results``."""
    root = ET.Element("testsuites", name="vdb-harness")
    for r in results:
        _suite(root, r)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, 0)) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
