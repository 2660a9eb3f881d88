"""Prepare the collection a load run targets: schema from the scenario, rows inserted with progress, flushed,
indexed, loaded. Returns what was created (index types actually built, rejections, timings) for the result file.

An index the server rejects is reported with its step and server; the step falls back to the index type every
server has (SPARSE_INVERTED_INDEX for sparse vectors, FLAT for dense ones) only when ``allow_fallback`` is true,
and the fallback is recorded. A scalar index that is rejected is skipped (it only speeds filters up).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from scenarios.calls import ClientCall, index_fallback_call, preparation_calls
from scenarios.datasets.base import Dataset
from vdb_harness.kernel.errors import InfrastructureError, client_error_text, is_server_rejection
from scenarios.model import IndexSpec, Scenario
from scenarios.schema import fallback_index, index_kwargs
from scenarios.targets import Connection, redact_uri

#: ``progress(done, total)``: rows inserted so far.
Progress = Callable[[int, int], None]


def prepare_collection(conn: Connection, scenario: Scenario, dataset: Dataset, progress: Optional[Progress] = None,
                       *, allow_fallback: bool = True) -> dict[str, Any]:
    """Create, fill, index and load the scenario's collection on ``conn`` with the calls `vdb-harness run` makes
    (:func:`scenarios.calls.preparation_calls`, in bulk order); returns a record of what was done."""
    client = conn.sync_client()
    name = scenario.collection.name
    timeout = conn.timeout
    server = redact_uri(conn.uri)
    record: dict[str, Any] = {"collection": name, "rows": len(dataset), "indexes": [],
                              "timings_s": dict.fromkeys(("create", "insert", "index", "load"), 0.0)}
    timings = record["timings_s"]
    indexes = iter(scenario.indexes)
    done = 0
    try:
        t0 = time.perf_counter()
        if client.has_collection(name, timeout=timeout):
            if not scenario.collection.drop_existing:
                raise InfrastructureError(f"collection {name!r} already exists on {server} and the scenario "
                                          "sets drop_existing = false")
            client.drop_collection(name, timeout=timeout)
        for call in preparation_calls(scenario, dataset):
            phase = _PHASE[call.method]
            if call.method == "create_index":
                record["indexes"].append(_create_index(client, scenario, next(indexes), call, server, timeout,
                                                       allow_fallback))
            else:
                _step(server, call.step, lambda call=call: getattr(client, call.method)(
                    **call.kwargs, timeout=max(timeout, _MIN_TIMEOUT_S.get(call.method, 0.0))))
            if call.method == "insert":
                done += len(call.kwargs["data"])
                if progress:
                    progress(done, len(dataset))
            timings[phase] += time.perf_counter() - t0
            t0 = time.perf_counter()
        record["row_count"] = _row_count(client, name, timeout)
    finally:
        client.close()
    return record


#: Preparation step -> the timing it counts towards (``prepare.timings_s``).
_PHASE = {"create_collection": "create", "insert": "insert", "flush": "insert", "create_index": "index",
          "load_collection": "load"}
#: The least timeout of the long preparation steps (seconds); others use the connection's.
_MIN_TIMEOUT_S = {"insert": 120.0, "flush": 300.0, "create_index": 300.0, "load_collection": 300.0}


def _step(server: str, step: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except Exception as exc:  # noqa: BLE001 - any client error becomes one clear message with step and server
        raise InfrastructureError(f"preparing the collection: {server} rejected step {step!r}: "
                                  f"{client_error_text(exc)}") from None


def _create_index(client: Any, scenario: Scenario, index: IndexSpec, call: ClientCall, server: str,
                  timeout: float, allow_fallback: bool) -> dict[str, Any]:
    name = scenario.collection.name
    field = scenario.collection.field(index.field)
    wait = max(timeout, _MIN_TIMEOUT_S["create_index"])
    entry: dict[str, Any] = {"field": index.field, "requested": index_kwargs(index) | {"metric_type": (
        index.metric.value if index.metric else None)}, "created": None, "rejected": None, "fallback": None}
    try:
        client.create_index(**call.kwargs, timeout=wait)
        entry["created"] = {"index_type": index.index_type, "params": dict(index.params)}
        return entry
    except Exception as exc:  # noqa: BLE001
        if not is_server_rejection(exc) and _index_exists(client, name, index, timeout):
            # the client failed after the server built the index (pymilvus 2.5 on Milvus Lite 3 waits for it with
            # an RPC the server lacks): the index is there, so the run goes on with it and says so
            entry["created"] = {"index_type": index.index_type, "params": dict(index.params)}
            entry["client_error"] = f"create_index raised {client_error_text(exc)} but the index exists on {server}"
            return entry
        entry["rejected"] = f"{server} rejected create_index on {index.field!r} ({index.index_type}): " \
                            f"{client_error_text(exc)}"
    if not field.type.is_vector:
        entry["fallback"] = "skipped (a scalar index only speeds filters up)"
        return entry
    fallback = index_fallback_call(scenario, index) if allow_fallback else None
    if fallback is None:
        raise InfrastructureError(entry["rejected"] + ("" if allow_fallback and index.fallback
                                                       else "; fallback not allowed"))
    _step(server, fallback.step, lambda: client.create_index(**fallback.kwargs, timeout=wait))
    replacement = fallback_index(index, scenario.collection)
    entry["created"] = {"index_type": replacement.index_type if replacement else None, "params": {}}
    entry["fallback"] = entry["created"]["index_type"]
    return entry


def _index_exists(client: Any, name: str, index: IndexSpec, timeout: float) -> bool:
    """True when the collection has an index on ``index.field`` of the requested type."""
    try:
        described = client.describe_index(name, index.name or index.field, timeout=timeout)
    except Exception:  # noqa: BLE001 - no such index, or the server cannot say: treat as absent
        return False
    return bool(described) and str(described.get("index_type", "")).upper() == index.index_type.upper()


def _row_count(client: Any, name: str, timeout: float) -> Optional[int]:
    try:
        rows = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong", timeout=timeout)
        return int(rows[0]["count(*)"])
    except Exception:  # noqa: BLE001 - the count is informative only
        return None
