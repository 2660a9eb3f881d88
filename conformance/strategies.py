"""Hypothesis strategies: schemas, rows, filter expressions, search and hybrid requests, invalid input.

The simplest alternative comes first in every ``one_of`` so shrinking moves towards it. Objects the clients might
modify (schemas, index params, search requests) are drawn as :class:`~conformance.world.Lazy` values, built fresh
for each side, whose ``source`` is the code a reproducer prints.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conformance.world import DIM, FEATURES, ROWS, Lazy, Named, Ref, without_absent_fields

SCALAR_FIELDS = ("id", "text", "num", "score", "flag", "meta", "tags", "opt")
OUTPUT_FIELDS = SCALAR_FIELDS + ("vec", "extra")
BAD_NAMES = ("", "1{p}digit_first", "{p}has-dash", "{p}has space", "{p}" + "x" * 300, "{p}名字")

# ---------------------------------------------------------------- names


def fresh_names() -> st.SearchStrategy[str]:
    """Valid identifier suffixes for new objects (prefixed per side by the namespace)."""
    return st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


def bad_names() -> st.SearchStrategy[str]:
    """Names the server must reject."""
    return st.sampled_from([Named(n) if "{p}" in n else n for n in BAD_NAMES])


# ---------------------------------------------------------------- vectors and rows

finite = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False, allow_subnormal=False, width=32)


def dense(dim: int = DIM) -> st.SearchStrategy[list[float]]:
    """A dense float vector of ``dim`` components."""
    return st.lists(finite, min_size=dim, max_size=dim)


def sparse() -> st.SearchStrategy[dict[int, float]]:
    """A sparse vector with 1..4 positive non-zeros."""
    return st.dictionaries(st.integers(0, 40), st.floats(0.0625, 2.0, width=32), min_size=1, max_size=4)


def standard_rows(first_id: int = 1000, max_size: int = 5) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Rows valid for the standard ``coll`` schema (ids unique, from ``first_id``)."""
    row = st.fixed_dictionaries({
        "vec": dense(), "sparse": sparse(), "text": st.text("abc xyz", max_size=20),
        "num": st.integers(-100, 100), "score": st.floats(-1e6, 1e6, allow_nan=False),
        "flag": st.booleans(), "meta": st.fixed_dictionaries({"k": st.integers(0, 5)}),
        "tags": st.lists(st.integers(0, 9), max_size=4),
    }, optional={"opt": st.none() | st.integers(-5, 5), "extra": st.sampled_from(["dyn0", "dyn9"])})
    return st.lists(row, min_size=1, max_size=max_size).map(
        lambda rows: [without_absent_fields({"id": first_id + i, **r}) for i, r in enumerate(rows)])


def existing_ids() -> st.SearchStrategy[list[int]]:
    """Primary keys of ``coll`` rows (some may not exist: ids past the end)."""
    return st.lists(st.integers(0, ROWS + 3), min_size=1, max_size=5, unique=True)


# ---------------------------------------------------------------- filter grammar

_COMPARE = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


def _atom() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda op, v: f"num {op} {v}", _COMPARE, st.integers(-30, 30)),
        st.builds(lambda op, v: f"id {op} {v}", _COMPARE, st.integers(0, ROWS)),
        st.builds(lambda op, v: f"score {op} {v}", _COMPARE, st.floats(0, 10, allow_nan=False).map(lambda f: round(f, 2))),
        st.builds(lambda vs: f"id in {vs}", st.lists(st.integers(0, ROWS), max_size=4)),
        st.builds(lambda w: f'text like "{w}%"', st.sampled_from(["alpha", "beta", "random", "x"])),
        st.builds(lambda w: f'text like "%{w}%"', st.sampled_from(["ta", "random", "1"])),
        st.sampled_from(["flag == true", "flag == false", "opt is null", "opt is not null"]),
        st.builds(lambda k: f'meta["k"] == {k}', st.integers(0, 4)),
        st.builds(lambda n: f'meta["nested"]["v"] > {n}', st.integers(0, ROWS)),
        st.builds(lambda n: f"array_contains(tags, {n})", st.integers(0, 5)),
        st.builds(lambda n: f"array_length(tags) == {n}", st.integers(0, 3)),
        st.builds(lambda vs: f"array_contains_any(tags, {vs})", st.lists(st.integers(0, 5), min_size=1, max_size=3)),
        st.builds(lambda w: f'extra == "{w}"', st.sampled_from(["dyn0", "dyn1", "none"])),
    )


def filters() -> st.SearchStrategy[str]:
    """Boolean expressions over ``coll``: comparisons, in, like, null checks, JSON paths, array functions,
    combined with and/or/not."""
    return st.recursive(_atom(), lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner)), max_leaves=4)


#: Template expressions with their ``filter_params``.
_TEMPLATED = st.one_of(
    st.builds(lambda n: {"filter": "num > {n}", "filter_params": {"n": n}}, st.integers(-30, 30)),
    st.builds(lambda ids: {"filter": "id in {ids}", "filter_params": {"ids": ids}},
              st.lists(st.integers(0, ROWS), max_size=5)),
    st.builds(lambda w, k: {"filter": "text like {w} and meta[\"k\"] == {k}", "filter_params": {"w": w, "k": k}},
              st.sampled_from(["alpha%", "%a%"]), st.integers(0, 4)),
)


def when(feature: str, on: st.SearchStrategy[Any], off: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``on`` while the server has ``feature`` (see ``world.FEATURES``), else ``off``; decided at each draw."""
    return st.just(None).flatmap(lambda _: on if FEATURES[feature] else off)


def templated_filters() -> st.SearchStrategy[dict[str, Any]]:
    """A template expression with its ``filter_params`` (a plain filter on a server without templates)."""
    return when("filter_templates", _TEMPLATED, filters().map(lambda f: {"filter": f}))


def bad_filters() -> st.SearchStrategy[str]:
    """Expressions the server must reject (syntax errors, unknown fields, type mismatches)."""
    return st.sampled_from(["num >", "nosuchfield > 1", "text > 1 +", "num == 'a' and", "array_contains(num, 1)",
                            "id in [1,", "(((", "meta[\"k\"] ==== 1"])


# ---------------------------------------------------------------- query / search


def output_fields() -> st.SearchStrategy[list[str]]:
    """Subsets of ``coll``'s fields (including the dynamic ``extra``)."""
    return st.lists(st.sampled_from(OUTPUT_FIELDS), unique=True, max_size=4)


def consistency() -> st.SearchStrategy[dict[str, Any]]:
    """An optional consistency level."""
    return st.one_of(st.just({}), st.sampled_from(["Strong", "Bounded", "Session", "Eventually"]).map(
        lambda c: {"consistency_level": c}))


def query_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Valid ``query`` arguments on ``coll``."""
    base = st.fixed_dictionaries({"collection_name": st.just(Ref("coll"))})
    return st.tuples(base, st.one_of(
        st.builds(lambda f, o, lim: {"filter": f, "output_fields": o, "limit": lim}, filters(), output_fields(),
                  st.integers(1, 30)),
        templated_filters(),
        st.builds(lambda ids, o: {"ids": ids, "output_fields": o}, st.lists(st.integers(0, ROWS + 2), max_size=4,
                                                                            unique=True), output_fields()),
        st.builds(lambda f: {"filter": f, "output_fields": ["count(*)"]}, filters()),
        st.builds(lambda f, off: {"filter": f, "limit": 5, "offset": off}, filters(), st.integers(0, 5)),
    ), consistency()).map(lambda t: {**t[0], **t[1], **t[2]})


def _radius() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), st.builds(lambda r, w: {"params": {"radius": r, "range_filter": max(0.0, r - w)}},
                                            st.floats(0.2, 3.0).map(lambda f: round(f, 3)),
                                            st.floats(0.1, 2.0).map(lambda f: round(f, 3))))


def search_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Valid dense/sparse ``search`` arguments on ``coll``: limit, offset, output_fields, filter, group_by,
    radius/range, consistency."""
    dense_q = st.builds(lambda data, rp: {"data": data, "anns_field": "vec",
                                          "search_params": {"metric_type": "L2", **rp}},
                        st.lists(dense(), min_size=1, max_size=3), _radius())
    sparse_q = st.builds(lambda data: {"data": data, "anns_field": "sparse", "search_params": {"metric_type": "IP"}},
                         st.lists(sparse(), min_size=1, max_size=2))
    extras = st.fixed_dictionaries({}, optional={
        "filter": filters(), "output_fields": output_fields(), "offset": st.integers(0, 3),
        "group_by_field": st.sampled_from(["num", "flag", "text"])})
    return st.builds(lambda q, lim, ex, cons: {"collection_name": Ref("coll"), **q, "limit": lim, **ex, **cons},
                     when("sparse_vectors", st.one_of(dense_q, sparse_q), dense_q), st.integers(1, 10), extras,
                     consistency())


def _ann(field: str, data: list, limit: int, expr: str | None) -> Any:
    from pymilvus import AnnSearchRequest

    metric = "L2" if field == "vec" else "IP"
    return AnnSearchRequest(data=data, anns_field=field, param={"metric_type": metric}, limit=limit, expr=expr)


def _ranker(kind: str, values: tuple) -> Any:
    from pymilvus import RRFRanker, WeightedRanker

    return RRFRanker(*values) if kind == "rrf" else WeightedRanker(*values)


def hybrid_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """``hybrid_search`` with 2-3 AnnSearchRequests (dense and sparse) and an RRF or weighted ranker."""
    dense_route = st.tuples(st.just("vec"), dense())
    route = when("sparse_vectors", st.one_of(dense_route, st.tuples(st.just("sparse"), sparse())), dense_route)
    routes = st.lists(st.tuples(route, st.integers(1, 10), st.none() | filters()), min_size=2, max_size=3)

    def build(rs: list, ranker: tuple, limit: int, out: list[str]) -> dict[str, Any]:
        reqs = [Lazy(lambda f=f, v=v, lim=lim, e=e: _ann(f, [v], lim, e),
                     f"AnnSearchRequest(data=[{v!r}], anns_field={f!r}, param={{'metric_type': "
                     f"{'L2' if f == 'vec' else 'IP'!r}}}, limit={lim}, expr={e!r})") for (f, v), lim, e in rs]
        kind, values = ranker
        if kind == "weighted":
            values = tuple(values[: len(rs)]) + (0.5,) * (len(rs) - len(values))
        name = "RRFRanker" if kind == "rrf" else "WeightedRanker"
        rk = Lazy(lambda: _ranker(kind, values), f"{name}{values if len(values) != 1 else f'({values[0]})'}")
        return {"collection_name": Ref("coll"), "reqs": reqs, "ranker": rk, "limit": limit, "output_fields": out}

    ranker = st.one_of(st.tuples(st.just("rrf"), st.tuples(st.integers(1, 100))),
                       st.tuples(st.just("weighted"), st.lists(st.floats(0, 1).map(lambda f: round(f, 3)),
                                                               min_size=3, max_size=3).map(tuple)))
    return st.builds(build, routes, ranker, st.integers(1, 10), output_fields())


# ---------------------------------------------------------------- invalid input


def invalid_search_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Searches the server (or the client) must reject: wrong dimension, unknown field, missing collection,
    wrong types, bad filters."""
    good = {"collection_name": Ref("coll"), "data": [[0.1] * DIM], "anns_field": "vec", "limit": 3}
    return st.one_of(
        st.builds(lambda d: {**good, "data": [[0.1] * d]}, st.sampled_from([1, DIM - 1, DIM + 1, 64])),
        st.builds(lambda f: {**good, "output_fields": [f]}, st.sampled_from(["nosuchfield", "vec2", ""])),
        st.builds(lambda f: {**good, "anns_field": f}, st.sampled_from(["nosuch", "text", "num"])),
        st.builds(lambda n: {**good, "collection_name": n}, bad_names() | st.just("does_not_exist_xyz")),
        st.builds(lambda lim: {**good, "limit": lim}, st.sampled_from([0, -1, 20000, "3", 2.5])),
        st.builds(lambda f: {**good, "filter": f}, bad_filters()),
        st.just({**good, "data": "not a vector"}),
    )


def invalid_rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Rows ``coll`` must refuse: wrong dimension, wrong types, missing fields."""
    good = {"id": 5000, "vec": [0.1] * DIM, "sparse": {1: 0.5}, "text": "t", "num": 1, "score": 1.0,
            "flag": True, "meta": {"k": 1}, "tags": [1]}
    return st.one_of(
        st.builds(lambda d: [{**good, "vec": [0.1] * d}], st.sampled_from([1, DIM + 1])),
        st.builds(lambda k: [{key: v for key, v in good.items() if key != k}], st.sampled_from(["vec", "id", "num"])),
        st.builds(lambda k, v: [{**good, k: v}], st.sampled_from(["num", "flag", "text", "tags"]),
                  st.sampled_from(["str", 1.5, [1, 2, 3, 4, 5, 6], {"a": 1}])),
        st.just([{**good, "text": "x" * 100}]),
    )
