"""Client results and errors as comparable plain data.

``plain`` turns pymilvus result types (SearchResult, HybridHits, ExtraList, LoadState, schemas, numpy values,
CSR rows, protobuf objects) into JSON-like data that keeps what a caller observes: the type of every value (an int
stays an int, a float32 array stays one), the class and public attributes of pymilvus' list/dict subclasses
(``extra``, ``recalls``, ...), key types and order; ``mask`` replaces a side's name prefix and server-generated
values (ids, timestamps) with placeholders; ``error_record`` reduces an exception to class, code and a message
with ids, timestamps and names masked.

Part of the reproducer kit (:mod:`conformance.reproducer`): standard library and pymilvus' own dependencies only,
the kit's modules imported relatively, so a reproducer script normalises with this very code.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from typing import Any, Iterable, Optional

from .starting_state import PREFIX_RE

#: Result keys whose values the server generates; masked to their type.
VOLATILE_KEYS = frozenset({
    "collection_id", "created_timestamp", "update_timestamp", "created_utc_timestamp", "timestamp", "ts",
    "session_ts", "recovery_time", "db_id", "database_id", "created_time", "create_time", "compaction_id",
    "planID", "plan_id", "segment_id", "segmentID", "collectionID", "partition_id", "partitionID", "replica_id",
    "job_id", "id_", "field_id", "fieldID", "function_id", "index_id", "pending_index_rows", "indexed_rows",
    "total_rows", "num_partitions_created", "recv_time", "cost",
    # the read timestamp the server picked for a query (ExtraList.extra): a timestamp like session_ts
    "iterator_session_ts",
    # per-call resource metrics in a result's ``extra`` (they change as caches warm between the two calls)
    "scanned_remote_bytes", "scanned_total_bytes", "cache_hit_ratio",
})
_LONG_NUMBER = re.compile(r"\b\d{9,}\b")
_HEX = re.compile(r"\b[0-9a-f]{16,}\b")
_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b")


#: Keys of a tagged value: ``{"__type__": name, "__value__": payload, "__attrs__": {...}}`` stands for an object
#: that plain JSON cannot show as it is: a list/dict subclass (SearchResult, HybridHits, Hit, ExtraList,
#: OmitZeroDict, ...) with its public attributes, a tuple or set, a numpy value with its dtype, bytes, a dict with
#: non-string keys, a non-finite float. Plain ``list``/``dict``/``int``/``float``/``str``/``bool``/``None`` stay as
#: they are, so the type a caller sees is part of the value.
TYPE, VALUE, ATTRS = "__type__", "__value__", "__attrs__"


def tagged(type_name: str, payload: Any, attrs: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A tagged value: a type name, its payload as plain data and (if any) its public attributes."""
    out: dict[str, Any] = {TYPE: type_name, VALUE: payload}
    if attrs:
        out[ATTRS] = attrs
    return out


def is_tagged(value: Any) -> bool:
    """True when ``value`` is a tagged value made by :func:`tagged`."""
    return isinstance(value, dict) and TYPE in value and VALUE in value and set(value) <= {TYPE, VALUE, ATTRS}


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` as comparable plain data that keeps what a caller can observe: builtin scalars, lists and
    str-keyed dicts as they are; every other container or scalar type as a :func:`tagged` value (type name with
    the Async prefix of mirror classes removed, payload, public non-callable instance attributes); objects as
    ``{"__type__": name, **fields}``."""
    if _depth > 40:
        return repr(value)
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else tagged("float", repr(value))
    if isinstance(value, Enum):
        return f"{kind.__name__}.{value.name}"
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalars and arrays keep their dtype
        name = "numpy.ndarray" if hasattr(value, "shape") and getattr(value, "ndim", 0) else f"numpy.{kind.__name__}"
        return tagged(name, plain(value.tolist(), _depth + 1), {"dtype": str(value.dtype)})
    if isinstance(value, (bytes, bytearray, memoryview)):
        return tagged(kind.__name__, bytes(value).hex())
    if isinstance(value, (int, float, str)):  # subclasses of the builtins (not Enum, not numpy)
        base = next(b for b in (bool, int, float, str) if isinstance(value, b))
        return tagged(_type_name(value), plain(base(value), _depth + 1), _attributes(value, _depth))
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):  # scipy sparse
        csr = value.tocsr()
        return tagged(_type_name(value), [[int(i), float(v)] for i, v in zip(csr.indices, csr.data)],
                      {"shape": list(csr.shape)})
    if isinstance(value, dict):
        payload = _dict_payload(value, _depth)
        if kind is dict:
            return payload if isinstance(payload, dict) else tagged("dict", payload)
        return tagged(_type_name(value), payload, _attributes(value, _depth))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v, _depth + 1) for v in value]  # iterate first: lazy containers materialise on iteration
        if isinstance(value, (set, frozenset)):
            items = sorted(items, key=repr)
        if kind is list:
            return items
        return tagged(_type_name(value), items, _attributes(value, _depth))
    if hasattr(value, "to_dict") and callable(value.to_dict):  # CollectionSchema, FieldSchema, Function, ...
        try:
            return {TYPE: _type_name(value), **plain(value.to_dict(), _depth + 1)}
        except Exception:  # noqa: BLE001 - some to_dict() need server state; fall through
            pass
    if hasattr(value, "DESCRIPTOR") and hasattr(value, "ListFields"):  # protobuf messages
        from google.protobuf.json_format import MessageToDict

        return {TYPE: type(value).__name__, **plain(MessageToDict(value), _depth + 1)}
    if _is_sequence(value):  # protobuf repeated fields and other sequences
        return tagged(_type_name(value), [plain(v, _depth + 1) for v in value])
    fields = _attributes(value, _depth, properties=True)
    if fields or getattr(value, "__dict__", None):
        return {TYPE: _type_name(value), **fields}
    return f"<{_type_name(value)}>"


def stored(value: Any) -> Any:
    """What ``value`` holds, without the types pymilvus wrapped it in: :func:`plain` data in which every tagged value
    is its payload (a row's ARRAY field read back as a protobuf ``RepeatedScalarContainer``, as pymilvus 3.0.0
    returns it, is the list that was written; a FLOAT_VECTOR element read back as ``numpy.float32``, as pymilvus
    2.5.x returns it, is the float; a dict's keys in sorted order). For checks of what the server stored, never for
    comparing the two clients, whose container types are part of what they return."""
    return _payloads(plain(value))


def _payloads(value: Any) -> Any:
    """Plain data with each tagged value replaced by its payload and dict keys sorted (see :func:`stored`)."""
    while is_tagged(value):
        value = value[VALUE]
    if isinstance(value, dict):  # keys in one order: Milvus Lite 2.5.1 returns a row's fields sorted by name
        return {k: _payloads(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_payloads(v) for v in value]
    return value


def _dict_payload(value: dict, depth: int) -> Any:
    """A dict's items: a str-keyed dict, or ``[[key, value], ...]`` when a key is not a str (sparse vectors)."""
    if all(type(k) is str for k in value):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    return [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in value.items()]


def _attributes(value: Any, depth: int, properties: bool = False) -> dict[str, Any]:
    """Public, non-callable instance attributes of ``value`` as plain data (and public properties of its class
    when ``properties``: objects such as DatabaseInfo expose their data that way)."""
    found = {k: v for k, v in getattr(value, "__dict__", {}).items() if not k.startswith("_") and not callable(v)}
    if properties:
        for cls in type(value).__mro__:
            for name, member in vars(cls).items():
                if isinstance(member, property) and not name.startswith("_") and name not in found:
                    try:
                        found[name] = getattr(value, name)
                    except Exception:  # noqa: BLE001 - a property that cannot be read is not observable data
                        continue
    return {k: plain(v, depth + 1) for k, v in sorted(found.items()) if not callable(v)}


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
    """A list of names without the names of other examples/sides (a shared server lists everyone's objects), in
    a canonical order: where the suite's per-side names occur, their order relative to other names depends on the
    names themselves, which differ between the sides. A list of strings without such names keeps its order."""
    prefixes = tuple(prefixes)
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and \
            any(re.search(PREFIX_RE, v) for v in value):
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
    # Python names the called function by its qualified name ("AsyncMilvusClient.close() got an unexpected
    # keyword argument", "BaseMilvusClient.get_server_type() ..."): the same refusal must read the same
    message = re.sub(r"\b(?:Async|Base)?MilvusClient\.(?=\w+\()", "MilvusClient.", message)
    return {"class": cls, "code": plain(code), "message": mask_text(message.strip(), prefixes)}
