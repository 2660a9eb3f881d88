"""Client results and errors as comparable plain data.

``plain`` turns pymilvus result types (SearchResult, HybridHits, ExtraList, LoadState, schemas, numpy values,
CSR rows, protobuf objects) into JSON-like data; ``mask`` replaces a side's name prefix and server-generated
values (ids, timestamps) with placeholders; ``error_record`` reduces an exception to class, code and a message
with ids, timestamps and names masked.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from typing import Any, Iterable

from conformance.world import PREFIX_RE

#: Result keys whose values the server generates; masked to their type.
VOLATILE_KEYS = frozenset({
    "collection_id", "created_timestamp", "update_timestamp", "created_utc_timestamp", "timestamp", "ts",
    "session_ts", "recovery_time", "db_id", "database_id", "created_time", "create_time", "compaction_id",
    "planID", "plan_id", "segment_id", "segmentID", "collectionID", "partition_id", "partitionID", "replica_id",
    "job_id", "id_", "field_id", "fieldID", "function_id", "index_id", "pending_index_rows", "indexed_rows",
    "total_rows", "num_partitions_created", "recv_time", "cost",
})
_LONG_NUMBER = re.compile(r"\b\d{9,}\b")
_HEX = re.compile(r"\b[0-9a-f]{16,}\b")
_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b")


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` as plain data (dicts, lists, str, int, float, bool, None)."""
    if _depth > 40:
        return repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist(), _depth + 1)
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):  # scipy sparse
        csr = value.tocsr()
        return {str(int(i)): float(v) for i, v in zip(csr.indices, csr.data)}
    if isinstance(value, dict):
        return {str(k): plain(v, _depth + 1) for k, v in value.items()}
    if hasattr(value, "to_dict") and callable(value.to_dict):  # CollectionSchema, FieldSchema, Function, ...
        try:
            return {"__type__": _type_name(value), **plain(value.to_dict(), _depth + 1)}
        except Exception:  # noqa: BLE001 - some to_dict() need server state; fall through
            pass
    if hasattr(value, "DESCRIPTOR") and hasattr(value, "ListFields"):  # protobuf messages
        from google.protobuf.json_format import MessageToDict

        return {"__type__": type(value).__name__, **plain(MessageToDict(value), _depth + 1)}
    if isinstance(value, (list, tuple, set, frozenset)) or _is_sequence(value):
        items = [plain(v, _depth + 1) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if hasattr(value, "__dict__") and vars(value):
        public = {k: v for k, v in vars(value).items() if not k.startswith("_") and not callable(v)}
        return {"__type__": _type_name(value), **plain(public, _depth + 1)}
    return f"<{type(value).__name__}>"


def _type_name(value: Any) -> str:
    """The class name, with the Async prefix of the async mirror classes removed (AsyncMilvusClientSession)."""
    name = type(value).__name__
    return name[len("Async"):] if name.startswith("Async") and len(name) > 5 else name


def _is_sequence(value: Any) -> bool:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
        return False
    return hasattr(value, "__iter__") or hasattr(value, "__getitem__")  # protobuf repeated fields lack __iter__


def mask_text(text: str, prefixes: Iterable[str] = ()) -> str:
    """``text`` with side prefixes, long numbers (ids, timestamps), hex ids and addresses replaced."""
    for prefix in prefixes:
        text = text.replace(prefix, "<ns>_")
    text = re.sub(PREFIX_RE, "<other>_", text)
    text = _ADDRESS.sub("<addr>", text)
    text = _LONG_NUMBER.sub("<n>", text)
    return _HEX.sub("<hex>", text)


def mask(value: Any, prefixes: Iterable[str] = (), volatile: Iterable[str] = ()) -> Any:
    """Plain ``value`` with name prefixes masked and volatile keys replaced by their type."""
    prefixes = tuple(prefixes)
    keys = VOLATILE_KEYS | frozenset(volatile)
    if isinstance(value, str):
        return mask_text(value, prefixes)
    if isinstance(value, dict):
        return {mask_text(k, prefixes): (f"<{type(v).__name__}>" if k in keys else mask(v, prefixes, keys))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, prefixes, keys) for v in value]
    return value


def only_own(value: Any, prefixes: Iterable[str]) -> Any:
    """A list of names without the names of other examples/sides (a shared server lists everyone's objects)."""
    prefixes = tuple(prefixes)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(v for v in value if not re.search(PREFIX_RE, v) or any(p in v for p in prefixes))
    return value


def error_record(exc: BaseException, prefixes: Iterable[str] = ()) -> dict[str, Any]:
    """An exception as {class, code, message}: what must be equal when both clients raise."""
    code = getattr(exc, "code", None)
    if callable(code):  # grpc.RpcError
        try:
            code = code().name
        except Exception:  # noqa: BLE001
            code = None
    message = getattr(exc, "message", None)
    if callable(getattr(exc, "details", None)):  # grpc.RpcError: the status details (maybe empty), not its repr
        try:
            message = exc.details()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            message = None
    message = str(exc) if message is None else str(message)
    import grpc

    # grpc's sync and aio stacks raise different RpcError subclasses for the same status: compare the status
    cls = "grpc.RpcError" if isinstance(exc, grpc.RpcError) else type(exc).__name__
    return {"class": cls, "code": plain(code), "message": mask_text(message.strip(), prefixes)}
