"""The lean user (``--client lean``) on the real embedded server: the same answers scored the same way as the
pymilvus user, latency from the same call an independent timer sees, and tasks it cannot build refused (exit 2).

Locust needs a gevent-patched process, so runs happen in child processes; the pytest process stays unpatched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.targets import Connection
from tests import scenario_files

ROWS, QUERIES, DIM, K = 3000, 40, 16, 10


def scenario_text(name: str, tasks: str) -> str:
    """An IVF_FLAT collection searched with nprobe 1 (recall below 1, so equal recall is a real comparison)."""
    return scenario_files.scenario_text(
        name, rows=ROWS, queries=QUERIES, dim=DIM, seed=7, index="IVF_FLAT", params={"nlist": 32}, pct=True,
        workload={"top_k": K, "consistency_level": "Strong", "insert_batch_size": 3000}, tasks=tasks,
        load={"users": 1, "spawn_rate": 10, "run_time": "4s"})


SEARCH_TASKS = [{"kind": "dense_search", "search_params": {"nprobe": 1}},
                {"kind": "filtered_search", "name": "filtered_30pct", "filter": "pct < 30",
                 "search_params": {"nprobe": 1}},
                {"kind": "get", "batch_size": 3},
                {"kind": "query", "name": "count_small", "filter": "pct < 5", "output_fields": ["count(*)"]}]

#: One client kind over the scenario in a child process: per task, requests/failures and per query the recall of
#: each distinct answer (the tracker's memo), plus each call's reported and independently timed latency.
RUN_SCRIPT = """
import json, sys, time
from loadtests import gevent_grpc
gevent_grpc.enable()
from loadtests.plan import load_plan
from loadtests.runner import run_local
from loadtests.shapes import StagesShape
from loadtests import crosscheck, users, lean
from scenarios.loader import load_scenario
from scenarios.targets import Connection
path, uri, client, budget = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
scenario = load_scenario(path)
plan = load_plan(scenario, __import__("pathlib").Path(path).parent)
ctx = plan.context(Connection(uri=uri, timeout=30), max_requests=budget)
independent, reported = [], []
crosscheck.record_reported(ctx, reported)
if client == "lean":
    users.USER_CLASSES["lean"] = crosscheck.independently_timed(lean.MilvusLeanUser, independent)
run_local(ctx, client, StagesShape([(120.0, 1)], 1.0))
per_query = {label: {} for label in ctx.recall._memo}
for label, memo in ctx.recall._memo.items():
    for (q, ids), value in memo.items():
        per_query[label].setdefault(str(q), []).append(value)
print(json.dumps({"tasks": {label: {"requests": r.requests, "failures": r.failures, "errors": r.errors}
                            for label, r in ctx.recorder.tasks.items()},
                  "recall": per_query, "independent": independent, "reported": reported}))
"""


def run_client(milvus: Connection, path: Path, client: str, budget: int) -> dict:
    """Run ``client`` users over the scenario for ``budget`` requests in a child process."""
    proc = subprocess.run([sys.executable, "-c", RUN_SCRIPT, str(path), milvus.uri, client, str(budget)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load_cli(milvus: Connection, scenario: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """``vdb-harness load`` against the fixture's server."""
    return subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", str(scenario), "--target", milvus.uri,
                           "--out", str(out), *extra], capture_output=True, text=True, timeout=300)


@pytest.mark.server
def test_lean_user_scores_the_same_recall_as_the_pymilvus_user(milvus: Connection, tmp_path: Path) -> None:
    path = tmp_path / "lean.toml"
    path.write_text(scenario_text("lean_recall", SEARCH_TASKS))
    prep = load_cli(milvus, path, tmp_path / "prep", "--prepare-only")
    assert prep.returncode == 0, prep.stderr[-3000:]
    budget = 6 * QUERIES  # four tasks drawn by weight: each search task sees most queries, some twice
    sync, lean = run_client(milvus, path, "sync", budget), run_client(milvus, path, "lean", budget)
    for result in (sync, lean):
        assert set(result["tasks"]) == {"dense_search", "filtered_30pct", "get", "count_small"}
        assert sum(t["requests"] for t in result["tasks"].values()) == budget
        assert all(t["failures"] == 0 for t in result["tasks"].values()), result["tasks"]
    values = []
    for label in ("dense_search", "filtered_30pct"):
        common = set(sync["recall"][label]) & set(lean["recall"][label])
        assert len(common) >= QUERIES // 2, (label, len(common))
        for q in common:  # the same query, scored the same: the lean user sent the same request
            assert sorted(lean["recall"][label][q]) == sorted(sync["recall"][label][q]), (label, q)
            values += lean["recall"][label][q]
    assert min(values) < 1.0  # nprobe 1 on IVF: an approximate answer, so equality says something
    # the lean user's latency is the call's: an independent timer around each RPC agrees (5 %, or a time slice)
    assert len(lean["independent"]) == len(lean["reported"]) == budget
    for independent, reported in zip(lean["independent"], lean["reported"]):
        assert reported == pytest.approx(independent, rel=0.05, abs=5.0)


@pytest.mark.server
def test_load_command_runs_the_lean_client(milvus: Connection, tmp_path: Path) -> None:
    tasks = [{"kind": "dense_search"}, {"kind": "get"}]
    path = tmp_path / "lean_cli.toml"
    path.write_text(scenario_text("lean_cli", tasks))
    out = tmp_path / "out"
    proc = load_cli(milvus, path, out, "--client", "lean", "--max-requests", "30", "--serial-time", "0s",
                    "--no-sweep")
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    load = json.loads((out / "result.json").read_text())["load"]
    assert load["client"] == "lean"
    tasks_out = load["tasks"]
    assert sum(t["requests"] for t in tasks_out.values()) == 30
    assert all(t["failures"] == 0 for t in tasks_out.values()), tasks_out
    assert tasks_out["dense_search"]["recall"]["count"] == tasks_out["dense_search"]["requests"]


@pytest.mark.server
def test_lean_user_reports_a_server_error_as_the_pymilvus_user_does(milvus: Connection, tmp_path: Path) -> None:
    tasks = [{"kind": "query", "name": "bad_filter", "filter": "no_such_field < 3"}]
    path = tmp_path / "lean_err.toml"
    path.write_text(scenario_text("lean_error", tasks))
    prep = load_cli(milvus, path, tmp_path / "prep", "--prepare-only")
    assert prep.returncode == 0, prep.stderr[-3000:]
    sync, lean = run_client(milvus, path, "sync", 4), run_client(milvus, path, "lean", 4)
    assert sync["tasks"]["bad_filter"]["failures"] == 4
    assert lean["tasks"]["bad_filter"]["errors"] == sync["tasks"]["bad_filter"]["errors"]


@pytest.mark.parametrize("command", ["load", "capacity"])
def test_lean_client_refuses_a_task_it_cannot_build(tmp_path: Path, command: str) -> None:
    tasks = """
        [[workload.tasks]]
        kind = "dense_search"
        [[workload.tasks]]
        kind = "insert"
        name = "writer"
        [slo]
        p99_ms = 100
        """
    path = tmp_path / "lean_write.toml"
    path.write_text(scenario_text("lean_write", tasks))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", command, str(path), "--client", "lean",
                           "--target", "http://127.0.0.1:9", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "'writer'" in proc.stderr + proc.stdout and "lean" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (out / "result.json").exists()  # refused before anything ran: no result presented


def test_responses_are_parsed_for_ids_per_query_and_row_counts() -> None:
    from pymilvus.grpc_gen import milvus_pb2, schema_pb2

    from loadtests.lean_requests import parse_response

    results = schema_pb2.SearchResultData(num_queries=2, top_k=3, topks=[3, 1])
    results.ids.int_id.data.extend([5, 6, 7, 9])
    hits = parse_response("Search", milvus_pb2.SearchResults(results=results))
    assert [h.ids for h in hits] == [[5, 6, 7], [9]] and [len(h) for h in hits] == [3, 1]
    named = schema_pb2.SearchResultData(topks=[2])
    named.ids.str_id.data.extend(["a", "b"])
    assert [h.ids for h in parse_response("HybridSearch", milvus_pb2.SearchResults(results=named))] == [["a", "b"]]
    rows = milvus_pb2.QueryResults()
    column = rows.fields_data.add(field_name="id")
    column.scalars.long_data.data.extend([1, 2, 3])
    assert len(parse_response("Query", rows)) == 3
    vectors = milvus_pb2.QueryResults()
    vcol = vectors.fields_data.add(field_name="v")
    vcol.vectors.dim = 2
    vcol.vectors.float_vector.data.extend([0.0] * 6)
    assert len(parse_response("Query", vectors)) == 3
    assert len(parse_response("Query", milvus_pb2.QueryResults())) == 0
    failed = milvus_pb2.SearchResults()
    failed.status.code = 1100
    failed.status.reason = "bad expression"
    with pytest.raises(Exception, match="bad expression"):
        parse_response("Search", failed)
