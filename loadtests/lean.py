"""The lean user (``--client lean``): a load generator for the server, not a test of pymilvus.

What Locust's ``FastHttpUser`` is to ``HttpUser``: the same workload, with the client's own per-request work taken
out of the loop so the client is not the bottleneck of a capacity run.

* **Requests built once, by pymilvus itself.** A request's keyword arguments come from the one task -> call builder
  (:mod:`scenarios.calls` through :class:`loadtests.tasks.TaskPlan`, exactly what the sync user sends). The first
  time a distinct request (a batch of query indices, a batch of ids) is needed, it is passed once through
  ``MilvusClient`` with the gRPC stub swapped for a recorder (:class:`RequestCapture`): pymilvus' own request builders
  (``Prepare.search_requests_with_expr``, ``Prepare.query_request`` ...) make the protobuf request and its call
  metadata, and nothing is sent. Afterwards that request is sent as it is, on the client's own
  ``MilvusServiceStub`` (its channel with pymilvus' interceptors: token, database).
* **Responses parsed only for what is scored and checked.** Search: the status, the ids per query (``topks``) for
  recall; query / get: the status and the row count. The task's own checker judges them (an empty answer is a
  failure as with the other users) and recall is scored on every response.

Not supported (refused before anything runs, exit 2, naming the task): writes (``insert``/``upsert``/``delete``),
whose requests change with every call. Consistency: the guarantee timestamp is pymilvus' at build time (``Strong``
asks the server for the newest; ``Session`` sees the writes this process made before the run).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from loadtests.lean_requests import (RPC_OF_METHOD, SUPPORTED_KINDS, LeanRequests, RequestCapture,  # noqa: F401
                                     check_plans, check_supported, parse_response)
from loadtests.tasks import Call, TaskPlan
from loadtests.users import USER_CLASSES, MilvusUserBase

_open_lock = threading.Lock()


def shared_requests(ctx: Any) -> "LeanRequests":
    """The run context's :class:`LeanRequests` (one per context: every lean user of the process shares it, and
    its client, whose stub they all send on, as pymilvus' own clients of one URI share one channel)."""
    with _open_lock:
        requests = getattr(ctx, "_lean_requests", None)
        if requests is None:
            requests = LeanRequests(RequestCapture(ctx.conn.sync_client()), ctx.conn.timeout)
            ctx._lean_requests = requests
        return requests


class MilvusLeanUser(MilvusUserBase):
    """Prebuilt pymilvus requests sent on a ``MilvusServiceStub`` (gRPC under gevent, as the sync user)."""

    abstract = True
    client_label = "lean"

    def _open(self) -> None:
        self.requests = shared_requests(self.ctx)
        stub = self.requests.capture.stub
        self.rpcs: dict[str, Callable[..., Any]] = {name: getattr(stub, name) for name in set(RPC_OF_METHOD.values())}

    def _invoke(self, plan: TaskPlan, call: Call) -> tuple[Any, Optional[BaseException], float]:
        rpc, request, metadata = self.requests.get(plan, call)
        send = self.rpcs[rpc]
        started = time.perf_counter()
        try:
            response = send(request, timeout=self.timeout, metadata=metadata)
            seconds = time.perf_counter() - started
            return parse_response(rpc, response), None, seconds
        except Exception as exc:  # noqa: BLE001 - every client error is a measured outcome
            return None, exc, time.perf_counter() - started

    def _close(self) -> None:
        """Nothing per user: the shared client lives as long as its run context."""


USER_CLASSES["lean"] = MilvusLeanUser
