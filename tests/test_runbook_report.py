"""Streaming runbooks: the ``[runbook]`` section validates (bad runbooks are clear errors, exit 2, no result), the
result and the HTML report carry per-step latency and recall and a recall-over-time plot, and the shipped example
runs on the real embedded server with every step's recall exact (FLAT, Strong)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vdb_harness.cli import main
from reports.synthetic import load_result
from vdb_harness.kernel.errors import ScenarioError
from scenarios.loader import EXAMPLES_DIR, load_scenario, parse_scenario
from scenarios.model import InsertStep, check_runbook_pool
from vdb_harness.kernel.results import SCHEMA_PATH, write_result

EXAMPLE = (EXAMPLES_DIR / "streaming_runbook.toml").read_text()


def _with_steps(steps: str, text: str = EXAMPLE) -> str:
    head = text[: text.index("[[runbook.steps]]")]
    tail = text[text.index("[slo]"):]
    return head + steps + "\n" + tail


def test_the_shipped_runbook_parses_with_its_steps() -> None:
    s = load_scenario("streaming_runbook")
    assert s.runbook is not None and s.runbook.writes
    assert [st.op for st in s.runbook.steps] == ["insert", "search", "delete", "search", "wait", "insert", "sleep",
                                                 "search"]
    assert isinstance(s.runbook.steps[0], InsertStep) and s.runbook.steps[0].rate == 1000
    assert s.runbook.pool_end <= s.dataset.rows


@pytest.mark.parametrize("steps, message", [
    ('[[runbook.steps]]\nop = "insert"\nstart = 0\nend = 100\n[[runbook.steps]]\nop = "delete"\nstart = 50\nend = 150',
     r"steps\[1\] \(delete 50..150\): deletes 50 rows the runbook never wrote"),
    ('[[runbook.steps]]\nop = "delete"\nstart = 0\nend = 10', r"deletes 10 rows the runbook never wrote"),
    ('[[runbook.steps]]\nop = "insert"\nstart = 0\nend = 100\n[[runbook.steps]]\nop = "delete"\nstart = 0\nend = 100'
     '\n[[runbook.steps]]\nop = "delete"\nstart = 0\nend = 100', r"steps\[2\].*never wrote \(or already deleted\)"),
    ('[[runbook.steps]]\nop = "insert"\nstart = 0\nend = 100\n[[runbook.steps]]\nop = "insert"\nstart = 90\nend = 120',
     r"steps\[1\].*10 of these pool rows are already inserted"),
    ('[[runbook.steps]]\nop = "insert"\nstart = 7990\nend = 8010', r"writes past the dataset's pool of 8000 rows"),
    ('[[runbook.steps]]\nop = "insert"\nstart = 0\nend = 10\nspeed = 5', r"runbook\.steps\[0\].*speed: unknown key"),
    ('[[runbook.steps]]\nop = "search"\ntask = "nope"', r"runbook\.steps\[0\]\.task: no workload task 'nope'"),
    ('[[runbook.steps]]\nop = "explode"', r"runbook\.steps\[0\]"),
    ('[[runbook.steps]]\nop = "insert"\nstart = 10\nend = 10', r"end \(10\) must be greater than start \(10\)"),
    ('[[runbook.steps]]\nop = "wait"\nuntil = "forever"', r"runbook\.steps\[0\]\.wait\.until"),
])
def test_bad_runbooks_name_the_problem(steps: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(_with_steps(steps), "rb.toml")


def test_recall_under_writes_that_cannot_be_bounded_is_refused() -> None:
    eventually = EXAMPLE.replace('consistency_level = "Strong"', 'consistency_level = "Eventually"')
    with pytest.raises(ScenarioError, match=r"recall_floor under writes \(runbook\).*'Eventually' cannot be bounded"):
        parse_scenario(eventually, "rb.toml")
    parse_scenario(eventually.replace("recall_floor = 0.99\n", ""), "rb.toml")  # without a floor it only reports
    mixed = (EXAMPLES_DIR / "mixed_rw.toml").read_text().replace("[slo]\n", "[slo]\nrecall_floor = 0.9\n")
    parse_scenario(mixed, "m.toml")  # Session: bounded
    with pytest.raises(ScenarioError, match=r"insert, upsert, delete.*Eventually"):
        parse_scenario(mixed.replace('"Session"', '"Eventually"'), "m.toml")
    hybrid = (EXAMPLES_DIR / "hybrid.toml").read_text()
    assert "recall_floor" in hybrid
    hybrid += '\n[[workload.tasks]]\nkind = "insert"\n'
    with pytest.raises(ScenarioError, match=r"hybrid search tasks .* are not scored while the collection is written"):
        parse_scenario(hybrid, "h.toml")


def test_a_runbook_needs_its_own_ids_and_a_search_task_to_search_with() -> None:
    auto = EXAMPLE.replace('{ name = "id", type = "INT64", primary = true }',
                           '{ name = "id", type = "INT64", primary = true, auto_id = true }')
    with pytest.raises(ScenarioError, match=r"auto_id = true"):
        parse_scenario(auto, "rb.toml")
    with pytest.raises(ValueError, match=r"runbook\.steps\[0\] \(insert 0..9000\) writes past the dataset's pool"):
        check_runbook_pool(parse_scenario(_with_steps('[[runbook.steps]]\nop = "insert"\nstart = 0\nend = 10'))
                           .runbook.model_copy(update={"steps": [InsertStep(start=0, end=9000)]}), 8000)


def test_a_bad_runbook_exits_2_before_anything_runs(tmp_path: Path) -> None:
    """In a child process: importing the load command switches the process to gevent, which must not happen to
    the test process (its later subprocesses would fork under gRPC's threads)."""
    path = tmp_path / "bad.toml"
    path.write_text(_with_steps('[[runbook.steps]]\nop = "delete"\nstart = 0\nend = 10'))
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    err = proc.stderr.replace("\n", " ")
    assert "never wrote" in err and str(path.name) in err and "Traceback" not in err
    assert not (tmp_path / "out" / "result.json").exists()  # nothing that could pass for a result


def _runbook_result(completed: bool = True) -> dict:
    result = copy.deepcopy(load_result(3))
    load = result["load"]
    load["recall_timeseries"] = [{"t": float(t), "task": "dense_search", "recall": 1.0 - 0.01 * t, "count": 20}
                                 for t in range(1, 6)]
    steps = [
        {"index": 0, "op": "insert", "label": "insert 0-500", "start_s": 0.0, "end_s": 1.0, "duration_s": 1.0,
         "requests": 2, "failures": 0, "errors_by_code": {}, "rows": 500, "error": None,
         "latency_ms": {"p50": 12.0, "p99": 30.0, "max": 30.0, "mean": 15.0}, "recall": None,
         "load_recall": {"mean": 0.98, "count": 40}},
        {"index": 1, "op": "search", "label": "search[1]", "start_s": 1.0, "end_s": 2.5, "duration_s": 1.5,
         "requests": 10, "failures": 0, "errors_by_code": {}, "rows": 0, "error": None,
         "latency_ms": {"p50": 5.0, "p99": 9.0, "max": 9.5, "mean": 5.5},
         "recall": {"mean": 0.97, "min": 0.9, "count": 50}, "load_recall": None},
    ]
    load["runbook"] = {"completed": completed, "steps_total": 2 if completed else 3, "steps_run": 2,
                       "error": None if completed else "wait[2]: TimeoutError: index still pending", "lane": 1 << 30,
                       "offset_s": 0.01, "steps": steps}
    return result


def test_runbook_results_follow_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    doc = json.loads(json.dumps(_runbook_result()))
    assert not [e.message for e in validator.iter_errors(doc)]
    doc["load"]["runbook"]["steps"][0]["op"] = "teleport"
    assert [e for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("completed", [True, False])
def test_the_report_shows_runbook_steps_and_recall_over_time(tmp_path: Path, completed: bool) -> None:
    write_result(_runbook_result(completed), tmp_path / "r")
    assert main(["report", str(tmp_path / "r"), "--out", str(tmp_path / "out")]) == 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Recall over time" in html and 'class="runbook"' in html
    assert "insert 0-500" in html and "search[1]" in html and "0.97" in html and "0.98" in html
    assert ("incomplete: 2 of 3 steps ran" in html) is (not completed)
    assert "<script" not in html


# ------------------------------------------------------------------------------------------- real server

def _run_shipped_runbook(milvus, out: Path, run_time: str, expect_code: int) -> dict:
    """``vdb-harness load streaming_runbook`` for ``run_time`` into ``out``: its exit code checked, its result."""
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", "streaming_runbook", "--target", milvus.uri,
                           "--out", str(out), "--run-time", run_time], capture_output=True, text=True, timeout=400)
    assert proc.returncode == expect_code, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "result.json").read_text())


@pytest.mark.server
def test_the_shipped_runbook_runs_under_load_with_exact_recall_per_step(milvus, tmp_path: Path) -> None:
    result = _run_shipped_runbook(milvus, tmp_path / "out", "25s", expect_code=0)
    runbook = result["load"]["runbook"]
    assert runbook["completed"] and runbook["steps_run"] == runbook["steps_total"] == 8, runbook
    for step in runbook["steps"]:
        assert step["failures"] == 0 and step["error"] is None, step
        if step["op"] == "search":
            assert step["recall"]["count"] > 0 and step["recall"]["mean"] == 1.0, step
        if step["op"] in ("insert", "delete"):
            assert step["rows"] == 2000 if step["op"] == "insert" else 1000
            assert step["latency_ms"]["p50"] is not None
    inserts = [s for s in runbook["steps"] if s["op"] == "insert"]
    assert inserts[0]["duration_s"] >= 1.5  # 2000 rows at 1000 rows/s are paced, not sent at once
    search = result["load"]["tasks"]["dense_search"]
    assert search["recall"]["mean"] >= 0.999 and "scored live" in search["recall_note"]
    assert {c["name"] for c in result["load"]["slo"]["checks"]} >= {"runbook", "recall_floor"}
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    assert not [e.message for e in validator.iter_errors(result)]


@pytest.mark.server
def test_a_runbook_the_phase_cannot_finish_is_reported_incomplete_and_fails(milvus, tmp_path: Path) -> None:
    result = _run_shipped_runbook(milvus, tmp_path / "out", "2s", expect_code=1)
    runbook = result["load"]["runbook"]
    assert not runbook["completed"] and runbook["steps_run"] < runbook["steps_total"]
    assert result["status"] == "fail" and any("runbook incomplete" in n for n in result["notes"])
    assert not next(c for c in result["load"]["slo"]["checks"] if c["name"] == "runbook")["ok"]
