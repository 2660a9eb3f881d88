"""The one place that decides verdicts: of each check (a conformance method, a flow step, an SLO check, a result
as a whole), whether it fails the run (strict or not), the overall status of a result, and the exit code.

HTML, Markdown, JUnit, the console and the exit code all render these decisions; none decides on its own.

Verdicts: ``pass``; ``known divergence`` (a divergence the registry's signature accepts: skipped, fails under
``--strict``); ``new divergence`` (fails); ``fail`` (a measured failure that is not a divergence: a broken SLO);
``error`` (the check could not be made, or the registry is wrong: fails, exit 2 when nothing else failed);
``unsupported`` (the server lacks the feature: skipped). A flow step that exists only because an earlier step diverged
(``follows``) carries that step's verdict but never fails by itself: one cause is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from vdb_harness.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK

#: Method statuses as result files write them (conformance.matrix[].status).
STATUSES = ("pass", "diverges", "unsupported", "known-divergence", "error")

PASS, KNOWN, NEW, FAILED, ERROR, UNSUPPORTED = ("pass", "known divergence", "new divergence", "fail", "error",
                                                "unsupported")
VERDICTS = (PASS, KNOWN, NEW, FAILED, ERROR, UNSUPPORTED)
_OF_STATUS = {"pass": PASS, "diverges": NEW, "unsupported": UNSUPPORTED, "known-divergence": KNOWN, "error": ERROR}


@dataclass(frozen=True)
class Case:
    """One decided check: its name, verdict and detail (``follows``: the step whose divergence it follows from)."""

    name: str
    verdict: str
    detail: str = ""
    strict: bool = False
    follows: str = ""

    @property
    def fails(self) -> bool:
        """True when this check fails the run."""
        if self.follows:
            return False
        return self.verdict in (NEW, FAILED, ERROR) or (self.verdict == KNOWN and self.strict)

    @property
    def junit(self) -> str:
        """How JUnit records it: passed, failure, error or skipped."""
        if self.verdict == ERROR and not self.follows:
            return "error"
        if self.fails:
            return "failure"
        return "skipped" if self.verdict in (KNOWN, UNSUPPORTED) or self.follows else "passed"

    @property
    def label(self) -> str:
        """The verdict as a short text for tables and the console."""
        if self.follows:
            return f"follows from {self.follows}"
        return f"{self.verdict} (strict: fails)" if self.verdict == KNOWN and self.strict else self.verdict


def method_verdict(status: str) -> str:
    """The verdict of a conformance method status (pass, diverges, known-divergence, unsupported, error)."""
    try:
        return _OF_STATUS[status]
    except KeyError:
        raise ValueError(f"unknown conformance status {status!r}; expected one of {list(STATUSES)}") from None


def method_case(row: dict[str, Any], strict: bool) -> Case:
    """A conformance matrix row decided."""
    verdict = method_verdict(str(row["status"]))
    detail = str(row.get("detail") or "")
    if verdict == KNOWN:
        detail = f"{row.get('known_reason') or ''}: {detail}".strip(": ")
    counts = _example_counts(row)
    if counts:
        detail = f"{detail} ({counts})" if detail else counts
    if row.get("reproducer"):
        detail += f" (reproducer: {row['reproducer']})"
    name = f"{row['method']} [{row.get('server', '?')} / {row.get('pymilvus', '?')}]"
    return Case(name, verdict, detail, strict)


def _example_counts(row: dict[str, Any]) -> str:
    if "agreeing" not in row:
        return ""
    return (f"examples {row.get('examples', 0)}: {row.get('agreeing', 0)} agree, {row.get('known', 0)} known, "
            f"{row.get('new', 0)} new")


def conformance_cases(section: dict[str, Any]) -> list[Case]:
    """The cases of a ``conformance`` section (under its own ``strict`` flag), one per matrix row (its findings are
    information, not checks)."""
    strict = bool(section.get("strict"))
    return [method_case(row, strict) for row in section.get("matrix") or []]


def step_case(step: dict[str, Any], section: dict[str, Any]) -> Case:
    """A flow step of a ``run`` section decided: agreeing, known (its registry entry, or a whole-flow entry of an
    older result), new, or following from an earlier step's divergence."""
    strict = bool(section.get("strict"))
    name = f"flow step {step.get('step')}"
    if step.get("match"):
        return Case(name, PASS, "", strict)
    why = str(step.get("why") or "")
    if step.get("consequence_of"):
        root = next((s for s in section.get("steps") or [] if s.get("step") == step["consequence_of"]), None)
        verdict = step_case(root, section).verdict if root is not None else NEW
        return Case(name, verdict, why, strict, follows=str(step["consequence_of"]))
    entry = step.get("known") or (section.get("known_divergence") if "known" not in step else None)
    if entry:
        return Case(name, KNOWN, f"{entry.get('reason', '')}: {why}", strict)
    return Case(name, NEW, f"sync and async clients diverge: {why}", strict)


def run_cases(section: dict[str, Any]) -> list[Case]:
    """The cases of a ``run`` section: one per flow step, plus an error per stale registry entry."""
    cases = [step_case(st, section) for st in section.get("steps") or [] if isinstance(st, dict)]
    cases += [Case("known-divergence registry", ERROR, str(msg)) for msg in section.get("registry_errors") or []]
    return cases


def slo_case(check: dict[str, Any]) -> Case:
    """An SLO check of a load result decided (``{name, task, limit, value, ok}``)."""
    name = f"SLO {check.get('task')}: {check.get('name')}" if check.get("task") else f"SLO {check.get('name')}"
    return Case(name, PASS if check.get("ok") else FAILED,
                "" if check.get("ok") else f"{check.get('value')} breaks the limit {check.get('limit')}")


def task_case(label: str, requests: int, failures: int) -> Case:
    """A load task without SLO checks: failed requests are shown, not judged (no limit was set)."""
    return Case(f"task {label}", PASS, f"{failures} of {requests} requests failed (no SLO set)" if failures else "")


def status_case(kind: str, status: str, notes: Iterable[str] = ()) -> Case:
    """A result judged only by its recorded status (capacity, certify, ...; or a run that did not finish)."""
    if status in ("error", "interrupted"):
        return Case("run", ERROR, f"run {status}: {'; '.join(notes) or 'no details'}")
    return Case(kind, PASS if status == "pass" else FAILED, "" if status == "pass" else f"status {status}")


def overall(cases: Iterable[Case], recorded: str = "pass") -> str:
    """The status of a result: ``error``/``interrupted`` as recorded, else ``fail`` when the recorded status or any
    case fails, else ``pass``."""
    if recorded in ("error", "interrupted"):
        return recorded
    return "fail" if recorded == "fail" or any(c.fails for c in cases) else "pass"


def exit_code(statuses: Iterable[str], cases: Iterable[Case] = ()) -> int:
    """The process exit code: 130 interrupted, 2 error (or failing cases that are all errors: bad input or
    infrastructure), 1 fail, 0 pass."""
    statuses, failing = list(statuses), [c for c in cases if c.fails]
    if "interrupted" in statuses:
        return EXIT_INTERRUPTED
    if "error" in statuses or (failing and all(c.verdict == ERROR for c in failing)):
        return EXIT_BAD_INPUT
    return EXIT_FAILED if "fail" in statuses or failing else EXIT_OK


_STATUS_BY_EXIT = {EXIT_OK: "pass", EXIT_FAILED: "fail", EXIT_BAD_INPUT: "error", EXIT_INTERRUPTED: "interrupted"}


def status_of_exit(code: int) -> str:
    """The status a process exit code stands for (an unknown code, e.g. a crash, is ``error``)."""
    return _STATUS_BY_EXIT.get(code, "error")


def counts(cases: Iterable[Case]) -> dict[str, int]:
    """Cases per verdict, every verdict present (those that follow from another one not counted)."""
    out = dict.fromkeys(VERDICTS, 0)
    for c in cases:
        if not c.follows:
            out[c.verdict] += 1
    return out


def junit_xml(suites: Iterable[tuple[str, str, list[Case]]]) -> str:
    """The JUnit XML document of decided cases: one ``testsuite`` per ``(name, classname, cases)``. The only JUnit
    writer: ``reports/junit.py`` and the conformance suite's own report both render through it."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="vdb-harness")
    for name, classname, cases in suites:
        suite = ET.SubElement(root, "testsuite", name=name)
        for c in cases:
            case = ET.SubElement(suite, "testcase", classname=classname, name=c.name, time="0")
            text = c.detail or c.label
            if c.junit == "failure":
                message = f"known divergence (strict): {text}" if c.verdict == KNOWN else text
                ET.SubElement(case, "failure", message=message[:500]).text = message
            elif c.junit == "error":
                ET.SubElement(case, "error", message=text[:500]).text = text
            elif c.junit == "skipped":
                ET.SubElement(case, "skipped", message=f"{c.label}: {text}"[:500])
        for key, tag in (("tests", None), ("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            suite.set(key, str(len(cases) if tag is None else sum(1 for c in cases if c.junit == tag)))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, 0)) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
