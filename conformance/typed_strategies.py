"""Hypothesis strategies for data calls on the typed collection (:mod:`conformance.typed`): rows of every supported
type, and insert / upsert / get / query / search / delete / hybrid_search calls through partitions, filter templates,
JSON / array / text-match filters, grouping, range search, rankers (function rankers included), offsets and
``output_fields`` with ``*`` and dynamic keys.

Every choice that depends on the server reads the measured data traits (:mod:`conformance.data_traits`) at draw
time: an unsupported type or feature is never drawn (the traits list it with the server's reason).
"""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import strategies as st

from conformance import typed
from conformance.typed import TPART, T
from conformance.world import Lazy


def has(trait: str) -> bool:
    """Whether the measured server supports ``trait`` (False before any measurement)."""
    from conformance import data_traits

    traits = data_traits.current()
    return traits is not None and traits.has(trait)


_BUILT: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {}


def cached(key: Any, factory: Callable[[], st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``factory()``, built once per ``key`` and measured server (strategies rebuilt at every draw would cost
    Hypothesis its caches and time)."""
    from conformance import data_traits

    full = (key, id(data_traits.current()))
    if full not in _BUILT:
        _BUILT[full] = factory()
    return _BUILT[full]


def deferred(factory: Callable[[], st.SearchStrategy[Any]], key: Any = None) -> st.SearchStrategy[Any]:
    """``factory()``'s strategy, decided at draw time (the traits are measured after the specs are imported);
    with a ``key``, built once per key and measured server."""
    if key is None:
        return st.just(None).flatmap(lambda _: factory())
    return st.just(None).flatmap(lambda _: cached(key, factory))


# ---------------------------------------------------------------- values per type

_I = {"INT8": (-128, 127), "INT16": (-32768, 32767), "INT32": (-2 ** 31, 2 ** 31 - 1), "INT64": (-2 ** 63, 2 ** 63 - 1)}
_eighths = st.integers(-16, 16).map(lambda n: n / 8.0)  # exact in float16 / bfloat16 / float32
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 53, 2 ** 53), st.floats(allow_nan=False,
                       allow_infinity=False), st.text("abc xyz_é", max_size=8))
json_values = st.recursive(_json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(st.text("abkz", min_size=1, max_size=3),
                                                                               inner, max_size=3)), max_leaves=6)


def scalar(dtype: str, extra: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Values of scalar DataType ``dtype`` the server must store exactly."""
    if dtype in _I:
        lo, hi = _I[dtype]
        return st.integers(lo, hi)
    if dtype == "BOOL":
        return st.booleans()
    if dtype == "FLOAT":
        return st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_subnormal=False)
    if dtype == "DOUBLE":
        return st.floats(allow_nan=False, allow_infinity=False)
    if dtype == "VARCHAR":
        return st.text("abc xyz_é名", max_size=(extra or {}).get("max_length", 16) // 4)
    if dtype == "JSON":
        return st.dictionaries(st.sampled_from(["k", "name", "nested", "l"]), json_values, max_size=4)
    raise ValueError(f"no strategy for DataType {dtype}")


def vector(v: typed.VectorType) -> st.SearchStrategy[Any]:
    """Values of vector field ``v`` in the form pymilvus takes them (lists, numpy arrays, bytes, dicts)."""
    import numpy as np

    if v.dtype == "FLOAT_VECTOR":
        return st.lists(_eighths, min_size=v.dim, max_size=v.dim)
    if v.dtype == "FLOAT16_VECTOR":
        return st.lists(_eighths, min_size=v.dim, max_size=v.dim).map(lambda xs: np.array(xs, dtype=np.float16))
    if v.dtype == "BFLOAT16_VECTOR":
        return st.lists(_eighths, min_size=v.dim, max_size=v.dim).map(typed._bf16_bytes)
    if v.dtype == "BINARY_VECTOR":
        return st.binary(min_size=v.dim // 8, max_size=v.dim // 8)
    if v.dtype == "INT8_VECTOR":
        return st.lists(st.integers(-128, 127), min_size=v.dim, max_size=v.dim).map(
            lambda xs: np.array(xs, dtype=np.int8))
    if v.dtype == "SPARSE_FLOAT_VECTOR":
        return st.dictionaries(st.integers(0, 30), st.floats(0.0625, 2.0, width=32), min_size=1, max_size=4)
    raise ValueError(f"no strategy for vector type {v.dtype}")


def _row_fields() -> st.SearchStrategy[dict[str, Any]]:
    required: dict[str, Any] = {v.field: vector(v) for v in typed.vectors()}
    required.update({k: scalar(d, e) for k, (d, e, _) in typed.SCALARS.items()})
    if typed.arrays_on():
        required.update({k: st.lists(scalar(elem, extra), max_size=typed.ARRAY_CAPACITY)
                         for k, (elem, extra, _) in typed.ARRAYS.items()})
    required[typed.TEXT] = st.text("alpha beta word", max_size=40)
    optional: dict[str, Any] = {"dyn_int": st.integers(-1000, 1000), "dyn_str": st.sampled_from(typed.WORDS),
                                "dyn_json": json_values}
    if typed.nullable_on():  # left out (default / null) or given None or a value
        optional.update({k: st.none() | scalar(d, e) for k, (d, e, _) in typed.NULLABLES.items()})
    return st.fixed_dictionaries(required, optional=optional)


def rows(keys: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Rows for ``typed`` with the primary keys ``keys`` draws (every supported field, drawn values)."""
    return deferred(lambda: keys.flatmap(lambda ks: st.lists(_row_fields(), min_size=len(ks), max_size=len(ks)).map(
        lambda fs: [{"pk": k, **f} for k, f in zip(ks, fs)])))


def new_keys(max_size: int | None = None) -> st.SearchStrategy[list[str]]:
    """Primary keys not in ``typed`` (distinct; some with characters a careless encoder breaks); at most
    ``max_size`` (default: the profile's typed batch, see conformance.profiles)."""
    if max_size is None:
        from conformance import profiles

        max_size = profiles.typed_batch()
    return st.lists(st.from_regex(r"new[a-z0-9_é]{0,8}", fullmatch=True), min_size=1, max_size=max_size, unique=True)


def existing_keys(max_size: int = 4) -> st.SearchStrategy[list[str]]:
    """Primary keys of ``typed`` rows (a few past the end: missing)."""
    return st.lists(st.integers(0, typed.ROWS + 2).map(typed.pk), min_size=1, max_size=max_size, unique=True)


def partition(trait: str = "partitions") -> st.SearchStrategy[dict[str, Any]]:
    """Nothing, the partition ``tpart`` or ``_default`` as ``partition_name`` (where the server has ``trait``:
    partitions, or for a delete, deleting in one partition only)."""
    return deferred(lambda: st.sampled_from([{}, {"partition_name": TPART}, {"partition_name": "_default"}])
                    if has("partitions") and has(trait) else st.just({}), f"partition:{trait}")


def partitions() -> st.SearchStrategy[dict[str, Any]]:
    """Nothing, or ``partition_names`` naming ``tpart`` and/or ``_default``."""
    return deferred(lambda: st.sampled_from([{}, {"partition_names": [TPART]}, {"partition_names": ["_default"]},
                                             {"partition_names": ["_default", TPART]}])
                    if has("partitions") else st.just({}), "partitions")


# ---------------------------------------------------------------- filters


_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


def _atoms() -> st.SearchStrategy[str]:
    k = st.integers(0, typed.ROWS + 1)
    atoms = [
        st.builds(lambda op, n: f"s_int32 {op} {n}", _OPS, st.integers(-1_000_000, 1_000_000)),
        st.builds(lambda op, n: f"s_double {op} {n}", _OPS, st.integers(0, 6)),
        st.builds(lambda op, n: f"s_int8 {op} {n}", _OPS, st.integers(-128, 127)),
        st.sampled_from(["s_bool == true", "s_bool == false", 'pk like "pk000%"']),
        st.builds(lambda ks: f"pk in {ks}", existing_keys()),
        st.builds(lambda n: f's_json["k"] == {n}', st.integers(0, 4)),
        st.builds(lambda n: f's_json["nested"]["v"] > {n}', k),
        st.builds(lambda n: f'json_contains(s_json["nested"]["l"], {n})', k),
        st.builds(lambda w: f's_json["name"] == "{w}"', st.sampled_from(typed.WORDS)),
        st.builds(lambda n: f"dyn_int > {n}", st.integers(0, 2 * typed.ROWS)),
        st.builds(lambda w: f'dyn_str == "{w}"', st.sampled_from(typed.WORDS)),
    ]
    if typed.arrays_on():
        atoms += [
            st.just('a_varchar[0] == "beta"'),
            st.builds(lambda n: f"array_contains(a_int64, {n})", st.integers(0, 5)),
            st.builds(lambda ws: f"array_contains_any(a_varchar, {ws})", st.lists(st.sampled_from(typed.WORDS),
                                                                                  min_size=1, max_size=2)),
            st.builds(lambda n: f"array_length(a_int32) == {n}", st.integers(0, 3)),
            st.builds(lambda n: f"a_double[0] > {n}", st.integers(0, 5)),
        ]
    if typed.nullable_on():
        atoms.append(st.sampled_from(["n_int64 is null", "n_int64 is not null", "n_double is null",
                                      'n_varchar == "none"', "n_int64 == 5", 'n_json["k"] == 1']))
    if has("text_match"):
        atoms.append(st.builds(lambda w: f'text_match({typed.TEXT}, "{w}")',
                               st.sampled_from(typed.WORDS + ("word3", "alpha beta"))))
    return st.one_of(*atoms)


def filters() -> st.SearchStrategy[str]:
    """Boolean expressions over ``typed``: comparisons, in, like, JSON paths and json_contains, array functions
    and indexing, null checks, dynamic keys, text_match (where supported), combined with and/or/not."""
    return deferred(lambda: st.recursive(_atoms(), lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner)), max_leaves=3), "filters")


def templated() -> st.SearchStrategy[dict[str, Any]]:
    """A template expression with its ``filter_params`` (values of every kind: ints, floats, strings, lists)."""
    return st.one_of(
        st.builds(lambda n: {"filter": "s_int32 > {n}", "filter_params": {"n": n}}, st.integers(-10 ** 6, 10 ** 6)),
        st.builds(lambda ks: {"filter": "pk in {ks}", "filter_params": {"ks": ks}}, existing_keys()),
        st.builds(lambda x: {"filter": "s_double <= {x}", "filter_params": {"x": x}},
                  st.floats(0, 6, allow_nan=False)),
        st.builds(lambda k, w: {"filter": 's_json["k"] == {k} or s_json["name"] == {w}',
                                "filter_params": {"k": k, "w": w}}, st.integers(0, 4), st.sampled_from(typed.WORDS)),
        st.builds(lambda vs: {"filter": 'json_contains_any(s_json["nested"]["l"], {vs})', "filter_params": {"vs": vs}},
                  st.lists(st.integers(0, 5), min_size=1, max_size=3)),
    )


def filter_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``{"filter": ...}`` or, where the server parses templates, a template with its ``filter_params``."""
    return deferred(lambda: st.one_of(filters().map(lambda f: {"filter": f}), templated())
                    if has("filter_templates") else filters().map(lambda f: {"filter": f}), "filter_kwargs")


def output_fields() -> st.SearchStrategy[list[str]]:
    """``output_fields``: ``*``, a subset of the typed fields and dynamic keys, or ``*`` with a dynamic key."""
    return deferred(lambda: st.one_of(
        st.just(["*"]),
        st.lists(st.sampled_from(typed.output_field_names()), min_size=1, max_size=6, unique=True),
        st.sampled_from(typed.DYNAMIC_KEYS).map(lambda k: ["*", k])), "output_fields")


# ---------------------------------------------------------------- calls


def insert_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``insert`` of new rows into ``typed`` (a partition or not)."""
    return st.builds(lambda r, p: {"collection_name": T, "data": r, **p}, rows(new_keys()), partition())


def upsert_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``upsert`` of rows with existing and new keys (a partition or not)."""
    keys = st.one_of(existing_keys(), st.tuples(existing_keys(2), new_keys(2)).map(lambda t: t[0] + t[1]))
    return st.builds(lambda r, p: {"collection_name": T, "data": r, **p}, rows(keys), partition())


def delete_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``delete`` by keys or by (template) filter, in a partition or not."""
    by = st.one_of(existing_keys().map(lambda ks: {"ids": ks}), filter_kwargs())
    return st.builds(lambda b, p: {"collection_name": T, **b, **p}, by, partition("partition_delete"))


def get_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``get`` by VARCHAR keys with output fields, through partitions."""
    return st.builds(lambda ks, o, p: {"collection_name": T, "ids": ks, "output_fields": o, **p},
                     existing_keys(), output_fields(), partitions())


def query_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``query`` with (template) filters, output fields, limit/offset, count(*), through partitions."""
    shape = st.one_of(
        st.builds(lambda f, o, lim: {**f, "output_fields": o, "limit": lim}, filter_kwargs(), output_fields(),
                  st.integers(1, typed.ROWS + 2)),
        st.builds(lambda f, o, off: {**f, "output_fields": o, "limit": 4, "offset": off}, filter_kwargs(),
                  output_fields(), st.integers(0, typed.ROWS)),
        filter_kwargs().map(lambda f: {**f, "output_fields": ["count(*)"]}),
        st.builds(lambda ks, o: {"ids": ks, "output_fields": o}, existing_keys(), output_fields()),
    )
    return st.builds(lambda s, p: {"collection_name": T, **s, **p}, shape, partitions())


def _range(metric: str) -> st.SearchStrategy[dict[str, Any]]:
    """Range-search params for ``metric`` (L2: distances in [range_filter, radius); IP: the other way round)."""
    if metric == "L2":
        return st.builds(lambda r, w: {"radius": r, "range_filter": max(0.0, r - w)},
                         st.integers(1, 40).map(lambda n: n / 4), st.integers(1, 20).map(lambda n: n / 4))
    if metric == "HAMMING":
        return st.builds(lambda r: {"radius": r, "range_filter": 0}, st.integers(2, 12))
    return st.builds(lambda r, w: {"radius": r, "range_filter": r + w}, st.integers(0, 8).map(lambda n: n / 4),
                     st.integers(1, 16).map(lambda n: n / 4))


def _ranker_lazy(kind: str, n_reqs: int, weights: tuple[float, ...], k: int, field: str) -> Lazy:
    """A ranker (RRFRanker / WeightedRanker or a RERANK Function: rrf, weighted, decay), built per side."""
    w = tuple(weights[:n_reqs]) + (0.5,) * max(0, n_reqs - len(weights))
    if kind == "RRFRanker":
        return Lazy(lambda: _make_ranker(kind, w, k, field), f"RRFRanker({k})")
    if kind == "WeightedRanker":
        return Lazy(lambda: _make_ranker(kind, w, k, field), f"WeightedRanker{w}")
    params = _function_params(kind, w, k, field)
    return Lazy(lambda: _make_ranker(kind, w, k, field),
                f"Function(name='rerank', input_field_names={[field] if kind == 'decay' else []!r}, "
                f"function_type=FunctionType.RERANK, params={params!r})")


def _function_params(kind: str, w: tuple[float, ...], k: int, field: str) -> dict[str, Any]:
    if kind == "rrf":
        return {"reranker": "rrf", "k": k}
    if kind == "weighted":
        return {"reranker": "weighted", "weights": list(w), "norm_score": True}
    return {"reranker": "decay", "function": "gauss", "origin": 0, "scale": 1000, "offset": 0, "decay": 0.5}


def _make_ranker(kind: str, w: tuple[float, ...], k: int, field: str) -> Any:
    from pymilvus import Function, FunctionType, RRFRanker, WeightedRanker

    if kind == "RRFRanker":
        return RRFRanker(k)
    if kind == "WeightedRanker":
        return WeightedRanker(*w)
    return Function(name="rerank", input_field_names=[field] if kind == "decay" else [],
                    function_type=FunctionType.RERANK, params=_function_params(kind, w, k, field))


def _rankers(n_reqs: int, function_only: bool = False) -> st.SearchStrategy[Lazy]:
    kinds = ["decay"] if function_only else ["RRFRanker", "WeightedRanker"]
    if has("function_rankers") and not function_only:
        kinds += ["rrf", "weighted", "decay"]
    return st.builds(lambda kind, ws, k, f: _ranker_lazy(kind, n_reqs, tuple(ws), k, f), st.sampled_from(kinds),
                     st.lists(st.integers(0, 8).map(lambda n: n / 8), min_size=n_reqs, max_size=n_reqs),
                     st.integers(1, 100), st.just("s_int8"))


def search_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``search`` on any supported vector field with its own query type and metric: filters and templates,
    grouping, range search, a function ranker, offsets, output fields, through partitions."""
    def on_field(v: typed.VectorType) -> st.SearchStrategy[dict[str, Any]]:
        params = st.one_of(st.just({}), _range(v.metric)) if v.dtype != "SPARSE_FLOAT_VECTOR" else st.just({})
        extras = {"output_fields": output_fields(), "offset": st.integers(0, 4),
                  "group_by_field": st.sampled_from(["s_int8", "s_bool", "s_text"])}
        if has("function_rankers"):
            extras["ranker"] = _rankers(1, function_only=True)
        return st.builds(
            lambda data, p, lim, f, ex, parts: {"collection_name": T, "data": data, "anns_field": v.field,
                                                "search_params": {"metric_type": v.metric, "params": p},
                                                "limit": lim, **f, **ex, **parts},
            st.lists(vector(v), min_size=1, max_size=2), params, st.integers(1, 8),
            st.one_of(st.just({}), filter_kwargs()), st.fixed_dictionaries({}, optional=extras), partitions())

    return deferred(lambda: st.sampled_from(typed.vectors()).flatmap(
        lambda v: cached(("search", v.field), lambda: on_field(v))))


def _ann(field: str, metric: str, data: list, limit: int, expr: Any, params: dict[str, Any]) -> Any:
    from pymilvus import AnnSearchRequest

    kwargs = {"expr_params": params} if params else {}
    return AnnSearchRequest(data=data, anns_field=field, param={"metric_type": metric}, limit=limit, expr=expr,
                            **kwargs)


def hybrid_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``hybrid_search`` over 2-3 requests on the supported vector fields (each with its filter or template),
    every ranker kind, limit/offset, output fields, through partitions."""
    def request(v: typed.VectorType) -> st.SearchStrategy[Lazy]:
        return st.builds(
            lambda q, lim, f: Lazy(lambda: _ann(v.field, v.metric, [q], lim, f.get("filter"), f.get("filter_params")),
                                   f"AnnSearchRequest(data=[{q!r}], anns_field={v.field!r}, param={{'metric_type': "
                                   f"{v.metric!r}}}, limit={lim}, expr={f.get('filter')!r}"
                                   + (f", expr_params={f['filter_params']!r})" if f.get("filter_params") else ")")),
            vector(v), st.integers(1, 8), st.one_of(st.just({}), filter_kwargs()))

    def build(reqs: list[Lazy]) -> st.SearchStrategy[dict[str, Any]]:
        extra = st.fixed_dictionaries({}, optional={"offset": st.integers(0, 3)})
        return st.builds(lambda rk, lim, o, ex, parts: {"collection_name": T, "reqs": reqs, "ranker": rk,
                                                         "limit": lim, "output_fields": o, **ex, **parts},
                         _rankers(len(reqs)), st.integers(1, 8), output_fields(), extra, partitions())

    fields = deferred(lambda: st.lists(st.sampled_from(typed.vectors()), min_size=2, max_size=3))
    return fields.flatmap(lambda vs: st.tuples(*(cached(("ann", v.field), lambda v=v: request(v)) for v in vs))
                          ).flatmap(lambda rs: build(list(rs)))
