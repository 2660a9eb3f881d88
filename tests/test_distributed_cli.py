"""``vdb-harness load --master`` / ``--worker``: Locust across machines from our CLI, tested as separate processes on
loopback against the real embedded server (fixture ``milvus``). The master merges HDR latency and recall exactly
as ``--processes`` does; bad flags and workers that never arrive are one clear message and exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scenarios.targets import Connection
from tests.processes import free_port
from tests import scenario_files

SCENARIO = scenario_files.scenario_text(
    "dist_cli", rows=1500, queries=40, dim=16, seed=4, workload={"top_k": 5, "consistency_level": "Strong"},
    load={"users": 2, "spawn_rate": 50, "run_time": "4s", "max_requests": 3000})


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "vdb_harness.cli", "load", *args]


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "dist.toml"
    path.write_text(SCENARIO)
    return path


@pytest.mark.parametrize("flags, message", [
    (["--worker"], "--worker needs --master-host"),
    (["--master"], "--master needs --expect-workers"),
    (["--expect-workers", "2"], "--expect-workers is a --master option"),
    (["--master", "--worker", "--master-host", "h"], "exclude each other"),
    (["--master", "--expect-workers", "0"], "--expect-workers: must be at least 1"),
    (["--master", "--expect-workers", "1", "--processes", "2"], "--processes runs local workers"),
    (["--master-host", "h"], "--master-host is a --worker option"),
    (["--worker", "--master-host", "127.0.0.1", "--master-port", "70000"], "--master-port: not a TCP port"),
    (["--worker", "--master-host", "127.0.0.1", "--target", "embedded"], "--worker needs the server's URI"),
    (["--worker", "--master-host", "127.0.0.1", "--target", "http://127.0.0.1:9", "--out", "x"],
     "a --worker writes no result"),
])
def test_bad_distribution_flags_are_one_message_exit_2(scenario: Path, tmp_path: Path, flags: list[str],
                                                       message: str) -> None:
    # a child process: `load` gevent-patches the process that imports it, which must not be pytest's
    out = tmp_path / "out"
    out_flag = [] if "--worker" in flags else ["--out", str(out)]  # a worker writes no result
    proc = subprocess.run(_cli(str(scenario), *out_flag, *flags), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    err = proc.stderr
    assert message in err.replace("\n", " ") and "Traceback" not in err
    assert not (out / "result.json").exists()  # refused before anything ran


@pytest.mark.server
def test_workers_that_never_arrive_time_out_with_exit_2(milvus: Connection, scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    port = free_port()
    t0 = time.monotonic()
    proc = subprocess.run(_cli(str(scenario), "--target", milvus.uri, "--master", "--expect-workers", "2",
                               "--expect-workers-timeout", "3", "--master-bind-host", "127.0.0.1",
                               "--master-bind-port", str(port), "--out", str(out)),
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "0 of 2 expected Locust workers connected" in proc.stderr.replace("\n", " ")
    assert "--expect-workers-timeout" in proc.stderr.replace("\n", " ")
    assert time.monotonic() - t0 < 200
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "error"  # never presented as a complete run
    assert "tasks" not in (result.get("load") or {})
    assert any("expected Locust workers" in n for n in result["notes"])


@pytest.mark.server
def test_master_and_two_workers_on_loopback_merge_like_processes(milvus: Connection, scenario: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = [open(tmp_path / f"{name}.log", "w") for name in ("master", "w1", "w2")]
    master = subprocess.Popen(_cli(str(scenario), "--target", milvus.uri, "--master", "--expect-workers", "2",
                                   "--expect-workers-timeout", "150", "--master-bind-host", "127.0.0.1",
                                   "--master-bind-port", str(port), "--out", str(out)),
                              stdout=logs[0], stderr=subprocess.STDOUT, env=env)
    workers = [subprocess.Popen(_cli(str(scenario), "--target", milvus.uri, "--worker", "--master-host",
                                     "127.0.0.1", "--master-port", str(port)),
                                stdout=log, stderr=subprocess.STDOUT, env=env) for log in logs[1:]]
    try:
        assert master.wait(timeout=240) == 0, "\n".join(
            (tmp_path / f"{name}.log").read_text()[-2000:] for name in ("master", "w1", "w2"))
        for w, name in zip(workers, ("w1", "w2")):
            assert w.wait(timeout=60) == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
    finally:
        for p in (master, *workers):
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        for log in logs:
            log.close()
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "pass"
    load = result["load"]
    assert load["distributed"]["expect_workers"] == 2
    concurrent = load["phases"][-1]
    assert concurrent["name"] == "concurrent" and concurrent["workers"] == 2
    nodes = concurrent["worker_nodes"]
    assert len(nodes) == 2 and all(n["final"] and n["requests"] > 0 for n in nodes)
    task = load["tasks"]["dense_search"]
    # the master's merged HDR and recall count what the workers shipped, and agree with Locust's own count
    assert task["requests"] == sum(n["requests"] for n in nodes) == concurrent["locust"]["requests"]
    assert task["failures"] == 0 and task["recall"]["count"] == task["requests"]
    assert task["recall"]["mean"] == 1.0  # FLAT + Strong: exact
    # the merged per-window series covers the shape's span (requests finishing after it, while users stop, are not)
    windowed = sum(load["intervals"]["tasks"]["dense_search"]["requests"])
    assert 0.7 * task["requests"] <= windowed <= task["requests"]


@pytest.mark.server
def test_a_worker_that_disappears_mid_run_fails_the_master_with_exit_2(milvus: Connection, scenario: Path,
                                                                        tmp_path: Path) -> None:
    import signal

    out = tmp_path / "out"
    port = free_port()
    master_log = tmp_path / "master.log"
    with open(master_log, "w") as mlog, open(tmp_path / "w.log", "w") as wlog:
        master = subprocess.Popen(_cli(str(scenario), "--target", milvus.uri, "--master", "--expect-workers", "1",
                                       "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                                       "--run-time", "40s", "--out", str(out)),
                                  stdout=mlog, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        worker = subprocess.Popen(_cli(str(scenario), "--target", milvus.uri, "--worker", "--master-host",
                                       "127.0.0.1", "--master-port", str(port)),
                                  stdout=wlog, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 150
            while "phase started" not in master_log.read_text() and time.monotonic() < deadline:
                assert master.poll() is None, master_log.read_text()[-3000:]
                time.sleep(0.5)
            time.sleep(3)
            os.killpg(worker.pid, signal.SIGKILL)  # the worker and its Locust process, as a machine that dies
            code = master.wait(timeout=150)
        finally:
            for p in (master, worker):
                if p.poll() is None:
                    p.kill()
                    p.wait(timeout=10)
    assert code == 2, master_log.read_text()[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "error"
    assert any("stopped answering" in n for n in result["notes"]), result["notes"]
