"""Which server family a connection reaches, and what each family lacks.

The family key (``lite3``, ``lite25``, ``standalone`` or ``milvus``) selects registry entries: unsupported methods
(``conformance/specs/support.py``), known divergences, and the traits below. Traits are measured, not assumed; each
names what goes wrong when the suite ignores it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from conformance.registry import Need

_LITE25_NO_RPC = "Milvus Lite 2.5 answers UNIMPLEMENTED to {call}"

#: family -> {starting-state piece: why the server cannot build it}. A spec that needs one is "unsupported" there.
LACKING_NEEDS: dict[str, dict[Need, str]] = {
    "standalone": {Need.PRIVILEGE_GROUP: "Milvus 2.3 standalone answers UNIMPLEMENTED to create_privilege_group"},
    "lite25": {
        Need.PARTITION: _LITE25_NO_RPC.format(call="create_partition"),
        Need.ALIAS: _LITE25_NO_RPC.format(call="create_alias"),
        Need.DATABASE: _LITE25_NO_RPC.format(call="create_database"),
        Need.USER: _LITE25_NO_RPC.format(call="create_user"),
        Need.ROLE: _LITE25_NO_RPC.format(call="create_role"),
        Need.PRIVILEGE_GROUP: _LITE25_NO_RPC.format(call="create_privilege_group"),
        Need.RESOURCE_GROUP: _LITE25_NO_RPC.format(call="create_resource_group"),
    },
}

#: family -> {feature of the generated calls: why the strategies leave it out there}.
LACKING_FEATURES: dict[str, dict[str, str]] = {
    "standalone": {
        "sparse_vectors": "Milvus 2.3 (the PyPI 'milvus' package) has no SPARSE_FLOAT_VECTOR ('create index on 104 "
                          "field is not supported'): the standard collection has no sparse field there",
        "nullable": "Milvus 2.3 accepts nullable=True in a schema but drops None values from the column, then "
                    "rejects the insert ('the num_rows (18) of field (opt) is not equal to passed num_rows (24)')",
    },
    "lite25": {
        "filter_templates": "Milvus Lite 2.5.1 does not parse template expressions (filter_params): comparisons "
                            "fail with 'unsupported right datatype: JSON' and `text like {w}` kills the server "
                            "(SIGSEGV), which would end the run for every later method",
        "search_iterator": "Milvus Lite 2.5.1 gives MilvusClient.search_iterator no MVCC timestamp, so pymilvus "
                           "pages through its client-side fallback: minutes per Hypothesis example, which would "
                           "take the whole run's time; the iterator comparison runs on Milvus Lite 3 and servers",
    },
}


#: family -> {crash: what kills the server}. The suite never makes these calls there; each has a trigger
#: (:data:`CRASH_TRIGGERS`) that conformance/test_server_traits.py sets off on a throwaway server, so a fix is noticed.
CRASHES: dict[str, dict[str, str]] = {
    "lite25": {
        "template_like_filter": "query(filter='text like {w}', filter_params={'w': ...}) ends the server (SIGSEGV)",
        "null_into_non_nullable": "insert of a row with None for a non-nullable INT64 field ends the server "
                                  "(both clients send it); the standard schema there leaves that field dynamic",
    },
}


def _template_like_filter(client: Any, timeout: float) -> Callable[[], Any]:
    from conformance.world import build, new_namespaces

    ns, _ = new_namespaces(shared=True)
    build(client, ns, (Need.COLLECTION,), timeout)
    coll = ns.name("coll")
    if not client.query(coll, filter='text like "alpha%"', timeout=timeout):
        raise RuntimeError("the plain like filter found no row: the trigger's collection is not as built")
    return lambda: client.query(coll, filter="text like {w}", filter_params={"w": "alpha%"}, timeout=timeout)


def _null_into_non_nullable(client: Any, timeout: float) -> Callable[[], Any]:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    schema.add_field("n", DataType.INT64)
    client.create_collection("crash_null", schema=schema, timeout=timeout)
    client.insert("crash_null", [{"id": 1, "vec": [0.1, 0.2], "n": 1}], timeout=timeout)  # a full row is fine
    return lambda: client.insert("crash_null", [{"id": 2, "vec": [0.1, 0.2], "n": None}], timeout=timeout)


#: crash -> ``trigger(client, timeout)``: prepares a fresh server through the sync ``client`` and returns the call
#: that kills it (everything before that call must work).
CRASH_TRIGGERS: dict[str, Callable[[Any, float], Callable[[], Any]]] = {
    "template_like_filter": _template_like_filter,
    "null_into_non_nullable": _null_into_non_nullable,
}


def server_family(conn: Any) -> str:
    """``lite3``, ``lite25``, ``standalone`` or ``milvus`` for a remote server: the key registries use."""
    info = getattr(conn, "embedded", None)
    if info is None:
        return _family_from_version(conn)
    if "standalone" in str(info.engine):
        return "standalone"
    parts = str(info.backend_version).split(".")
    if parts[0] == "2" and len(parts) > 1:
        return f"lite2{parts[1]}"
    return f"lite{parts[0]}"


def _family_from_version(conn: Any) -> str:
    """A URI target's family from the server's own version string (``milvus_lite-3.2.2`` -> ``lite3``)."""
    try:
        client = conn.sync_client()
        try:
            version = str(client.get_server_version(timeout=min(getattr(conn, "timeout", 10.0), 10.0)))
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - a server that cannot say (Lite 2.5 lacks GetVersion) is "milvus"
        return "milvus"
    if version.startswith("milvus_lite-"):
        return "lite" + version.split("-", 1)[1].split(".")[0]
    if version.endswith("-lite"):  # the PyPI 'milvus' package's embedded standalone: v2.3.5-lite
        return "standalone"
    return "milvus"


def lacking_need(family: str, needs: Iterable[Need]) -> Optional[str]:
    """Why ``family`` cannot build one of ``needs`` (None when it can build them all)."""
    lacking = LACKING_NEEDS.get(family, {})
    for need in needs:
        if need in lacking:
            return f"needs a {need.value}: {lacking[need]}"
    return None


def adopt(family: str) -> None:
    """Switch off, for this process, the generated-call features ``family`` lacks."""
    from conformance.world import FEATURES

    for feature in LACKING_FEATURES.get(family, {}):
        FEATURES[feature] = False


def trait_findings(family: str) -> list[dict[str, Any]]:
    """What ``family`` lacks, as report findings (so a left-out feature is visible, never silently skipped)."""
    found = [{"name": f"{family}: {feature} left out", "status": "unsupported", "detail": why}
             for feature, why in LACKING_FEATURES.get(family, {}).items()]
    found += [{"name": f"{family}: methods needing a {need.value}", "status": "unsupported", "detail": why}
              for need, why in LACKING_NEEDS.get(family, {}).items()]
    found += [{"name": f"{family}: server crash ({crash})", "status": "finding", "detail": what}
              for crash, what in CRASHES.get(family, {}).items()]
    from conformance import data_traits

    return found + data_traits.findings()
