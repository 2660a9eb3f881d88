"""What the harness looks at after a call: the probe calls that show the call's side effects on the server (by
the starting state the call needed and by its category), and on the calling client itself.

Part of the reproducer kit (:mod:`conformance.reproducer`): standard library only, the kit's modules imported
relatively, so a reproducer script probes exactly as the suite does.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from .starting_state import Ref

ProbeCall = tuple[str, dict[str, Any]]
C = Ref("coll")
#: What a collection-scoped call can change: its schema, partitions, indexes, load state and row count.
COLLECTION_PROBES: list[ProbeCall] = [
    ("describe_collection", {"collection_name": C}),
    ("list_partitions", {"collection_name": C}),
    ("list_indexes", {"collection_name": C}),
    ("get_load_state", {"collection_name": C}),
    ("query", {"collection_name": C, "filter": "", "output_fields": ["count(*)"]}),
]
#: Objects any call may create or drop by name (in the default database): listed after every call.
GLOBAL_PROBES: list[ProbeCall] = [("list_collections", {}), ("list_databases", {})]
#: What each piece of the standard starting state can be changed through (by need value): the probes of a spec
#: follow from its needs.
NEED_PROBES: dict[str, list[ProbeCall]] = {
    "collection": COLLECTION_PROBES,
    "bare": COLLECTION_PROBES,
    "partition": COLLECTION_PROBES + [("has_partition", {"collection_name": C, "partition_name": Ref("part")})],
    "alias": COLLECTION_PROBES + [("list_aliases", {"collection_name": C})],
    "database": [("describe_database", {"db_name": Ref("db")})],
    "user": [("list_users", {}), ("describe_user", {"user_name": Ref("user")})],
    "role": [("list_roles", {}), ("describe_role", {"role_name": Ref("role")})],
    "privilege_group": [("list_privilege_groups", {})],
    "resource_group": [("list_resource_groups", {})],
}
#: What a method of a category can create or drop without needing it first (a create_user needs no user).
CATEGORY_PROBES: dict[str, list[ProbeCall]] = {
    "rbac": [("list_users", {}), ("list_roles", {}), ("list_privilege_groups", {})],
    "resource_group": [("list_resource_groups", {})],
    "file_resource": [("list_file_resources", {})],
}
#: What a write to ``coll`` is read back with: every row, and the collection's statistics.
READ_BACK: list[ProbeCall] = [
    ("query", {"collection_name": C, "filter": "id >= 0", "output_fields": ["*"], "limit": 200}),
    ("get_collection_stats", {"collection_name": C}),
]
#: Method probe lists that several methods share, by name (a reproducer names one instead of writing it out).
SHARED_PROBES: dict[str, list[ProbeCall]] = {"read_back": READ_BACK}
#: Through the client that made the call: where its next call lands (``use_database`` / ``using_database`` move
#: it; a closed client refuses). Compared like every other probe, so a client that switched database wrongly, or
#: broke, diverges.
CLIENT_PROBES: list[ProbeCall] = [("list_collections", {})]


def unique(calls: Iterable[ProbeCall]) -> list[ProbeCall]:
    """``calls`` in order, each once."""
    seen: set[str] = set()
    out = []
    for call in calls:
        key = repr(call)
        if key not in seen:
            seen.add(key)
            out.append(call)
    return out


def probe_calls(own: Iterable[ProbeCall], needs: Iterable[str], category: str,
                need_probes: Optional[Mapping[str, list[ProbeCall]]] = None) -> list[ProbeCall]:
    """The probes after a call (arguments with :class:`Ref` placeholders): the method's ``own`` probes, then what
    its ``needs`` (need values) and its ``category`` say it can touch, then the global listings.
    ``need_probes`` adds the probes of needs outside the standard starting state."""
    table = {**NEED_PROBES, **(need_probes or {})}
    calls = list(own)
    for need in needs:
        calls += table.get(getattr(need, "value", need), [])
    calls += CATEGORY_PROBES.get(category, [])
    return unique(calls + GLOBAL_PROBES)


def shared_client_probes() -> list[ProbeCall]:
    """The :data:`CLIENT_PROBES` both installed client classes have: a probe one side lacks (pymilvus 2.5.x's
    AsyncMilvusClient has no list_collections) would report its AttributeError as a divergence of every method."""
    from pymilvus import AsyncMilvusClient, MilvusClient

    return [(m, k) for m, k in CLIENT_PROBES if hasattr(MilvusClient, m) and hasattr(AsyncMilvusClient, m)]
