"""What a target supports: server version, index types, sparse vectors, hybrid search, text match, RBAC, databases.

Later steps read :class:`Capabilities` to skip what a server cannot do ("unsupported") instead of failing it.
The probe works on a scratch collection it creates and drops; every call has a timeout.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from scenarios.errors import client_error_text as error_text
from scenarios.targets import Connection

DENSE_INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW", "DISKANN", "SCANN", "AUTOINDEX")
SPARSE_INDEX_TYPES = ("SPARSE_INVERTED_INDEX", "SPARSE_WAND", "AUTOINDEX")
SCALAR_INDEX_TYPES = ("INVERTED", "STL_SORT", "TRIE", "BITMAP", "AUTOINDEX")
_INDEX_PARAMS: dict[str, dict[str, Any]] = {
    "IVF_FLAT": {"nlist": 8}, "IVF_SQ8": {"nlist": 8}, "IVF_PQ": {"nlist": 8, "m": 2, "nbits": 8},
    "HNSW": {"M": 8, "efConstruction": 32}, "SCANN": {"nlist": 8},
}


@dataclass
class Capabilities:
    """What the probe found. ``None`` means the probe could not tell."""

    server_version: str = "unknown"
    dense_index_types: list[str] = field(default_factory=list)
    sparse_index_types: list[str] = field(default_factory=list)
    scalar_index_types: list[str] = field(default_factory=list)
    sparse_vectors: bool | None = None
    hybrid_search: bool | None = None
    text_match: bool | None = None
    databases: bool | None = None
    rbac: bool | None = None
    resource_groups: bool | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for result files."""
        return asdict(self)


def _attempt(caps: Capabilities, key: str, action: Callable[[], Any]) -> bool:
    try:
        action()
        return True
    except Exception as exc:  # noqa: BLE001 - a refusal is the answer the probe is after
        caps.errors[key] = error_text(exc)
        return False



def probe(conn: Connection, timeout: float = 10.0) -> Capabilities:
    """Probe the server behind ``conn``; never raises for an unsupported feature, only records it."""
    from pymilvus import AnnSearchRequest, DataType, RRFRanker

    caps = Capabilities()
    client = conn.sync_client()
    name = f"_vdbh_probe_{uuid.uuid4().hex[:10]}"
    try:
        version: list[str] = []
        if _attempt(caps, "server_version", lambda: version.append(client.get_server_version(timeout=timeout))):
            caps.server_version = str(version[0])
        caps.databases = _attempt(caps, "databases", lambda: client.list_databases(timeout=timeout))
        caps.rbac = _attempt(caps, "rbac", lambda: client.list_roles(timeout=timeout))
        caps.resource_groups = _attempt(caps, "resource_groups", lambda: client.list_resource_groups(timeout=timeout))

        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=4)
        schema.add_field("tag", DataType.VARCHAR, max_length=64, enable_analyzer=True, enable_match=True)
        caps.text_match = None
        with_sparse = _attempt(caps, "sparse_schema", lambda: schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR))
        if not _attempt(caps, "create_collection", lambda: client.create_collection(name, schema=schema,
                                                                                     timeout=timeout)):
            return caps
        caps.dense_index_types = _index_types(client, caps, name, "dense", DENSE_INDEX_TYPES, "L2", timeout)
        caps.scalar_index_types = _index_types(client, caps, name, "tag", SCALAR_INDEX_TYPES, None, timeout)
        if with_sparse:
            caps.sparse_index_types = _index_types(client, caps, name, "sparse", SPARSE_INDEX_TYPES, "IP", timeout)
        caps.sparse_vectors = bool(caps.sparse_index_types)
        _index(client, name, "dense", "FLAT", "L2", timeout)
        if caps.sparse_vectors:
            _index(client, name, "sparse", caps.sparse_index_types[0], "IP", timeout)
        if not _attempt(caps, "load", lambda: client.load_collection(name, timeout=timeout)):
            return caps
        rows = [{"id": i, "dense": [float(i), 1.0, 0.0, 0.0], "tag": f"word{i} common", "sparse": {i: 1.0, 99: 0.5}}
                for i in range(8)]
        if not caps.sparse_vectors:
            rows = [{k: v for k, v in r.items() if k != "sparse"} for r in rows]
        _attempt(caps, "insert", lambda: client.insert(name, rows, timeout=timeout))
        if caps.sparse_vectors:
            reqs = [AnnSearchRequest(data=[[1.0, 0.0, 0.0, 0.0]], anns_field="dense", param={}, limit=3),
                    AnnSearchRequest(data=[{1: 1.0}], anns_field="sparse", param={}, limit=3)]
            caps.hybrid_search = _attempt(caps, "hybrid_search", lambda: client.hybrid_search(
                name, reqs, RRFRanker(), limit=3, timeout=timeout))
        caps.text_match = _attempt(caps, "text_match", lambda: client.query(
            name, filter="TEXT_MATCH(tag, 'common')", limit=3, timeout=timeout))
    finally:
        try:
            client.drop_collection(name, timeout=timeout)
        except Exception:  # noqa: BLE001 - the scratch collection may not exist
            pass
        client.close()
    return caps


def _index(client: Any, name: str, field_name: str, index_type: str, metric: str | None, timeout: float) -> None:
    params = client.prepare_index_params()
    kwargs: dict[str, Any] = {"field_name": field_name, "index_type": index_type,
                              "params": dict(_INDEX_PARAMS.get(index_type, {}))}
    if metric:
        kwargs["metric_type"] = metric
    params.add_index(**kwargs)
    client.create_index(name, params, timeout=timeout)


def _index_types(client: Any, caps: Capabilities, name: str, field_name: str, candidates: tuple[str, ...],
                 metric: str | None, timeout: float) -> list[str]:
    supported = []
    for index_type in candidates:
        def create_and_drop() -> None:
            _index(client, name, field_name, index_type, metric, timeout)
            client.release_collection(name, timeout=timeout)  # some servers load on create; drop needs released
            for existing in client.list_indexes(name, field_name=field_name, timeout=timeout):
                client.drop_index(name, existing, timeout=timeout)

        if _attempt(caps, f"index:{field_name}:{index_type}", create_and_drop):
            supported.append(index_type)
    return supported
