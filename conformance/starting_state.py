"""The standard starting state a conformance example runs on, built through a sync ``MilvusClient``.

A collection ``coll`` (most scalar types, a dense and a sparse vector, dynamic fields, rows, index, loaded) and
the other objects a call may need (partition, alias, database, user, role, privilege group, resource group), each
under the calling side's name prefix; and the cleanup that drops them again.

This module is part of the reproducer kit (:mod:`conformance.reproducer`): it imports only the standard library
and pymilvus, and the kit's other modules only relatively, so a reproducer script builds its starting state with
this very code, outside the harness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

PASSWORD = "Passw0rd!"
DIM = 4
ROWS = 24
#: Server features the standard collection and the strategies use; switched off when the server refuses them
#: (``nullable`` on the first refusal, the others by :func:`conformance.servers.adopt`).
FEATURES = {"nullable": True, "filter_templates": True, "sparse_vectors": True, "search_iterator": True}
#: What a side's name prefix looks like (:func:`conformance.world.new_namespaces` makes them): ``cf<run>x<n>s_``.
PREFIX_RE = r"cf[0-9a-f]+x[0-9a-f]+[sa]_"
#: The needs (``conformance.registry.Need`` values) built here; others have a builder of their own.
STANDARD_NEEDS = frozenset({"collection", "bare", "partition", "alias", "database", "user", "role",
                            "privilege_group", "resource_group"})
WORDS = ("alpha", "beta", "gamma", "delta", "random", "text")


@dataclass(frozen=True)
class Ref:
    """A named object of the starting state (collection, partition, alias, ...), resolved per side."""

    name: str

    def __repr__(self) -> str:
        return f"Ref({self.name!r})"


def resolve_refs(value: Any, name: Callable[[str], str], leaf: Callable[[Any], Any] = lambda v: v) -> Any:
    """``value`` with every :class:`Ref` (also inside plain dicts, lists and tuples) replaced by ``name(ref)`` and
    every other leaf by ``leaf(value)``; exact container types only, so pymilvus objects that subclass list
    (IndexParams) reach the call as they are."""
    if isinstance(value, Ref):
        return name(value.name)
    if type(value) is dict:
        return {k: resolve_refs(v, name, leaf) for k, v in value.items()}
    if type(value) is list:
        return [resolve_refs(v, name, leaf) for v in value]
    if type(value) is tuple:
        return tuple(resolve_refs(v, name, leaf) for v in value)
    return leaf(value)


def standard_schema(client: Any) -> Any:
    """The schema of ``coll``: one field of most scalar types, a dense and a sparse vector, dynamic fields."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=True, description="conformance")
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    if FEATURES["sparse_vectors"]:
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("text", DataType.VARCHAR, max_length=64)
    schema.add_field("num", DataType.INT32)
    schema.add_field("score", DataType.DOUBLE)
    schema.add_field("flag", DataType.BOOL)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    if FEATURES["nullable"]:
        schema.add_field("opt", DataType.INT64, nullable=True, default_value=7)
    # else: rows' "opt" lands in the dynamic field (a non-nullable INT64 given None kills Lite 2.5.1)
    return schema


def standard_index(client: Any) -> Any:
    """Index params for ``coll``: AUTOINDEX/L2 on ``vec``, SPARSE_INVERTED_INDEX/IP on ``sparse``."""
    params = client.prepare_index_params()
    params.add_index("vec", index_type="AUTOINDEX", metric_type="L2", index_name="vec_idx")
    if FEATURES["sparse_vectors"]:
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP", index_name="sparse_idx")
    return params


def standard_row(i: int) -> dict[str, Any]:
    """Row ``i`` of ``coll``: deterministic, with distinct vector distances to the standard queries."""
    return without_absent_fields({
        "id": i,
        "vec": [float((i * 7) % 11) / 11.0, float((i * 3) % 5) / 5.0, float(i) / ROWS, 1.0 - float(i) / ROWS],
        "sparse": {int(i % 9): 1.0 + i / 10.0, int(10 + i % 5): 0.5},
        "text": f"{WORDS[i % len(WORDS)]} {WORDS[(i * 5) % len(WORDS)]} {i}",
        "num": int((i * 37) % 50 - 25),
        "score": i / 3.0,
        "flag": i % 3 == 0,
        "meta": {"k": i % 4, "name": WORDS[i % 3], "nested": {"v": i}},
        "tags": [i % 5, (i + 1) % 5][: 1 + i % 2],
        "opt": None if i % 4 == 0 and FEATURES["nullable"] else i,
        "extra": f"dyn{i % 3}",
    })


def without_absent_fields(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without the fields the standard schema leaves out on this server (no sparse vectors on Milvus 2.3)."""
    return row if FEATURES["sparse_vectors"] else {k: v for k, v in row.items() if k != "sparse"}


def standard_rows(start: int = 0, count: int = ROWS) -> list[dict[str, Any]]:
    """Rows ``start .. start+count-1`` of ``coll``."""
    return [standard_row(i) for i in range(start, start + count)]


def build_standard(client: Any, name: Callable[[str], str], needs: Iterable[str], timeout: Any) -> None:
    """Create the standard objects ``needs`` names (need values; others are left to their own builders) through
    the sync ``client``; ``name(ref)`` is this side's name of an object."""
    needs = {getattr(n, "value", n) for n in needs}
    t = {"timeout": timeout}
    coll = name("coll")
    if needs & {"collection", "partition", "alias"}:
        client.create_collection(coll, schema=standard_schema(client), index_params=standard_index(client),
                                 consistency_level="Strong", **t)
        if "partition" in needs:
            client.create_partition(coll, name("part"), **t)
            client.insert(coll, standard_rows(ROWS, 6), partition_name=name("part"), **t)
        client.insert(coll, standard_rows(), **t)
        client.load_collection(coll, **t)
    elif "bare" in needs:
        client.create_collection(coll, schema=standard_schema(client), consistency_level="Strong", **t)
    creates = (("alias", "create_alias", (coll, name("alias"))), ("database", "create_database", (name("db"),)),
               ("user", "create_user", (name("user"), PASSWORD)), ("role", "create_role", (name("role"),)),
               ("privilege_group", "create_privilege_group", (name("pgroup"),)),
               ("resource_group", "create_resource_group", (name("rgroup"),)))
    for need, method, args in creates:
        if need in needs:
            getattr(client, method)(*args, **t)


def with_nullable_fallback(make: Callable[[], None], client: Any, prefix: str, timeout: Any) -> None:
    """Run ``make``; where the server refuses nullable fields (Milvus Lite 2.5), drop what it built, switch
    nullable fields off (:data:`FEATURES`) and run it again."""
    try:
        make()
    except Exception as exc:  # noqa: BLE001
        if not FEATURES["nullable"] or "nullable" not in str(exc):
            raise
        cleanup(client, [prefix], timeout)
        FEATURES["nullable"] = False
        make()


def _quietly(action: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return action(*args, **kwargs)
    except Exception:  # noqa: BLE001 - cleanup of objects that may not exist (or a server without the feature)
        return None


def cleanup(client: Any, prefixes: Iterable[str], timeout: Any) -> None:
    """Drop every object whose name contains one of ``prefixes`` (best effort, never raises; pymilvus' own
    error log is silenced meanwhile: calls failing here are expected, e.g. on a server without RBAC)."""
    import logging

    prefixes = tuple(set(prefixes))

    def ours(name: Any) -> bool:
        return any(p in str(name) for p in prefixes)

    log = logging.getLogger("pymilvus")
    level = log.level
    log.setLevel(logging.CRITICAL)
    t = {"timeout": timeout}
    try:
        for name in filter(ours, _quietly(client.list_collections, **t) or []):
            listed = _quietly(client.list_aliases, name, **t)
            for alias in listed.get("aliases", []) if isinstance(listed, dict) else []:
                _quietly(client.drop_alias, alias, **t)
            _quietly(client.drop_collection, name, **t)
        for name in filter(ours, _quietly(client.list_databases, **t) or []):
            _quietly(client.drop_database, name, **t)
        for name in filter(ours, _quietly(client.list_users, **t) or []):
            _quietly(client.drop_user, name, **t)
        for name in filter(ours, _quietly(client.list_roles, **t) or []):
            _quietly(client.drop_role, name, force_drop=True, **t)
        for group in _quietly(client.list_privilege_groups, **t) or []:
            name = group.get("privilege_group", "") if isinstance(group, dict) else str(group)
            if ours(name):
                _quietly(client.drop_privilege_group, name, **t)
        for name in filter(ours, _quietly(client.list_resource_groups, **t) or []):
            _quietly(client.drop_resource_group, name, **t)
    finally:
        log.setLevel(level)
