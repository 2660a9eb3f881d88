"""What the server can do with data, measured: one cheap probe per type or feature against the live server at
session start, cached per server address for the session.

The typed collection (:mod:`conformance.typed`) and its strategies (:mod:`conformance.typed_strategies`) draw only
what the server supports; what it lacks is listed with the server's own answer as the reason (a report finding and
``conformance/test_data_traits.py``), never silently dropped. Each probe builds exactly the field and index the suite
uses later, so "supported" means "the suite's use of it works".
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

#: Features probed besides the vector types (``vector:<DataType>``, from conformance.typed.VECTORS).
FEATURES = ("varchar_pk", "nullable", "arrays", "text_match", "filter_templates", "function_rankers", "partitions",
            "partition_delete")


@dataclass
class Traits:
    """The measured data traits of one server: ``supported[name]`` and, for each unsupported one, why."""

    address: str
    supported: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the server supports trait ``name`` (unknown names: False)."""
        return self.supported.get(name, False)

    def missing(self) -> dict[str, str]:
        """Unsupported trait -> the reason (the server's answer to the probe)."""
        return {k: self.reasons.get(k, "") for k, ok in self.supported.items() if not ok}


_CACHE: dict[str, Traits] = {}
_CURRENT: list[Optional[Traits]] = [None]
_LOCK = threading.Lock()


def current() -> Optional[Traits]:
    """The traits of the server the session measured last (None before any measurement)."""
    return _CURRENT[0]


def measure(client: Any, address: str, timeout: float) -> Traits:
    """The data traits of the server at ``address`` (``client`` is a sync ``MilvusClient`` on it): measured on the
    first call for that address, then cached. The caller names the address: pymilvus releases keep it in
    different private attributes (3.x ``_config``, 2.6.x none), so the client cannot be asked."""
    key = address
    with _LOCK:
        traits = _CACHE.get(key)
        if traits is None:
            traits = _CACHE[key] = _probe_all(client, key, timeout)
        _CURRENT[0] = traits
        _apply(traits)
    return traits


def forget() -> None:
    """Drop every cached measurement (tests that restart a server)."""
    with _LOCK:
        _CACHE.clear()
        _CURRENT[0] = None
    from conformance import typed

    typed.use_traits(None)


def _apply(traits: Traits) -> None:
    """Let the standard strategies follow the measurement too (template filters only where the server parses them)."""
    from conformance import typed
    from conformance.world import FEATURES as STANDARD

    typed.use_traits(traits)
    if not traits.has("filter_templates"):
        STANDARD["filter_templates"] = False


def findings(traits: Optional[Traits] = None) -> list[dict[str, Any]]:
    """What the server lacks, as report findings (status ``unsupported``, the probe's answer as detail)."""
    traits = traits or current()
    if traits is None:
        return []
    return [{"name": f"data trait {name} left out", "status": "unsupported", "detail": why}
            for name, why in sorted(traits.missing().items())]


# ---------------------------------------------------------------- probes


def _collection(client: Any, timeout: float, fields: Callable[[Any], None],
                index: Optional[Callable[[Any], None]] = None, pk_varchar: bool = False) -> str:
    """Create and load a throwaway collection with a primary key, ``fields`` and (default) a FLOAT vector index."""
    from pymilvus import DataType

    from conformance import typed

    name = f"cfprobe_{uuid.uuid4().hex[:10]}"
    s = client.create_schema(auto_id=False, enable_dynamic_field=True)
    if pk_varchar:
        s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    else:
        s.add_field("pk", DataType.INT64, is_primary=True)
    fields(s)
    params = client.prepare_index_params()
    if index is None:
        typed.add_vector_field(s, typed.VECTORS[0])
        typed.add_vector_index(params, typed.VECTORS[0])
    else:
        index(params)
    client.create_collection(name, schema=s, index_params=params, consistency_level="Strong", timeout=timeout)
    return name


def _probe_vector(client: Any, timeout: float, v: Any) -> None:
    from conformance import typed

    name = _collection(client, timeout, lambda s: typed.add_vector_field(s, v),
                       index=lambda p: typed.add_vector_index(p, v))
    try:
        client.insert(name, [{"pk": i, v.field: v.value(i)} for i in range(3)], timeout=timeout)
        client.load_collection(name, timeout=timeout)
        hits = client.search(name, [v.value(1)], anns_field=v.field, limit=2, output_fields=[v.field],
                             search_params={"metric_type": v.metric}, timeout=timeout)
        _expect(len(hits) == 1 and len(hits[0]) >= 1, f"a {v.dtype} search found nothing")
    finally:
        client.drop_collection(name, timeout=timeout)


#: Features that live in the schema (the combined probe collection has all of them at once).
SCHEMA_FEATURES = ("varchar_pk", "nullable", "arrays", "text_match")


def _probe_scalars(client: Any, timeout: float, features: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """Create a collection with the schema ``features`` (plus an INT64 ``n``) and rows; returns its name and an
    example row key for each of them."""
    from pymilvus import DataType

    from conformance import typed

    def fields(s: Any) -> None:
        s.add_field("n", DataType.INT64)
        if "nullable" in features:
            for fname, (dtype, extra, _) in typed.NULLABLES.items():
                s.add_field(fname, getattr(DataType, dtype), nullable=True, **extra)
        if "arrays" in features:
            for fname, (elem, extra, _) in typed.ARRAYS.items():
                s.add_field(fname, DataType.ARRAY, element_type=getattr(DataType, elem),
                            max_capacity=typed.ARRAY_CAPACITY, **extra)
        if "text_match" in features:
            s.add_field(typed.TEXT, DataType.VARCHAR, max_length=64, enable_analyzer=True, enable_match=True)

    varchar = "varchar_pk" in features
    name = _collection(client, timeout, fields, pk_varchar=varchar)
    try:
        vec = typed.VECTORS[0]

        def make(i: int) -> dict[str, Any]:
            r: dict[str, Any] = {"pk": typed.pk(i) if varchar else i, vec.field: vec.value(i), "n": i}
            if "nullable" in features:
                r.update({k: None for k in typed.NULLABLES})
            if "arrays" in features:
                r.update({k: value(i) for k, (_, _, value) in typed.ARRAYS.items()})
            if "text_match" in features:
                r[typed.TEXT] = f"alpha word{i}"
            return r

        rows = [make(i) for i in range(4)]
        client.insert(name, rows, timeout=timeout)
        client.load_collection(name, timeout=timeout)
    except Exception:
        client.drop_collection(name, timeout=timeout)
        raise
    return name, {"key": (lambda i: typed.pk(i) if varchar else i), "row": make, "all": 'pk >= ""' if varchar else "pk >= 0"}


def _check_feature(client: Any, name: str, feature: str, timeout: float, info: dict[str, Any]) -> None:
    from pymilvus import Function, FunctionType

    from conformance import typed

    if feature == "nullable":
        got = client.query(name, filter=info["all"], output_fields=list(typed.NULLABLES), timeout=timeout)
        expected = {k: extra.get("default_value") for k, (_, extra, _) in typed.NULLABLES.items()}
        _expect(len(got) == 4 and all({k: r[k] for k in expected} == expected for r in got),
                f"None in nullable fields did not read back as their defaults: {got[:1]}")
    elif feature == "arrays":
        got = client.query(name, filter="n == 1", output_fields=list(typed.ARRAYS), timeout=timeout)
        _expect(len(got) == 1, "an array row did not read back")
    elif feature == "filter_templates":
        got = client.query(name, filter="n in {ns}", filter_params={"ns": [1, 2]}, output_fields=["n"],
                           timeout=timeout)
        _expect(sorted(r["n"] for r in got) == [1, 2], f"a template filter selected {got}")
    elif feature == "text_match":
        got = client.query(name, filter=f'text_match({typed.TEXT}, "word1")', output_fields=["pk"], timeout=timeout)
        _expect([r["pk"] for r in got] == [info["key"](1)], f"text_match selected {got}")
    elif feature == "function_rankers":
        vec = typed.VECTORS[0]
        ranker = Function(name="decay", input_field_names=["n"], function_type=FunctionType.RERANK,
                          params={"reranker": "decay", "function": "gauss", "origin": 0, "scale": 5})
        hits = client.search(name, [vec.value(1)], anns_field=vec.field, limit=2, ranker=ranker, timeout=timeout)
        _expect(len(hits[0]) >= 1, "a search with a decay function ranker found nothing")
    elif feature == "partitions":
        client.create_partition(name, "p1", timeout=timeout)
        client.insert(name, [info["row"](9)], partition_name="p1", timeout=timeout)
        got = client.query(name, filter=info["all"], output_fields=["n"], partition_names=["p1"], timeout=timeout)
        _expect([r["n"] for r in got] == [9], f"a query of one partition returned {got}")
    elif feature == "partition_delete":  # after "partitions": p1 holds one row, the default partition the rest
        before = len(client.query(name, filter=info["all"], output_fields=["n"], timeout=timeout))
        client.delete(name, filter=info["all"], partition_name="p1", timeout=timeout)
        left = len(client.query(name, filter=info["all"], output_fields=["n"], timeout=timeout))
        _expect(left == before - 1, f"a delete in one partition left {left} of {before} rows (expected "
                                    f"{before - 1}: the rows of the other partitions stay)")
    elif feature == "varchar_pk":
        got = client.get(name, ids=[info["key"](2)], output_fields=["pk"], timeout=timeout)
        _expect([r["pk"] for r in got] == [info["key"](2)], f"get by key returned {got}")


class _ProbeFailed(Exception):
    pass


def _expect(ok: bool, why: str) -> None:
    if not ok:
        raise _ProbeFailed(why)


def _refused(traits: Traits, names: tuple[str, ...], exc: BaseException) -> None:
    for name in names:
        traits.supported[name] = False
        traits.reasons[name] = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"[:300]


def _run(traits: Traits, name: str, probe: Callable[[], None]) -> None:
    try:
        probe()
        traits.supported[name] = True
    except Exception as exc:  # noqa: BLE001 - the server's answer is the measurement
        _refused(traits, (name,), exc)


def _probe_features(client: Any, timeout: float, traits: Traits, schema: tuple[str, ...],
                    checks: tuple[str, ...]) -> None:
    """Build one collection with the ``schema`` features and run each feature check in ``checks`` on it."""
    name, info = _probe_scalars(client, timeout, schema)
    try:
        for feature in checks:
            _run(traits, feature, lambda f=feature: _check_feature(client, name, f, timeout, info))
    finally:
        client.drop_collection(name, timeout=timeout)


def _probe_all(client: Any, address: str, timeout: float) -> Traits:
    from conformance import typed

    traits = Traits(address)
    for v in typed.VECTORS:
        _run(traits, v.trait, lambda v=v: _probe_vector(client, timeout, v))
    # one collection with every schema feature (the common case: all supported); if the server refuses it, one
    # collection per schema feature, so each gets its own answer
    try:
        _probe_features(client, timeout, traits, SCHEMA_FEATURES, FEATURES)
    except Exception:  # noqa: BLE001
        for feature in SCHEMA_FEATURES:
            try:
                _probe_features(client, timeout, traits, (feature,), (feature,))
            except Exception as exc:  # noqa: BLE001 - the collection itself was refused
                _refused(traits, (feature,), exc)
        rest = tuple(f for f in FEATURES if f not in SCHEMA_FEATURES)
        try:
            _probe_features(client, timeout, traits, (), rest)
        except Exception as exc:  # noqa: BLE001
            _refused(traits, rest, exc)
    return traits
