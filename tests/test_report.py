"""`vdb-harness report`: HTML (self-contained), Markdown, JUnit XML, and the result-format contract it reads."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from vdb_harness.cli import main
from reports.synthetic import conformance_result, load_result
from vdb_harness.kernel.results import SCHEMA_PATH, new_result, write_result


def _write(tmp: Path, name: str, result: dict[str, Any]) -> str:
    return str(write_result(result, tmp / name))


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A report of a load, a failing conformance and an errored run."""
    errored = new_result("load", scenario={"name": "broken"})
    errored["notes"].append("server unreachable at http://127.0.0.1:1")
    paths = [_write(tmp_path, "load", load_result(1)), _write(tmp_path, "conf", conformance_result(["search"])),
             _write(tmp_path, "err", errored)]
    assert main(["report", *paths, "--out", str(tmp_path / "out")]) == 0
    return tmp_path / "out"


def test_html_is_self_contained(report: Path) -> None:
    html = (report / "report.html").read_text()
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert html.count("<svg") == 5 and html.count('class="plot"') == 5
    assert "server unreachable" in html and "diverges" in html


def test_markdown_summary_is_short_and_leads_with_the_verdict(report: Path) -> None:
    md = (report / "summary.md").read_text()
    assert md.splitlines()[0] == "## vdb-harness report: ❌ 2 of 3 not passed"
    assert "| dense_search |" in md and "| search | 2.5.4 | 2.6.2 | diverges |" in md
    assert len(md) < 65536  # GitHub's job-summary and comment limits


def test_junit_counts_checks(report: Path) -> None:
    root = ET.fromstring((report / "junit.xml").read_text())
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root}
    conf = next(s for n, s in suites.items() if "conformance" in n)
    assert (conf.get("tests"), conf.get("failures"), conf.get("skipped")) == ("11", "1", "2")
    broken = suites["broken (load)"]
    assert broken.get("errors") == "1" and "unreachable" in broken.find("testcase/error").get("message")
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in root))


def test_strict_fails_when_a_result_did_not_pass(tmp_path: Path) -> None:
    conf = _write(tmp_path, "conf", conformance_result(["search"]))
    assert main(["report", conf, "--out", str(tmp_path / "a")]) == 0
    assert main(["report", conf, "--out", str(tmp_path / "b"), "--strict"]) == 1
    assert main(["report", _write(tmp_path, "ok", load_result(1)), "--out", str(tmp_path / "c"), "--strict"]) == 0


def test_minimal_load_result_renders(tmp_path: Path) -> None:
    """Only the required keys of the contract: no time series, sweep, phases or recall."""
    r = new_result("load")
    r["status"] = "pass"
    r["load"] = {"tasks": {"query": {"requests": 10, "failures": 1, "qps": 5.0,
                                     "latency_ms": {"p50": 1.0, "p99": None}, "recall": None}}}
    assert main(["report", _write(tmp_path, "min", r), "--out", str(tmp_path / "out")]) == 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Error rate" in html and "10.00%" in html and "n/a" in html


@pytest.mark.parametrize("problem", ["missing", "corrupt", "version", "format", "section"])
def test_bad_input_is_one_message_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  problem: str) -> None:
    path = Path(_write(tmp_path, "r", load_result(1)))
    data = json.loads(path.read_text())
    if problem == "missing":
        path = tmp_path / "nope" / "result.json"
    elif problem == "corrupt":
        path.write_text(path.read_text()[:100])
    elif problem == "version":
        data["version"] = 2
        path.write_text(json.dumps(data))
    elif problem == "format":
        path.write_text(json.dumps({"rows": []}))
    elif problem == "section":
        data["load"]["tasks"]["dense_search"]["qps"] = "fast"
        path.write_text(json.dumps(data))
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert str(path) in err and "Traceback" not in err
    if problem == "version":
        assert "version 2 is not supported" in err
    assert not (tmp_path / "out" / "report.html").exists()


def test_synthetic_fixtures_follow_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install jsonschema to check results against the schema")
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for result in (load_result(3), conformance_result(["search"], errors=["get"])):
        doc = json.loads(json.dumps(result))
        assert not list(validator.iter_errors(doc)), [e.message for e in validator.iter_errors(doc)]
    bad = json.loads(json.dumps(load_result(3)))
    bad["load"]["tasks"]["dense_search"].pop("latency_ms")
    bad["version"] = 2
    assert {e.validator for e in validator.iter_errors(bad)} >= {"required", "const"}


def test_a_matrix_directory_gives_one_table_across_servers_and_pymilvus(tmp_path: Path) -> None:
    """`report DIR` reads every result.json below DIR; several conformance results become one method x
    (server / pymilvus) table in the HTML and the Markdown, with the failing cells named."""
    write_result(conformance_result(server="lite3", pymilvus="3.0.2"), tmp_path / "matrix" / "py")
    write_result(conformance_result(["query"], server="lite25", pymilvus="3.0.2"), tmp_path / "matrix" / "lite25")
    write_result(conformance_result(server="lite3", pymilvus="2.5.3"), tmp_path / "matrix" / "pymilvus25")
    assert main(["report", str(tmp_path / "matrix"), "--out", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "summary.md").read_text()
    assert "### Conformance across 3 server / pymilvus pairs" in md
    header = next(line for line in md.splitlines() if line.startswith("| method | lite25"))
    assert header.split(" | ")[1:] == ["lite25 / 3.0.2", "lite3 / 2.5.3", "lite3 / 3.0.2 |"]
    query_row = next(line for line in md.splitlines() if line.startswith("| `query` |"))
    assert query_row.split(" | ")[1:] == ["❌ diverges", "pass", "pass |"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Conformance across 3 server / pymilvus pairs" in html


def test_a_directory_without_results_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no result.json in this directory" in " ".join(capsys.readouterr().err.split())
