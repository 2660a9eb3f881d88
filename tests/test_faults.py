"""Faults during ``vdb-harness load`` on real embedded Milvus Lite servers: the server dies, a Locust worker dies,
Ctrl-C. Each run is a child process (the load code patches the process for gevent) bounded by its scenario, and
each test by ``pytest.mark.timeout``; faults are injected by pid from this process. Nothing here times anything:
each fault waits for the progress it needs (the run's own progress lines, printed every 0.5 s here), never a sleep.

(The server dying mid-conformance is the conformance suite's to test: conformance/ has its own owner.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

from scenarios.embedded import EmbeddedMilvus
from tests import scenario_files
from tests.processes import alive, free_port, gone_within, port_free

pytestmark = pytest.mark.server

PROGRESS = re.compile(r"^progress: ([\d.]+) s, \d+ users: (.*)$", re.M)
TASK_PROGRESS = re.compile(r"(\S+) ([\d,]+) ok ([\d,]+) failed")


class Progress:
    """The last progress line of a run: seconds into the phase, and per task (ok, failed) requests."""

    def __init__(self, elapsed: float, tasks: dict[str, tuple[int, int]]) -> None:
        self.elapsed = elapsed
        self.tasks = tasks

    def ok(self, task: str = "dense_search") -> int:
        return self.tasks.get(task, (0, 0))[0]

    def failed(self, task: str = "dense_search") -> int:
        return self.tasks.get(task, (0, 0))[1]

    def __repr__(self) -> str:
        return f"Progress({self.elapsed} s, {self.tasks})"


def scenario(tmp_path: Path, name: str, load: str) -> Path:
    """A small search-only scenario whose load phase would run long: each test's fault ends it."""
    path = tmp_path / f"{name}.toml"
    return scenario_files.write_scenario(path, name, rows=2000, queries=50, dim=16, seed=3, workload={"top_k": 5},
                                         load={"users": 2, "spawn_rate": 50}, load_extra=load)


class LoadProcess:
    """``vdb-harness load`` in a child process, its output in files this test can poll."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.out_dir = tmp_path / "out"
        self.stdout = tmp_path / "stdout.txt"
        self.stderr = tmp_path / "stderr.txt"
        with open(self.stdout, "w") as out, open(self.stderr, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "vdb_harness.cli", "load", *args, "--out",
                                          str(self.out_dir)], stdout=out, stderr=err,
                                         env={**os.environ, "VDB_HARNESS_PROGRESS_EVERY": "0.5"})

    def wait_for(self, text: str, seconds: float = 120.0) -> None:
        """Until ``text`` appears on the child's stdout (fails if the child exits first)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.stdout.read_text():
                return
            if self.proc.poll() is not None:
                pytest.fail(f"load exited ({self.proc.returncode}) before {text!r}: {self.output()}")
            time.sleep(0.2)
        pytest.fail(f"no {text!r} within {seconds} s: {self.output()}")

    def progress(self) -> Optional[Progress]:
        """The run's last progress line so far (None before the first)."""
        lines = PROGRESS.findall(self.stdout.read_text())
        if not lines:
            return None
        elapsed, tasks = lines[-1]
        return Progress(float(elapsed), {m[0]: (int(m[1].replace(",", "")), int(m[2].replace(",", "")))
                                         for m in TASK_PROGRESS.findall(tasks)})

    def wait_progress(self, what: str, done: Callable[[Progress], bool], seconds: float = 90.0) -> Progress:
        """Until a progress line satisfies ``done`` (fails, naming ``what``, if the child exits or time runs out)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            now = self.progress()
            if now is not None and done(now):
                return now
            if self.proc.poll() is not None:
                pytest.fail(f"load exited ({self.proc.returncode}) before {what} (last: {now}): {self.output()}")
            time.sleep(0.1)
        pytest.fail(f"no {what} within {seconds} s (last: {self.progress()}): {self.output()}")

    def finish(self, seconds: float = 90.0) -> int:
        """The exit code (killing the child if it has not ended within ``seconds``: the test then fails)."""
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            pytest.fail(f"load did not end within {seconds} s after the fault: {self.output()}")
        return -1

    def output(self) -> str:
        return (self.stdout.read_text() + self.stderr.read_text())[-4000:]

    def result(self) -> dict:
        return json.loads((self.out_dir / "result.json").read_text())

    def children(self, marker: str) -> list[int]:
        """Pids of the child's own children whose command line contains ``marker``."""
        return children_of(self.proc.pid, marker)


def children_of(parent: int, marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and marker in cmdline:
            pids.append(int(entry.name))
    return pids


def one_error_line(stderr: str) -> Optional[str]:
    assert "Traceback" not in stderr, stderr[-3000:]
    return next((line for line in stderr.splitlines() if line.startswith("error:")), None)


@pytest.mark.timeout(150)
def test_server_killed_mid_load_stops_the_run_keeps_the_data_and_exits_2(tmp_path: Path) -> None:
    """The embedded server is SIGKILLed mid-phase: failed requests are counted by code, the run stops on its own,
    result.json keeps the data so far with the outage interval, status "error", exit 2, no orphan."""
    path = scenario(tmp_path, "fault_kill", 'run_time = "90s"\n')
    run = LoadProcess(tmp_path, str(path))
    run.wait_for("phase started: fault_kill concurrent")
    [server] = run.children("_embedded_child.py")
    run.wait_progress("successful requests", lambda p: p.ok() > 0)  # some requests succeed first
    os.kill(server, signal.SIGKILL)
    code = run.finish(60)
    assert code == 2, run.output()
    line = one_error_line(run.stderr.read_text())
    assert line and "server lost" in line and str(server) in run.stderr.read_text(), run.output()
    result = run.result()
    assert result["status"] == "error" and result["kind"] == "load"
    assert any("server lost" in n and "concurrent phase" in n for n in result["notes"])
    load = result["load"]
    task = load["tasks"]["dense_search"]
    assert task["requests"] > task["failures"] >= 0  # the successes before the kill are kept
    assert sum(task["errors_by_code"].values()) == task["failures"]
    assert set(task["errors_by_code"]) <= {"milvus:2", "grpc:UNAVAILABLE"}, task["errors_by_code"]
    [outage] = load["outages"]
    assert 0 < outage["start"] <= load["duration_s"] and outage["end"] is None
    lost = load["phases"][-1]["server_lost"]
    assert lost["policy"] == "stop" and lost["at_s"] == pytest.approx(outage["start"], abs=1.5)
    assert "server lost" in load["stopped_by"]
    assert sum(r["requests"] for r in load["timeseries"]) == task["requests"]
    assert not any(alive(p) for p in run.children(""))  # nothing of the run is left behind
    port = int(result["target"]["uri"].rsplit(":", 1)[1])
    assert port_free(port)
    # the report reads the partial result and shades the outage (reports/plots.py draws load.outages)
    report = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "report", str(run.out_dir / "result.json"),
                             "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in report.stderr and report.returncode in (0, 1), report.stderr[-3000:]


@pytest.mark.timeout(150)
def test_server_that_comes_back_within_the_grace_lets_the_run_go_on_and_marks_the_outage(tmp_path: Path) -> None:
    """``on_server_loss = "continue"``: the server (a URI target this test owns, fixed port and data dir) is killed
    and restarted; the run goes on to the end of its shape, records the outage with its end, and exits 1 (the
    outage breaks the run's SLO). Requests in the outage fail with connection codes, then (until the collection
    is loaded again) with milvus:101, which does not end the outage: only a success does."""
    port = free_port()
    server = EmbeddedMilvus(data_dir=tmp_path / "data", port=port)
    server.start()
    try:
        path = scenario(tmp_path, "fault_back", 'run_time = "30s"\non_server_loss = "continue"\n'
                                                'server_loss_grace = "60s"\n')
        run = LoadProcess(tmp_path, str(path), "--target", server.uri, "--timeout", "10")
        run.wait_for("phase started: fault_back concurrent")
        run.wait_progress("successful requests", lambda p: p.ok() > 0)
        server.kill()
        down = run.wait_progress("failed requests in the outage", lambda p: p.failed() > 0)
        server.restart()  # same port (fixed), same data dir
        # Milvus Lite forgets which collections were loaded when it restarts (searches then fail with code 101,
        # "collection not loaded", which is not an outage: the server answers); a Milvus server restores them.
        from pymilvus import MilvusClient

        client = MilvusClient(uri=server.uri, timeout=30)
        client.load_collection("fault_back", timeout=30)
        client.close()
        back = run.wait_progress("successful requests after the restart", lambda p: p.ok() > down.ok())
        # the run goes on past the outage: successes more than a 1-s window after it too (the run's shape ends it)
        later = run.wait_progress("the run going on after the outage", lambda p: p.elapsed >= back.elapsed + 2)
        run.wait_progress("successes after the outage", lambda p: p.ok() > later.ok())
        code = run.finish(90)
    finally:
        server.stop()
    assert code == 1, run.output()
    result = run.result()
    assert result["status"] == "fail"
    load = result["load"]
    assert load["outages"] and load["outages"][0]["end"] is not None, load["outages"]
    outage = load["outages"][0]
    assert 0 < outage["start"] < outage["end"] <= load["duration_s"]
    check = next(c for c in load["slo"]["checks"] if c["name"] == "outages")
    assert not check["ok"] and check["value"] == len(load["outages"])
    after = [r for r in load["timeseries"] if r["t"] > outage["end"] + 1]
    assert sum(r["requests"] - r["failures"] for r in after) > 0  # it went on after the server came back
    assert "server_lost" not in load["phases"][-1]
    assert load["tasks"]["dense_search"]["failures"] > 0


@pytest.mark.timeout(150)
def test_ctrl_c_mid_load_exits_130_keeps_the_data_and_leaves_no_server(tmp_path: Path) -> None:
    path = scenario(tmp_path, "fault_sigint", 'run_time = "90s"\n')
    run = LoadProcess(tmp_path, str(path))
    run.wait_for("phase started: fault_sigint concurrent")
    [server] = run.children("_embedded_child.py")
    run.wait_progress("successful requests", lambda p: p.ok() > 0)
    run.proc.send_signal(signal.SIGINT)
    code = run.finish(60)
    assert code == 130, run.output()
    line = one_error_line(run.stderr.read_text())
    assert line and "interrupted" in line
    result = run.result()
    assert result["status"] == "interrupted"
    load = result["load"]
    assert load["tasks"]["dense_search"]["requests"] > 0 and load["tasks"]["dense_search"]["failures"] == 0
    assert load["phases"][-1]["name"] == "concurrent" and load["phases"][-1]["interrupted"]
    assert load["stopped_by"] == "interrupted" and load["timeseries"]
    assert gone_within(server)
    assert port_free(int(result["target"]["uri"].rsplit(":", 1)[1]))


@pytest.mark.timeout(170)
def test_a_dead_locust_worker_is_reported_and_its_missing_data_named(tmp_path: Path) -> None:
    """--processes 2; one worker is SIGKILLed: the master notices (console line), the phase goes on with the other
    worker, the merged result names the dead worker and the Locust node whose final report is missing; exit 2."""
    path = scenario(tmp_path, "fault_worker", 'run_time = "12s"\n')
    run = LoadProcess(tmp_path, str(path), "--processes", "2")
    run.wait_for("phase started: fault_worker concurrent")
    workers = run.children("--worker")
    assert len(workers) == 2
    run.wait_progress("requests reported by the workers", lambda p: p.ok() > 0)
    os.kill(workers[0], signal.SIGKILL)
    code = run.finish(90)
    assert code == 2, run.output()
    out = run.output()
    assert "Locust worker" in out and f"(pid {workers[0]}) exited" in out
    line = one_error_line(run.stderr.read_text())
    assert line and "worker" in line
    result = run.result()
    assert result["status"] == "error"
    phase = result["load"]["phases"][-1]
    [lost] = phase["workers_lost"]
    assert lost["pid"] == workers[0] and lost["exit_code"] != 0
    assert len(lost["nodes_without_final_report"]) == 1
    nodes = {n["node"]: n for n in phase["worker_nodes"]}
    assert len(nodes) == 2 and not nodes[lost["nodes_without_final_report"][0]]["final"]
    assert sum(n["final"] for n in nodes.values()) == 1
    assert any(f"pid {workers[0]}" in n for n in result["notes"])
    task = result["load"]["tasks"]["dense_search"]
    assert task["requests"] == sum(n["requests"] for n in nodes.values()) > 0  # what arrived is merged
    assert not any(alive(p) for p in workers)
