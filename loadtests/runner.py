"""Run one load phase on Locust's own engine: in this process (``LocalRunner``), or as a master in this process
with N worker processes on loopback (``--processes N``), whose recordings the master merges.

A phase always ends by itself: when its shape ends, when ``max_requests`` is used up, or at a hard deadline
(the shape's duration plus a grace period), whichever is first; and early when the server is lost (a
:class:`loadtests.faults.ServerWatch`) or on Ctrl-C (a :class:`loadtests.faults.InterruptFlag`). A distributed
phase also notices a worker process that dies and says which worker's data is missing.
"""

from __future__ import annotations

import json
import os
import socket
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
from loadtests.faults import InterruptFlag, ServerWatch, merge_spans  # noqa: E402
from loadtests.shapes import StagesShape  # noqa: E402
from loadtests.user_kinds import user_class  # noqa: E402

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
    #: Why the server was given up (``{at, reason, problem, policy}``, ``at`` epoch), or None.
    server_lost: Optional[dict[str, Any]] = None
    #: Spans ``{start, end}`` (seconds since ``started``) when the server was down: the watch's down-spans united
    #: with the request-level outages (every request failing with a connection error).
    outages: list[dict[str, Any]] = field(default_factory=list)
    #: Ctrl-C stopped the phase.
    interrupted: bool = False
    #: Distributed: workers whose data is (partly) missing: ``{worker, pid, exit_code, at_s, node, ...}``.
    workers_lost: list[dict[str, Any]] = field(default_factory=list)
    #: Distributed: per Locust worker node, what it shipped (``{node, reports, requests, final}``).
    worker_nodes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Wall seconds of the phase."""
        return self.finished - self.started


def _outages(ctx: RunContext, started: float, watch: Optional[ServerWatch]) -> list[dict[str, Any]]:
    return merge_spans(ctx.recorder.outages(started), watch.relative_spans(started) if watch else [])


def _locust_totals(env: Any) -> dict[str, Any]:
    total = env.stats.total
    return {"requests": total.num_requests, "failures": total.num_failures,
            "per_task": {f"{e.method}/{e.name}": {"requests": e.num_requests, "failures": e.num_failures}
                         for e in env.stats.entries.values()}}


def _start_background(background: Optional[Callable[[], None]]) -> Any:
    """Start ``background`` (e.g. a runbook) in a greenlet next to the users; None when there is none."""
    return gevent.spawn(background) if background is not None else None


def _stop_background(greenlet: Any) -> None:
    """End a background greenlet that outlived its phase (its own record says how far it got)."""
    if greenlet is not None and not greenlet.dead:
        greenlet.kill(block=True, timeout=10.0)


def run_local(ctx: RunContext, client: str, shape: StagesShape, wait_time: Any = None, name: str = "concurrent",
              on_tick: Optional[OnTick] = None, watch: Optional[ServerWatch] = None,
              interrupt: Optional[InterruptFlag] = None, background: Optional[Callable[[], None]] = None
              ) -> PhaseRun:
    """One phase in this process: Locust's ``LocalRunner`` with our users and shape (and ``background``, e.g. a
    runbook, in a greenlet of its own from the start of the phase)."""
    from locust.env import Environment

    env = Environment(user_classes=[user_class(client, ctx, wait_time)], shape_class=shape)
    runner = env.create_local_runner()
    ctx.attach(env)
    started = time.time()
    runner.start_shape()
    bg = _start_background(background)
    try:
        stopped_by = _supervise(ctx, runner, shape, started, on_tick, lambda: runner.user_count, watch, interrupt)
    finally:
        _stop_background(bg)
        runner.quit()
        ctx.detach(env)
    return PhaseRun(name, ctx, started, time.time(), shape, stopped_by, _locust_totals(env),
                    server_lost=watch.lost if watch else None, outages=_outages(ctx, started, watch),
                    interrupted=bool(interrupt and interrupt.set))


def _supervise(ctx: RunContext, runner: Any, shape: StagesShape, started: float, on_tick: Optional[OnTick],
               user_count: Callable[[], int], watch: Optional[ServerWatch] = None,
               interrupt: Optional[InterruptFlag] = None, on_check: Optional[Callable[[float], None]] = None) -> str:
    from locust.runners import STATE_STOPPED

    deadline = started + shape.duration + GRACE_S
    spawned = False
    while True:
        gevent.sleep(0.25)
        elapsed = time.time() - started
        if on_tick:
            on_tick(ctx, runner, elapsed)
        if interrupt is not None and interrupt.set:
            return "interrupted"
        if watch is not None:
            lost = watch.check()
            if lost:
                return lost
        if on_check is not None:
            on_check(elapsed)
        users = user_count()
        # a request issued means a user ran, even one that started and used up max_requests between two checks
        spawned = spawned or users > 0 or ctx.requests_issued > 0
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
                    connect_timeout: float = 120.0, watch: Optional[ServerWatch] = None,
                    interrupt: Optional[InterruptFlag] = None,
                    on_worker_lost: Optional[Callable[[dict[str, Any]], None]] = None,
                    external: bool = False, bind_host: str = "127.0.0.1",
                    bind_port: Optional[int] = None,
                    background: Optional[Callable[[], None]] = None) -> PhaseRun:
    """One phase with a master here and ``processes`` Locust workers (``loadtests/locustfile.py``) on loopback.

    ``worker_args``: the locustfile's options for the workers (scenario, client, search params...). Each worker
    ships its recording to the master (report_to_master, and a final message when it stops); the master sums.
    ``external``: start no worker; bind the master to ``bind_host:bind_port`` and wait up to ``connect_timeout``
    seconds for ``processes`` workers started elsewhere (``vdb-harness load --worker``, other machines), then run
    exactly as with local workers (a worker that never sends its final report is listed as missing).
    A worker process that exits during the phase is reported at once (``on_worker_lost``) and listed in
    :attr:`PhaseRun.workers_lost` with the Locust node(s) whose final report never came: their data since their
    last report is missing from the sums. The phase goes on with the other workers (Locust rebalances users).
    """
    from locust.env import Environment

    env = Environment(user_classes=[user_class(client, ctx, wait_time)], shape_class=shape)
    port = bind_port if bind_port is not None else _free_port()
    try:
        runner = env.create_master_runner(bind_host, port)
    except Exception as exc:  # zmq.ZMQError: address in use, host not ours
        from vdb_harness.kernel.errors import InfrastructureError

        raise InfrastructureError(f"cannot bind the Locust master to {bind_host}:{port}: {exc}") from None
    finals: set[str] = set()
    nodes: dict[str, dict[str, Any]] = {}

    def node(client_id: str) -> dict[str, Any]:
        return nodes.setdefault(client_id, {"node": client_id, "reports": 0, "requests": 0, "last_report_at": None,
                                            "final": False})

    def shipped(client_id: str, delta: dict[str, Any]) -> None:
        entry = node(client_id)
        entry["reports"] += 1
        entry["requests"] += sum(int(t.get("requests", 0)) for t in delta["recorder"]["tasks"].values())
        entry["last_report_at"] = time.time()

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        if "vdb" in data:
            ctx.add_delta(data["vdb"])
            shipped(client_id, data["vdb"])

    def on_final(environment: Any, msg: Any, **_: Any) -> None:
        ctx.add_delta(msg.data)
        shipped(msg.node_id, msg.data)
        node(msg.node_id)["final"] = True
        finals.add(msg.node_id)

    env.events.worker_report.add_listener(on_worker_report)
    runner.register_message(FINAL_MESSAGE, on_final)
    logs = [] if external else [tempfile.NamedTemporaryFile(prefix=f"vdb-harness-worker{i}-", suffix=".log",
                                                            delete=False) for i in range(processes)]
    argv = worker_argv("127.0.0.1", port, ctx.conn.uri, worker_args)
    procs = [SpawnedProcess(argv, log.fileno()) for log in logs]
    lost: list[dict[str, Any]] = []
    try:
        deadline = time.time() + connect_timeout
        while len(runner.clients.ready) < processes:
            if time.time() > deadline or any(p.poll() is not None for p in procs):
                errors = [f"worker exited ({p.returncode}): "
                          + Path(log.name).read_text(errors="replace")[-1500:] + f" (log: {log.name})"
                          for p, log in zip(procs, logs) if p.poll() is not None]
                from vdb_harness.kernel.errors import InfrastructureError

                if external:
                    runner.quit()
                    raise InfrastructureError(
                        f"{len(runner.clients.ready)} of {processes} expected Locust workers connected to the "
                        f"master on {bind_host}:{port} within {connect_timeout:g} s (--expect-workers-timeout); "
                        "start them with: vdb-harness load SCENARIO --worker --master-host HOST "
                        f"--master-port {port} --target URI")
                raise InfrastructureError(f"{len(runner.clients.ready)} of {processes} Locust workers connected; "
                                          f"{' | '.join(errors) or 'timed out'}")
            gevent.sleep(0.2)
        for client_id in list(runner.clients.keys()):
            node(client_id)
        started = time.time()

        def check_workers(elapsed: float) -> None:
            if external:  # no process to watch: a worker whose heartbeats stopped (Locust marks it missing)
                for w in runner.clients.missing:
                    if not any(x["worker"] == w.id for x in lost) and not nodes.get(w.id, {}).get("final"):
                        entry = {"worker": w.id, "pid": None, "exit_code": None, "at_s": round(elapsed, 3),
                                 "log": "on the worker's machine"}
                        lost.append(entry)
                        if on_worker_lost is not None:
                            on_worker_lost(entry)
            for i, p in enumerate(procs):
                if p.poll() is not None and not any(w["worker"] == i for w in lost):
                    entry = {"worker": i, "pid": p.pid, "exit_code": p.returncode, "at_s": round(elapsed, 3),
                             "log": logs[i].name}
                    lost.append(entry)
                    if on_worker_lost is not None:
                        on_worker_lost(entry)

        runner.start_shape()
        bg = _start_background(background)
        try:
            stopped_by = _supervise(ctx, runner, shape, started, on_tick, lambda: runner.user_count, watch,
                                    interrupt, check_workers)
        finally:
            _stop_background(bg)
        runner.stop()
        wait_until = time.time() + (2.0 if watch is not None and watch.lost else FINAL_WAIT_S)
        while len(finals) < processes - len(lost) and time.time() < wait_until:
            gevent.sleep(0.1)
        finished = time.time()
        check_workers(finished - started)
        runner.quit()
        missing = [n for n in nodes.values() if not n["final"]]
        for n in nodes.values():
            if n["last_report_at"] is not None:
                n["last_report_s"] = round(n.pop("last_report_at") - started, 3)
            else:
                n.pop("last_report_at")
        if lost:  # name the Locust node(s) whose data is incomplete next to the process(es) that died
            for entry in lost:
                entry["nodes_without_final_report"] = [n["node"] for n in missing]
                entry["missing"] = ("its requests since its last report (Locust workers report every ~3 s) and "
                                    "its final report")
        if missing:
            stopped_by += f"; {len(missing)} worker(s) sent no final report (their last seconds are missing)"
        return PhaseRun(name, ctx, started, finished, shape, stopped_by, _locust_totals(env), workers=processes,
                        server_lost=watch.lost if watch else None, outages=_outages(ctx, started, watch),
                        interrupted=bool(interrupt and interrupt.set), workers_lost=lost,
                        worker_nodes=sorted(nodes.values(), key=lambda n: n["node"]))
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

    def __init__(self, argv: list[str], stderr_fd: int, stdout_fd: Optional[int] = None) -> None:
        """Start ``argv``; its stderr goes to ``stderr_fd``, its stdout to ``stdout_fd`` (default: /dev/null)."""
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0) if stdout_fd is None else
                   (os.POSIX_SPAWN_DUP2, stdout_fd, 1),
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


def worker_argv(master_host: str, master_port: int, uri: str, worker_args: list[str]) -> list[str]:
    """The command line of one Locust worker process running our locustfile (local ``--processes`` workers and
    ``vdb-harness load --worker`` alike)."""
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--host", uri, *worker_args]


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
