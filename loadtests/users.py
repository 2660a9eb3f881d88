"""Locust users for Milvus: :class:`MilvusSyncUser` (``MilvusClient`` on gRPC-under-gevent) and
:class:`MilvusAsyncUser` (``AsyncMilvusClient`` on an asyncio loop in a native thread).

Each request: pick a task by weight, take its next prepared call, time the client call with ``perf_counter``,
judge the result (an empty or wrong answer is a failure), and fire Locust's ``request`` event once, named by the
task label. Locust's stats, web UI, CSV and HTML work unchanged; the harness' HDR recorder and recall tracker
listen to the same event (see :mod:`loadtests.context`).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Optional

from loadtests import gevent_grpc

gevent_grpc.enable()  # before any gRPC channel exists in this process

# Imported here, with the module, not lazily by the first user's on_start: importing pymilvus (and pandas with
# it) takes about a second of CPU, which there blocked every greenlet of the process while users were spawning
# and was charged to the phase (bench_load: ~1.1 s of a 10 s phase, several hundred us per request).
import pymilvus  # noqa: E402,F401

from locust import User, constant, task  # noqa: E402 - after the gevent switch on purpose
from locust.exception import StopUser  # noqa: E402

from loadtests.context import CONTEXT_KEY, RunContext  # noqa: E402
from loadtests.tasks import Call, TaskPlan, WriterState  # noqa: E402
from vdb_harness.kernel.errors import error_code  # noqa: E402,F401 - also this module's public name for it


class WrongResult(Exception):
    """A call that returned, but not what the data guarantees (empty, short); ``code`` says which."""

    def __init__(self, code: str, task: str) -> None:
        super().__init__(f"{task}: {code}")
        self.code = code


class MilvusUserBase(User):
    """The shared request loop of both users. Subclasses provide the client (``_open``, ``_invoke``, ``_close``)."""

    abstract = True
    #: No think time: a closed loop at full speed (the ``arrival`` shape sets a constant-throughput wait instead).
    wait_time = constant(0)
    #: The process' shared run context (plans, recorder, recall); set by the runner or the locustfile.
    context: ClassVar[Optional[RunContext]] = None
    #: Label of the client in results.
    client_label: ClassVar[str] = "?"

    def on_start(self) -> None:
        """Open this user's client and claim a write lane."""
        if self.context is None:
            raise RuntimeError(f"{type(self).__name__}.context is not set: run through loadtests.runner or "
                               "loadtests/locustfile.py")
        self.ctx: RunContext = self.context
        self.timeout = self.ctx.conn.timeout
        self.writer = WriterState(lane=self.ctx.next_lane())
        self._open()

    def on_stop(self) -> None:
        """Close this user's client."""
        self._close()

    @task
    def issue(self) -> None:
        """One request of a task drawn by weight."""
        ctx = self.ctx
        if not ctx.budget_left():
            raise StopUser()
        plan = ctx.pick()
        call = plan.next_call(self.writer)
        started = time.time()
        if call.rows is not None or call.method == "delete":  # a write: the live truth must know it is in flight
            live = ctx.recall.live if ctx.score_recall else None
            if live is not None:
                call.token = live.sent(call.method, call.ids, call.rows, self.writer.lane, started)
        result, exc, seconds = self._invoke(plan, call)
        self._report(plan, call, result, exc, started, seconds)

    def _report(self, plan: TaskPlan, call: Call, result: Any, exc: Optional[BaseException], started: float,
                seconds: float) -> None:
        ids = None
        if exc is None:
            code, ids = plan.check(plan, call, result)
            if code is not None:
                exc = WrongResult(code, plan.label)
        code = None if exc is None else error_code(exc)
        self.environment.events.request.fire(
            request_type=plan.request_type, name=plan.label, response_time=seconds * 1000.0,
            response_length=len(result) if exc is None and hasattr(result, "__len__") else 0,
            exception=exc, context={CONTEXT_KEY: (started, seconds, code, call.queries, ids, call,
                                                   self.writer.lane)})

    def _open(self) -> None:
        raise NotImplementedError

    def _invoke(self, plan: TaskPlan, call: Call) -> tuple[Any, Optional[BaseException], float]:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class MilvusSyncUser(MilvusUserBase):
    """``pymilvus.MilvusClient``, one per user, over gRPC's gevent integration (greenlets stay concurrent)."""

    abstract = True
    client_label = "sync"

    def _open(self) -> None:
        self.client = self.ctx.conn.sync_client()

    def _invoke(self, plan: TaskPlan, call: Call) -> tuple[Any, Optional[BaseException], float]:
        method = getattr(self.client, call.method)
        started = time.perf_counter()
        try:
            result = method(**call.kwargs, timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - every client error is a measured outcome
            return None, exc, time.perf_counter() - started
        return result, None, time.perf_counter() - started

    def _close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()


class MilvusAsyncUser(MilvusUserBase):
    """``pymilvus.AsyncMilvusClient``, one per user, on the process' asyncio loop in a native thread.

    The greenlet waits for each call without blocking gevent; the call is timed inside the loop.
    """

    abstract = True
    client_label = "async"

    def _open(self) -> None:
        from loadtests.async_bridge import shared_bridge

        self.bridge = shared_bridge()
        conn = self.ctx.conn

        async def make() -> Any:
            return conn.async_client()

        self.client = self.bridge.call(make(), timeout=self.timeout + 5.0)

    def _invoke(self, plan: TaskPlan, call: Call) -> tuple[Any, Optional[BaseException], float]:
        kwargs = dict(call.kwargs, timeout=self.timeout)
        return self.bridge.timed(getattr(self.client, call.method), kwargs, timeout=self.timeout + 5.0)

    def _close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            try:
                self.bridge.call(client.close(), timeout=5.0)
            except Exception:  # noqa: BLE001 - closing is best effort at the end of a run
                pass


#: ``--client`` value -> user base class (``lean``: :mod:`loadtests.lean`, registered when that module is imported;
#: :func:`loadtests.user_kinds.user_class` picks from here).
USER_CLASSES: dict[str, type[MilvusUserBase]] = {"sync": MilvusSyncUser, "async": MilvusAsyncUser}
