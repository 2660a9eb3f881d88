"""Twin starting states: the same objects built the same way, once per client side, under distinct names.

Specs name objects with :class:`Ref` placeholders (``Ref("coll")``); each side resolves them in its own
:class:`Namespace` (``cf3a_s_coll`` for the sync side, ``cf3a_a_coll`` for the async one), and normalisation
masks the prefix so the two results compare equal when the clients behave the same.
"""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from conformance.registry import Need

PASSWORD = "Passw0rd!"
DIM = 4
ROWS = 24
_COUNTER = itertools.count(1)
#: Server features the standard collection and the strategies use; switched off when the server refuses them
#: (``nullable`` on the first refusal, the others by :func:`conformance.servers.adopt`).
FEATURES = {"nullable": True, "filter_templates": True, "sparse_vectors": True, "search_iterator": True}

#: Needs whose objects a module of their own builds (``builder(client, ns, timeout)``), registered by that module
#: when it is imported (conformance.typed registers Need.TYPED): this module stays below them in the import graph.
BUILDERS: dict[Need, Callable[[Any, "Namespace", Any], None]] = {}
#: The needs that must have a registered builder.
OWN_BUILDER = frozenset({Need.TYPED})
_RUN = uuid.uuid4().hex[:4]
PREFIX_RE = r"cf[0-9a-f]+x[0-9a-f]+[sa]_"


@dataclass(frozen=True)
class Ref:
    """A named object of the starting state (collection, partition, alias, ...), resolved per side."""

    name: str

    def __repr__(self) -> str:
        return f"Ref({self.name!r})"


@dataclass(frozen=True)
class Named:
    """A name made from this side's prefix by a template (``"1{p}x"``), for invalid names that must still be
    distinct per side (a server that wrongly accepts one must not make the other side collide with it)."""

    template: str

    def __repr__(self) -> str:
        return f"Named({self.template!r})"


@dataclass(frozen=True)
class Namespace:
    """The concrete names one side uses: ``prefix + ref name``."""

    prefix: str

    def name(self, ref: str) -> str:
        """The concrete object name of ``ref`` on this side."""
        return f"{self.prefix}{ref}"

    def resolve(self, value: Any) -> Any:
        """``value`` with every :class:`Ref` (also inside dicts, lists, tuples) replaced by its concrete name."""
        if isinstance(value, Ref):
            return self.name(value.name)
        if isinstance(value, Named):
            return value.template.format(p=self.prefix)
        if isinstance(value, Lazy):
            return self.resolve(value.factory())
        # exact types only: pymilvus objects that subclass list (IndexParams) must reach the call as they are
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        if type(value) is list:
            return [self.resolve(v) for v in value]
        if type(value) is tuple:
            return tuple(self.resolve(v) for v in value)
        return value


def new_namespaces(shared: bool = False) -> tuple[Namespace, Namespace]:
    """A fresh (sync, async) namespace pair; ``shared`` gives both sides the same one (read-only calls)."""
    n = next(_COUNTER)
    stem = f"cf{_RUN}{os.getpid() % 4096:x}x{n:x}"
    sync = Namespace(f"{stem}s_")
    return (sync, sync) if shared else (sync, Namespace(f"{stem}a_"))


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


WORDS = ("alpha", "beta", "gamma", "delta", "random", "text")


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


def build(client: Any, ns: Namespace, needs: Iterable[Need], timeout: float) -> None:
    """Create the objects ``needs`` names, in ``ns``, through the sync ``client`` (without nullable fields on a
    server that refuses them, such as Milvus Lite 2.5)."""
    try:
        _build(client, ns, needs, timeout)
    except Exception as exc:  # noqa: BLE001
        if not FEATURES["nullable"] or "nullable" not in str(exc):
            raise
        cleanup(client, [ns.prefix], timeout)
        FEATURES["nullable"] = False
        _build(client, ns, needs, timeout)


def _build(client: Any, ns: Namespace, needs: Iterable[Need], timeout: float) -> None:
    needs = set(needs)
    t = {"timeout": timeout}
    coll = ns.name("coll")
    if Need.COLLECTION in needs or Need.PARTITION in needs or Need.ALIAS in needs:
        client.create_collection(coll, schema=standard_schema(client), index_params=standard_index(client),
                                 consistency_level="Strong", **t)
        if Need.PARTITION in needs:
            client.create_partition(coll, ns.name("part"), **t)
            client.insert(coll, standard_rows(ROWS, 6), partition_name=ns.name("part"), **t)
        client.insert(coll, standard_rows(), **t)
        client.load_collection(coll, **t)
    elif Need.BARE_COLLECTION in needs:
        client.create_collection(coll, schema=standard_schema(client), consistency_level="Strong", **t)
    for need in sorted(needs & set(BUILDERS), key=lambda n: n.name):
        BUILDERS[need](client, ns, timeout)
    missing = needs & OWN_BUILDER - set(BUILDERS)
    if missing:
        raise RuntimeError(f"no builder registered for {sorted(n.name for n in missing)} (import the module that "
                           "defines the collection, e.g. conformance.typed)")
    if Need.ALIAS in needs:
        client.create_alias(coll, ns.name("alias"), **t)
    if Need.DATABASE in needs:
        client.create_database(ns.name("db"), **t)
    if Need.USER in needs:
        client.create_user(ns.name("user"), PASSWORD, **t)
    if Need.ROLE in needs:
        client.create_role(ns.name("role"), **t)
    if Need.PRIVILEGE_GROUP in needs:
        client.create_privilege_group(ns.name("pgroup"), **t)
    if Need.RESOURCE_GROUP in needs:
        client.create_resource_group(ns.name("rgroup"), **t)


def _quietly(action: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return action(*args, **kwargs)
    except Exception:  # noqa: BLE001 - cleanup of objects that may not exist (or a server without the feature)
        return None


def cleanup(client: Any, prefixes: Iterable[str], timeout: float) -> None:
    """Drop every object whose name starts with one of ``prefixes`` (best effort, never raises)."""
    prefixes = tuple(set(prefixes))
    t = {"timeout": timeout}
    for name in _quietly(client.list_collections, **t) or []:
        if any(p in name for p in prefixes):
            listed = _quietly(client.list_aliases, name, **t)
            aliases = listed.get("aliases", []) if isinstance(listed, dict) else []
            for alias in aliases:
                _quietly(client.drop_alias, alias, **t)
            _quietly(client.drop_collection, name, **t)
    for db in _quietly(client.list_databases, **t) or []:
        if any(p in db for p in prefixes):
            _quietly(client.drop_database, db, **t)
    for user in _quietly(client.list_users, **t) or []:
        if any(p in user for p in prefixes):
            _quietly(client.drop_user, user, **t)
    for role in _quietly(client.list_roles, **t) or []:
        if any(p in str(role) for p in prefixes):
            _quietly(client.drop_role, role, force_drop=True, **t)
    for group in _quietly(client.list_privilege_groups, **t) or []:
        name = group.get("privilege_group", "") if isinstance(group, dict) else str(group)
        if any(p in name for p in prefixes):
            _quietly(client.drop_privilege_group, name, **t)
    for rg in _quietly(client.list_resource_groups, **t) or []:
        if any(p in str(rg) for p in prefixes):
            _quietly(client.drop_resource_group, rg, timeout=timeout)


class Lazy:
    """An argument object built fresh for each side (a schema, index params, search requests), so one client
    cannot see what the other did to it. ``source`` is the Python expression a reproducer prints."""

    def __init__(self, factory: Any, source: str) -> None:
        self.factory = factory
        self.source = source

    def __repr__(self) -> str:
        return self.source

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lazy) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)
