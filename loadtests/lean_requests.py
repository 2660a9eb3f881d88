"""The lean user's requests and responses (:mod:`loadtests.lean`): built once by pymilvus, parsed for what is
scored. No gevent here: the CLI validates a scenario with it, and units test it, in unpatched processes.
"""

from __future__ import annotations

import threading
from typing import Any, Optional, Sequence

from loadtests.tasks import Call, TaskPlan
from vdb_harness.kernel.errors import BadInputError
from scenarios.model import Scenario, TaskKind

#: Client method -> the gRPC method of ``MilvusServiceStub`` it ends in, for the task kinds the lean user sends.
RPC_OF_METHOD = {"search": "Search", "hybrid_search": "HybridSearch", "query": "Query", "get": "Query"}
#: Prebuilt requests kept per process (a get over a large dataset has many distinct id batches); emptied when full.
MAX_PREBUILT = 1 << 16
#: Task kinds the lean user can issue (their requests repeat, so they can be built once).
SUPPORTED_KINDS = frozenset({TaskKind.dense_search, TaskKind.sparse_search, TaskKind.filtered_search,
                             TaskKind.hybrid_search, TaskKind.query, TaskKind.get})


def check_supported(scenario: Scenario) -> None:
    """Raise :class:`BadInputError` naming the first workload task ``--client lean`` cannot issue."""
    _check(scenario.workload.tasks)


def check_plans(plans: Sequence[TaskPlan]) -> None:
    """:func:`check_supported` for the task plans of a run context."""
    _check([plan.spec for plan in plans])


def _check(tasks: Sequence[Any]) -> None:
    for task in tasks:
        if task.kind not in SUPPORTED_KINDS:
            supported = ", ".join(sorted(k.value for k in SUPPORTED_KINDS))
            raise BadInputError(f"--client lean: task {task.label!r} ({task.kind.value}) cannot be issued by the lean "
                                f"user (its requests change with every call); it issues {supported}. Use --client "
                                "sync or async for this scenario")


class _Captured(BaseException):
    """Raised by the recording stub with what pymilvus would have sent (a BaseException: pymilvus' retry and error
    handlers catch ``Exception`` only, so it leaves the client call untouched and unlogged)."""


class _RecordingStub:
    """Stands in for ``MilvusServiceStub`` while a request is captured: the target RPC raises :class:`_Captured`
    with ``(request, metadata)``; any other RPC (a schema lookup pymilvus makes first) goes to the real stub."""

    def __init__(self, real: Any, rpc: str) -> None:
        self._real, self._rpc = real, rpc

    def __getattr__(self, name: str) -> Any:
        if name != self._rpc:
            return getattr(self._real, name)

        def record(request: Any, timeout: Optional[float] = None, metadata: Any = None, **_: Any) -> Any:
            raise _Captured(request, metadata)

        return record


def client_stub(client: Any) -> tuple[Any, Any]:
    """``(handler, stub)`` of a ``MilvusClient``: its gRPC handler and that handler's ``MilvusServiceStub``."""
    handler = client._get_connection()
    stub = getattr(handler, "_stub", None)
    if stub is None:
        raise RuntimeError(f"--client lean: this pymilvus ({type(handler).__module__}) has no gRPC stub on its "
                           "connection handler; the lean user cannot send prebuilt requests with it")
    return handler, stub


class RequestCapture:
    """Builds requests with pymilvus: one ``MilvusClient`` call per distinct request, stub swapped for a recorder.

    The handler is shared by every ``MilvusClient`` of the URI in recent pymilvus, so the swap is done under a lock
    and undone at once; a capture does no I/O (the recorder raises before anything is sent), so no other greenlet
    runs while the stub is swapped.
    """

    def __init__(self, client: Any) -> None:
        """``client``: the ``MilvusClient`` whose handler and builders are used."""
        self._lock = threading.Lock()  # made here, in the (gevent-patched) process that captures: a greenlet lock
        self.client = client
        self.handler, self.stub = client_stub(client)

    def build(self, method: str, kwargs: dict[str, Any], timeout: float) -> tuple[str, Any, Any]:
        """``(rpc name, request, metadata)`` that ``client.<method>(**kwargs)`` sends."""
        rpc = RPC_OF_METHOD[method]
        with self._lock:
            self.handler._stub = _RecordingStub(self.stub, rpc)
            try:
                getattr(self.client, method)(**kwargs, timeout=timeout)
            except _Captured as captured:
                request, metadata = captured.args
                return rpc, request, _stable_metadata(metadata)
            finally:
                self.handler._stub = self.stub
        raise RuntimeError(f"--client lean: {method} returned without calling the {rpc} RPC; cannot prebuild it")


#: Call metadata pymilvus stamps per call (a request id, the send time): dropped from a request sent many times.
_PER_CALL_METADATA = frozenset({"client-request-id", "client-request-unixmsec"})


def _stable_metadata(metadata: Any) -> Optional[tuple[tuple[str, str], ...]]:
    if not metadata:
        return None
    return tuple((k, v) for k, v in metadata if k not in _PER_CALL_METADATA) or None


class Hits:
    """One query's answer as the task checker reads it: the returned ids (``len`` is the hit count)."""

    __slots__ = ("ids",)

    def __init__(self, ids: list[Any]) -> None:
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)


def search_hits(results: Any) -> list[Hits]:
    """Per query of a ``SearchResultData``, its ids (split by ``topks``)."""
    ids_msg = results.ids
    ids = ids_msg.str_id.data if ids_msg.WhichOneof("id_field") == "str_id" else ids_msg.int_id.data
    out, start = [], 0
    for k in results.topks:
        out.append(Hits(ids[start:start + k]))
        start += k
    return out


def row_count(fields_data: Sequence[Any]) -> int:
    """Rows in a ``QueryResults``' columns (the length of its first scalar column; a vector column otherwise)."""
    for column in fields_data:
        if column.HasField("scalars"):
            kind = column.scalars.WhichOneof("data")
            return len(getattr(column.scalars, kind).data) if kind else 0
    for column in fields_data:
        if column.HasField("vectors"):
            vectors, dim = column.vectors, max(column.vectors.dim, 1)
            kind = vectors.WhichOneof("data")
            if kind == "sparse_float_vector":
                return len(vectors.sparse_float_vector.contents)
            data = getattr(vectors, kind) if kind else b""
            values = len(data.data) if kind == "float_vector" else len(data)
            return values // (dim * _BYTES_PER_VALUE.get(kind, 1)) if kind != "binary_vector" else values * 8 // dim
    return 0


#: Bytes per vector component of the vector kinds sent as raw bytes (binary vectors: 1 bit, handled apart).
_BYTES_PER_VALUE = {"float16_vector": 2, "bfloat16_vector": 2, "int8_vector": 1}


def parse_response(rpc: str, response: Any) -> Any:
    """What the task checker needs from a response (a list of :class:`Hits`, or ``range(rows)``); raises pymilvus'
    own error for a status that is not success."""
    from pymilvus.client.utils import check_status

    check_status(response.status)
    if rpc == "Query":
        return range(row_count(response.fields_data))
    return search_hits(response.results)


class LeanRequests:
    """Prebuilt requests of one process, per (task, distinct request), built on first use and then reused."""

    def __init__(self, capture: RequestCapture, timeout: float) -> None:
        """``capture``: the builder; ``timeout``: the per-call timeout requests are built with."""
        self.capture = capture
        self.timeout = timeout
        self._built: dict[tuple[str, tuple[Any, ...]], tuple[str, Any, Any]] = {}

    def get(self, plan: TaskPlan, call: Call) -> tuple[str, Any, Any]:
        """``(rpc, request, metadata)`` of ``call`` (a request of ``plan``)."""
        key = (plan.label, tuple(call.queries) if call.queries else tuple(call.kwargs.get("ids", ())))
        built = self._built.get(key)
        if built is None:
            if len(self._built) >= MAX_PREBUILT:
                self._built.clear()
            built = self._built[key] = self.capture.build(call.method, call.kwargs, self.timeout)
        return built
