"""One verdict, every format: the same results fed to HTML, Markdown, JUnit, the console summary and the exit code
give the same verdict per result and per check, as conformance/verdicts.py decides it."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance import verdicts
from conformance.report import junit as conformance_junit
from conformance.report import markdown as conformance_markdown
from conformance.report import status_of
from reports import html_report, junit, markdown, summary
from vdb_harness.jobs.demo import Stage, _measured
from reports.inputs import LoadedResult
from reports.synthetic import load_result
from vdb_harness.kernel.results import new_result, read_result, write_result

ROWS = {"search": "pass", "list_aliases": "known-divergence", "compact": "diverges", "list_users": "unsupported",
        "flush": "error"}


def _conformance(statuses: dict[str, str], strict: bool = False) -> dict[str, Any]:
    matrix = [{"method": m, "category": "c", "server": "lite3", "pymilvus": "3.0.2", "status": s,
               "detail": f"{m}: {s}", "examples": 4, "agreeing": 3 if s == "pass" else 2,
               "known": 1 if s == "known-divergence" else 0, "new": 1 if s == "diverges" else 0,
               "known_reason": "listed" if s == "known-divergence" else "", "reproducer": None}
              for m, s in statuses.items()]
    sec = {"strict": strict, "counts": {s: sum(1 for r in matrix if r["status"] == s) for s in verdicts.STATUSES},
           "servers": ["lite3"], "pymilvus": "3.0.2", "matrix": matrix, "findings": [],
           "methods": {"discovered_async": 5, "discovered_sync": 5, "shared": 5},
           "asymmetry": {"sync_only": [], "async_only": [], "signature_differences": {}, "async_not_coroutine": []}}
    result = new_result("conformance", conformance=sec, target={"kind": "embedded"})
    result["status"] = status_of(sec)  # as conformance/report.write_all records it
    return result


def _step(step: str, match: bool = True, *, why: str = "", consequence_of: str = "",
          known: dict[str, str] | None = None) -> dict[str, Any]:
    side = {"ok": True, "seconds": 0.01, "summary": "ok", "error": None}
    out = {"step": step, "method": step, "match": match, "why": why or None, "consequence_of": consequence_of or None,
           "sync": side, "async": side}
    if known is not None:
        out["known"] = known
    return out


def _run(steps: list[dict[str, Any]], strict: bool = False, legacy_known: bool = False) -> dict[str, Any]:
    section: dict[str, Any] = {"server": "embedded", "steps": steps, "strict": strict}
    if legacy_known:  # a result written before per-step signatures: the whole flow was known
        section["known_divergence"] = {"reason": "listed", "server": "lite3", "pymilvus": ">=2.6"}
    result = new_result("run", run=section, scenario={"name": "seed_tutorial"})
    result["status"] = verdicts.overall(verdicts.run_cases(section))  # as conformance/run_command records it
    return result


KNOWN_ENTRY = {"entry": "known_divergences.toml: divergence[12] (flow:seed_tutorial)", "reason": "async waits for the index"}
#: The demo on Milvus Lite 3: create_index is a known divergence, its fallbacks follow from it (6 mismatching steps).
DEMO_STEPS = [_step("create_collection"), _step("create_index", False, why="different errors", known=KNOWN_ENTRY)] + \
    [_step(f"create_index[{i}]", False, why="only the sync run has this step", consequence_of="create_index")
     for i in range(5)] + [_step("dense_search")]
NEW_STEPS = [_step("create_collection"), _step("dense_search", False, why="[0].id: 1 != 2"),
             _step("dense_search[retry]", False, why="only the async run has this step", consequence_of="dense_search")]


def _slo_load(ok: bool) -> dict[str, Any]:
    result = load_result(3)
    check = {"name": "p99_ms", "task": "dense_search", "limit": 1.0 if not ok else 1e9, "value": 25.0, "ok": ok}
    result["load"]["slo"] = {"checks": [check], "ok": ok}
    result["status"] = "pass" if ok else "fail"
    return result


RESULTS = {
    "conformance-mixed": (_conformance(ROWS), "fail"),
    "conformance-known": (_conformance({"search": "pass", "list_aliases": "known-divergence"}), "pass"),
    "conformance-known-strict": (_conformance({"search": "pass", "list_aliases": "known-divergence"}, True), "fail"),
    "conformance-unsupported": (_conformance({"search": "pass", "list_users": "unsupported"}), "pass"),
    "conformance-error": (_conformance({"search": "pass", "flush": "error"}), "fail"),
    "run-demo-known": (_run(DEMO_STEPS), "pass"),
    "run-demo-known-strict": (_run(DEMO_STEPS, strict=True), "fail"),
    "run-legacy-known": (_run([{k: v for k, v in s.items() if k != "known"} for s in DEMO_STEPS],
                              legacy_known=True), "pass"),
    "run-new": (_run(NEW_STEPS), "fail"),
    "run-agree": (_run([_step("a"), _step("b")]), "pass"),
    "load-slo-ok": (_slo_load(True), "pass"),
    "load-slo-broken": (_slo_load(False), "fail"),
}


@pytest.fixture(params=sorted(RESULTS))
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[LoadedResult, str]:
    """A result written to disk and read back as the report commands do, with the verdict it must get."""
    data, expected = RESULTS[request.param]
    path = write_result(copy.deepcopy(data), tmp_path / request.param)
    return LoadedResult(path, read_result(path)), expected


def _junit_states(xml: str) -> list[tuple[str, str]]:
    states = []
    for case in ET.fromstring(xml).iter("testcase"):
        tag = next((t for t in ("failure", "error", "skipped") if case.find(t) is not None), "passed")
        states.append((case.get("name", ""), tag))
    return states


def test_every_format_shows_the_one_verdict(loaded: tuple[LoadedResult, str]) -> None:
    r, expected = loaded
    cases = summary.cases(r)
    status = summary.status(r)
    assert status == expected == r.status  # what the writer recorded is what the verdicts decide
    # JUnit: one test case per decided check, in the state the decision gives it; failures iff the result fails
    xml = junit.render([r])
    assert _junit_states(xml) == [(c.name, c.junit) for c in cases]
    root = ET.fromstring(xml)
    assert (int(root.get("failures", 0)) + int(root.get("errors", 0)) > 0) == (status == "fail")
    # Markdown: the headline and the result row
    md = markdown.render([r])
    assert md.splitlines()[0].endswith("all passed") == (status == "pass")
    assert f"| {'✅' if status == 'pass' else '❌'} {status} |" in md
    # HTML: the badge at the top and the result's own badge
    html = html_report.render([r])
    verdict = re.search(r'<p class="verdict (\w+)" id="verdict">\s*([^<]*)</p>', html)
    assert verdict and verdict.group(1) == status and ("All passed" in verdict.group(2)) == (status == "pass")
    assert f'<span class="badge {status}">{status}</span>' in html
    # exit code of the command that wrote it, and of `vdb-harness report --strict`
    code = verdicts.exit_code([status], cases)
    assert (code == 0) == (status == "pass")


@pytest.mark.parametrize("name", ["conformance-mixed", "conformance-known", "conformance-known-strict"])
def test_the_conformance_suites_own_files_agree_with_the_reports(name: str) -> None:
    data, expected = RESULTS[name]
    sec = data["conformance"]
    r = LoadedResult(Path(name), data)
    assert _junit_states(conformance_junit(sec)) == _junit_states(junit.render([r]))
    md = conformance_markdown(sec, {"kind": "embedded"})
    assert f"**{expected}**" in md.splitlines()[2]
    assert "examples run / agreeing / known / new" in md and "| 4 / 2 / 1 / 0 |" in md


def test_the_demo_run_with_a_known_step_passes_everywhere(tmp_path: Path) -> None:
    """The bug this module fixed: the demo's badge and Markdown said all passed while its JUnit counted 6 failures."""
    data, _ = RESULTS["run-demo-known"]
    path = write_result(copy.deepcopy(data), tmp_path / "run")
    r = LoadedResult(path, read_result(path))
    root = ET.fromstring(junit.render([r]))
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("0", "0", "6")
    assert "all passed" in markdown.render([r]).splitlines()[0]
    assert "known divergence at create_index" in _measured(Stage("run", []), tmp_path)
    strict = LoadedResult(path, {**r.data, "run": {**r.data["run"], "strict": True}, "status": "fail"})
    states = dict(_junit_states(junit.render([strict])))
    assert states["flow step create_index"] == "failure"
    assert states["flow step create_index[0]"] == "skipped"  # follows from it: one cause counted once


def test_consequence_steps_take_their_roots_verdict_and_never_fail_alone() -> None:
    section = {"steps": NEW_STEPS, "strict": False}
    cases = {c.name: c for c in verdicts.run_cases(section)}
    root, child = cases["flow step dense_search"], cases["flow step dense_search[retry]"]
    assert root.verdict == child.verdict == verdicts.NEW and root.fails and not child.fails
    assert verdicts.counts(cases.values())[verdicts.NEW] == 1


def test_exit_codes() -> None:
    error = verdicts.Case("m", verdicts.ERROR, "registry entry matched nothing")
    new = verdicts.Case("m", verdicts.NEW)
    known = verdicts.Case("m", verdicts.KNOWN)
    assert verdicts.exit_code(["pass"], [known]) == 0
    assert verdicts.exit_code(["fail"], [error]) == 2  # only errors: bad input or infrastructure
    assert verdicts.exit_code(["fail"], [error, new]) == 1
    assert verdicts.exit_code(["fail"], [verdicts.Case("m", verdicts.KNOWN, strict=True)]) == 1
    assert verdicts.exit_code(["interrupted"]) == 130 and verdicts.exit_code(["error"]) == 2
    with pytest.raises(ValueError, match="unknown conformance status"):
        verdicts.method_verdict("maybe")


def test_stage_exit_codes_read_as_statuses() -> None:
    """The demo and certify read their stages' exit codes through the same map: a crashed stage is an error."""
    assert [verdicts.status_of_exit(c) for c in (0, 1, 2, 130, -11, 3)] == \
        ["pass", "fail", "error", "interrupted", "error", "error"]
    assert verdicts.exit_code([verdicts.status_of_exit(c) for c in (0, -11)]) == 2
