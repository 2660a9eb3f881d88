"""Run one load phase on Locust's own engine: in this process (``LocalRunner``), or as a master in this process
with N worker processes on loopback (``--processes N``), whose recordings the master merges.

A phase always ends by itself: when its shape ends, when ``max_requests`` is used up, or at a hard deadline
(the shape's duration plus a grace period), whichever is first.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from loadtests import gevent_grpc

gevent_grpc.enable()

import tempfile  # noqa: E402

import gevent  # noqa: E402
from gevent import monkey  # noqa: E402

from loadtests.context import FINAL_MESSAGE, RunContext  # noqa: E402
from loadtests.shapes import StagesShape  # noqa: E402
from loadtests.users import user_class  # noqa: E402

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
#: Seconds past the shape's end before a phase is stopped regardless.
GRACE_S = 15.0
#: Seconds the master waits for every worker's final delta.
FINAL_WAIT_S = 20.0

#: ``on_tick(context, runner, elapsed_s)``: called about 4 times a second while a phase runs (the live view).
OnTick = Callable[[RunContext, Any, float], None]


@dataclass
class PhaseRun:
    """What a finished phase leaves: its context (recorder, recall), wall times, Locust's own stats."""

    name: str
    context: RunContext
    started: float
    finished: float
    shape: StagesShape
    stopped_by: str
    locust_totals: dict[str, Any] = field(default_factory=dict)
    workers: int = 0

    @property
    def duration_s(self) -> float:
        """Wall seconds of the phase."""
        return self.finished - self.started


def _locust_totals(env: Any) -> dict[str, Any]:
    total = env.stats.total
    return {"requests": total.num_requests, "failures": total.num_failures,
            "per_task": {f"{e.method}/{e.name}": {"requests": e.num_requests, "failures": e.num_failures}
                         for e in env.stats.entries.values()}}


def run_local(ctx: RunContext, client: str, shape: StagesShape, wait_time: Any = None, name: str = "concurrent",
              on_tick: Optional[OnTick] = None) -> PhaseRun:
    """One phase in this process: Locust's ``LocalRunner`` with our users and shape."""
    from locust.env import Environment

    env = Environment(user_classes=[user_class(client, ctx, wait_time)], shape_class=shape)
    runner = env.create_local_runner()
    ctx.attach(env)
    started = time.time()
    runner.start_shape()
    stopped_by = _supervise(ctx, runner, shape, started, on_tick, lambda: runner.user_count)
    runner.quit()
    ctx.detach(env)
    return PhaseRun(name, ctx, started, time.time(), shape, stopped_by, _locust_totals(env))


def _supervise(ctx: RunContext, runner: Any, shape: StagesShape, started: float, on_tick: Optional[OnTick],
               user_count: Callable[[], int]) -> str:
    from locust.runners import STATE_STOPPED

    deadline = started + shape.duration + GRACE_S
    spawned = False
    while True:
        gevent.sleep(0.25)
        elapsed = time.time() - started
        if on_tick:
            on_tick(ctx, runner, elapsed)
        users = user_count()
        spawned = spawned or users > 0
        if runner.state == STATE_STOPPED and elapsed > 0.5:
            return "shape ended"
        if ctx.max_requests is not None and ctx.requests_issued >= ctx.max_requests and spawned and users == 0:
            return "max_requests reached"
        if time.time() > deadline:
            return "hard deadline"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_distributed(ctx: RunContext, client: str, shape: StagesShape, processes: int, worker_args: list[str],
                    wait_time: Any = None, name: str = "concurrent", on_tick: Optional[OnTick] = None,
                    connect_timeout: float = 120.0) -> PhaseRun:
    """One phase with a master here and ``processes`` Locust workers (``loadtests/locustfile.py``) on loopback.

    ``worker_args``: the locustfile's options for the workers (scenario, client, search params...). Each worker
    ships its recording to the master (report_to_master, and a final message when it stops); the master sums.
    """
    from locust.env import Environment

    env = Environment(user_classes=[user_class(client, ctx, wait_time)], shape_class=shape)
    port = _free_port()
    runner = env.create_master_runner("127.0.0.1", port)
    finals: set[str] = set()

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        if "vdb" in data:
            ctx.add_delta(data["vdb"])

    def on_final(environment: Any, msg: Any, **_: Any) -> None:
        ctx.add_delta(msg.data)
        finals.add(msg.node_id)

    env.events.worker_report.add_listener(on_worker_report)
    runner.register_message(FINAL_MESSAGE, on_final)
    logs = [tempfile.NamedTemporaryFile(prefix=f"vdb-harness-worker{i}-", suffix=".log", delete=False)
            for i in range(processes)]
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", "127.0.0.1",
            "--master-port", str(port), "--host", ctx.conn.uri, *worker_args]
    procs = [SpawnedProcess(argv, log.fileno()) for log in logs]
    try:
        deadline = time.time() + connect_timeout
        while len(runner.clients.ready) < processes:
            if time.time() > deadline or any(p.poll() is not None for p in procs):
                errors = [f"worker exited ({p.returncode}): "
                          + Path(log.name).read_text(errors="replace")[-1500:] + f" (log: {log.name})"
                          for p, log in zip(procs, logs) if p.poll() is not None]
                from scenarios.errors import InfrastructureError

                raise InfrastructureError(f"{len(runner.clients.ready)} of {processes} Locust workers connected; "
                                          f"{' | '.join(errors) or 'timed out'}")
            gevent.sleep(0.2)
        started = time.time()
        runner.start_shape()
        stopped_by = _supervise(ctx, runner, shape, started, on_tick, lambda: runner.user_count)
        runner.stop()
        wait_until = time.time() + FINAL_WAIT_S
        while len(finals) < processes and time.time() < wait_until:
            gevent.sleep(0.1)
        finished = time.time()
        runner.quit()
        missing = processes - len(finals)
        if missing:
            stopped_by += f"; {missing} worker(s) sent no final report (their last seconds are missing)"
        return PhaseRun(name, ctx, started, finished, shape, stopped_by, _locust_totals(env), workers=processes)
    finally:
        deadline = time.time() + 15.0
        for p in procs:
            while p.poll() is None and time.time() < deadline:
                gevent.sleep(0.1)  # poll, never block the hub
            if p.poll() is None:
                p.kill()
        for log in logs:
            log.close()
            if all(p.returncode == 0 for p in procs):
                Path(log.name).unlink(missing_ok=True)


class SpawnedProcess:
    """A child started with ``posix_spawn``: no fork, so gRPC's fork handlers never run in this process (with
    gevent's fork-based Popen they could break this process' gRPC poller). stdin/stdout are /dev/null."""

    def __init__(self, argv: list[str], stderr_fd: int) -> None:
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_DUP2, stderr_fd, 2)]
        env = {**os.environ, "GRPC_ENABLE_FORK_SUPPORT": "0"}
        self.pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        """The exit code once the child has ended (-1 when gevent reaped it first), else None."""
        if self.returncode is not None:
            return self.returncode
        try:
            pid, status = monkey.get_original("os", "waitpid")(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped by gevent's child watcher
            try:
                os.kill(self.pid, 0)
                return None
            except ProcessLookupError:
                self.returncode = -1
                return self.returncode
        if pid == 0:
            return None
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the child."""
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        gevent.sleep(0.2)
        self.poll()


def worker_options(scenario_path: str, client: str, search_params: Optional[dict[str, Any]], score_recall: bool,
                   timeout: float, max_requests: Optional[int], token_env: Optional[str], db_name: str) -> list[str]:
    """The locustfile options a worker needs to rebuild the same plans."""
    args = ["--vdb-scenario", scenario_path, "--vdb-client", client, "--vdb-timeout", str(timeout),
            "--vdb-db", db_name]
    if search_params is not None:
        args += ["--vdb-search-params", json.dumps(search_params)]
    if not score_recall:
        args.append("--vdb-no-recall")
    if max_requests is not None:
        args += ["--vdb-max-requests", str(max_requests)]
    if token_env:
        args += ["--vdb-token-env", token_env]
    return args
