"""Proof that data round trips are checked (issue #10, item 5): an AsyncMilvusClient that loses a vector's dtype,
ignores a partition, mangles a JSON, array, nullable or dynamic value, drops grouping, a range, an offset, a ranker
or a filter template's params is reported as a divergence of the right method, on the default (``ci``) profile.

A mutant of a feature the server lacks (FLOAT16 vectors and filter templates on Milvus Lite 3) cannot be found there:
it is skipped with the measured reason (conformance.data_traits), never counted as found."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Optional

import pytest
from hypothesis import Phase

from conformance import data_traits, profiles, typed_strategies as ts
from conformance.check import check_method
from conformance.registry import MethodSpec
from conformance.specs import load_all
from conformance.runner import Runner
from tests.mutation.draws import ci_profile
from tests.mutation.faults import Faulty, drop_kwarg

pytestmark = pytest.mark.server
SPECS = load_all()


# ---------------------------------------------------------------- faults


def _rows(result: Any) -> Iterator[dict[str, Any]]:
    """Row dicts of a query/get result, or the entities of a search result's hits, in place."""
    for item in result:
        if isinstance(item, list):
            for hit in item:
                entity = hit.get("entity") if isinstance(hit, dict) else None
                if isinstance(entity, dict):
                    yield entity
        elif isinstance(item, dict):
            yield item


def _is_json(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(k, str) for k in value)  # not sparse (int keys)


def _stringify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def mangled_json(result: Any) -> Any:
    """Every JSON field value with its numbers turned into strings (``{"k": 1}`` -> ``{"k": "1"}``)."""
    for row in _rows(result):
        for key, value in row.items():
            if _is_json(value):
                row[key] = _stringify(value)
    return result


def array_ints_as_floats(result: Any) -> Any:
    """Every integer array element becomes the equal float (an ARRAY<INT64> read as ARRAY<DOUBLE>)."""
    for row in _rows(result):
        for key, value in row.items():
            if isinstance(value, list) and value and all(type(v) is int for v in value):
                row[key] = [float(v) for v in value]
    return result


def nulls_as_zero(result: Any) -> Any:
    """A null field reads as 0 (the nullable flag lost)."""
    for row in _rows(result):
        for key, value in list(row.items()):
            if value is None:
                row[key] = 0
    return result


def without_dynamic_keys(result: Any) -> Any:
    """Rows lose their dynamic-field keys."""
    for row in _rows(result):
        for key in [k for k in row if k.startswith("dyn_")]:
            del row[key]
    return result


def without_range(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A range search becomes a plain top-k search (radius / range_filter dropped)."""
    params = kwargs.get("search_params")
    if isinstance(params, dict) and isinstance(params.get("params"), dict) and "radius" in params["params"]:
        inner = {k: v for k, v in params["params"].items() if k not in ("radius", "range_filter")}
        return {**kwargs, "search_params": {**params, "params": inner}}
    return kwargs


def default_ranker(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Whatever ranker was asked for, RRFRanker() is sent."""
    from pymilvus import RRFRanker

    return {**kwargs, "ranker": RRFRanker()} if "ranker" in kwargs else kwargs


def _untyped(value: Any, dtype: str) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray) and value.dtype == np.dtype(dtype):
        return value.astype(np.float32).tolist()
    if isinstance(value, dict):
        return {k: _untyped(v, dtype) for k, v in value.items()}
    if isinstance(value, list):
        return [_untyped(v, dtype) for v in value]
    return value


def drop_dtype(dtype: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """numpy vectors of ``dtype`` (float16, int8) sent as plain float lists: the vector's type is lost."""
    def before(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {k: _untyped(v, dtype) for k, v in kwargs.items()}
    return before


# ---------------------------------------------------------------- which calls to draw


def typed_only(method: str) -> Callable[[MethodSpec], MethodSpec]:
    """The spec drawing only its calls on the typed collection (its explicit examples kept)."""
    strategy = {"search": ts.search_kwargs, "hybrid_search": ts.hybrid_kwargs, "query": ts.query_kwargs,
                "get": ts.get_kwargs, "insert": ts.insert_kwargs, "upsert": ts.upsert_kwargs,
                "delete": ts.delete_kwargs}[method]
    return lambda spec: dataclasses.replace(spec, args=strategy)


def with_key(key: str, method: str) -> Callable[[MethodSpec], MethodSpec]:
    """The typed calls of ``method`` that carry ``key`` (the case the mutant breaks)."""
    base = typed_only(method)
    return lambda spec: dataclasses.replace(base(spec), args=lambda: base(spec).args().filter(lambda kw: key in kw))


def ranged(spec: MethodSpec) -> MethodSpec:
    """Typed searches with a range (radius / range_filter)."""
    base = typed_only("search")(spec)
    return dataclasses.replace(base, args=lambda: base.args().filter(
        lambda kw: "radius" in kw.get("search_params", {}).get("params", {})))


#: (label, method, Faulty options, the trait the mutant needs, the spec's draws narrowed to the broken case)
MUTANTS: list[tuple[str, str, dict[str, Any], Optional[str], Optional[Callable[[MethodSpec], MethodSpec]]]] = [
    ("FLOAT16 vector loses its dtype", "insert", {"before": drop_dtype("float16")}, "vector:FLOAT16_VECTOR",
     typed_only("insert")),
    ("FLOAT16 query vector loses its dtype", "search", {"before": drop_dtype("float16")}, "vector:FLOAT16_VECTOR",
     typed_only("search")),
    ("INT8 vector loses its dtype", "insert", {"before": drop_dtype("int8")}, "vector:INT8_VECTOR",
     typed_only("insert")),
    ("ignores partition_names", "query", {"before": drop_kwarg("partition_names")}, "partitions", None),
    ("ignores partition_names", "get", {"before": drop_kwarg("partition_names")}, "partitions", None),
    ("ignores partition_names", "search", {"before": drop_kwarg("partition_names")}, "partitions",
     with_key("partition_names", "search")),
    ("ignores partition_names", "hybrid_search", {"before": drop_kwarg("partition_names")}, "partitions",
     with_key("partition_names", "hybrid_search")),
    ("ignores partition_name", "insert", {"before": drop_kwarg("partition_name")}, "partitions", None),
    ("ignores partition_name", "upsert", {"before": drop_kwarg("partition_name")}, "partitions", None),
    # only a server that deletes in the named partition alone can tell (Milvus Lite 3.2.2 deletes in every one);
    # narrowed to the typed deletes that name a partition (a minority of its few ci draws)
    ("ignores partition_name", "delete", {"before": drop_kwarg("partition_name")}, "partition_delete",
     with_key("partition_name", "delete")),
    ("mangles a JSON field", "query", {"after": mangled_json}, None, None),
    ("mangles a JSON field", "search", {"after": mangled_json}, None, typed_only("search")),
    ("array ints as floats", "get", {"after": array_ints_as_floats}, "arrays", None),
    ("nulls read as zero", "query", {"after": nulls_as_zero}, "nullable", None),
    ("dynamic keys dropped", "get", {"after": without_dynamic_keys}, None, None),
    ("ignores offset", "query", {"before": drop_kwarg("offset")}, None, None),
    ("ignores offset", "hybrid_search", {"before": drop_kwarg("offset")}, None, with_key("offset", "hybrid_search")),
    ("drops group_by_field", "search", {"before": drop_kwarg("group_by_field")}, None,
     with_key("group_by_field", "search")),
    ("drops the range", "search", {"before": without_range}, None, ranged),
    ("ranker replaced by RRF", "hybrid_search", {"before": default_ranker}, None, typed_only("hybrid_search")),
    ("ignores filter template params", "query", {"before": drop_kwarg("filter_params")}, "filter_templates",
     with_key("filter_params", "query")),
    ("ignores filter template params", "search", {"before": drop_kwarg("filter_params")}, "filter_templates",
     with_key("filter_params", "search")),
    ("ignores filter template params", "delete", {"before": drop_kwarg("filter_params")}, "filter_templates",
     with_key("filter_params", "delete")),
]


@pytest.fixture(autouse=True, scope="module")
def default_profile() -> Iterator[None]:
    """The default (``ci``) Hypothesis profile, derandomized, also when this file runs on its own: the same draws
    and example counts as a ``ci`` run. Only shrinking is left out: it minimises a divergence already found (for
    the reproducer) and costs minutes per search mutant on a loaded 2-core machine."""
    yield from ci_profile("ci-no-shrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.parametrize("label,method,fault,trait,narrow", MUTANTS,
                         ids=[f"{m}-{lbl.replace(' ', '_')}" for lbl, m, *_ in MUTANTS])
def test_data_mutant_is_reported(milvus, family: str, tmp_path, label: str, method: str, fault: dict,  # type: ignore[no-untyped-def]
                                 trait: Optional[str], narrow: Optional[Callable[[MethodSpec], MethodSpec]]) -> None:
    """The suite reports a divergence of exactly ``method`` with the ``ci`` profile's example count."""
    runner = Runner(milvus, wrap_async=lambda client: Faulty(client, method, **fault))
    try:
        traits = data_traits.current()
        if trait and not traits.has(trait):
            pytest.skip(f"needs {trait}, which this server lacks: {traits.reasons.get(trait, '')[:160]}")
        spec = narrow(SPECS[method]) if narrow else SPECS[method]
        # the real registry: the unmodified pair's known divergences stay known, the mutant must show as new
        verdict = check_method(runner, spec, family, out_dir=tmp_path,
                               max_examples=profiles.examples_for(spec.weight, spec.mutates, "ci"))
    finally:
        runner.close()
    assert verdict.status == "diverges", f"mutant '{label}' of {method} went unnoticed: {verdict.as_dict()}"
    assert verdict.method == method
    assert verdict.reproducer and f"reproduce_{method}.py" in verdict.reproducer


@pytest.mark.parametrize("method", ["search", "hybrid_search", "query", "get"])
def test_unmodified_client_passes_the_typed_draws(milvus, family: str, tmp_path, method: str) -> None:  # type: ignore[no-untyped-def]
    """The unmodified pair shows no new divergence on the typed calls (its known ones, e.g. the sync-form calls
    every spec carries, stay known), so each mutant is found for its fault."""
    runner = Runner(milvus)
    try:
        spec = typed_only(method)(SPECS[method])
        verdict = check_method(runner, spec, family, out_dir=tmp_path,
                               max_examples=profiles.examples_for(spec.weight, spec.mutates, "ci"))
    finally:
        runner.close()
    assert verdict.status in ("pass", "known-divergence") and verdict.new == 0 and verdict.agreeing > 0, \
        verdict.as_dict()
