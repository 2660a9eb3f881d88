"""The server's data traits (conformance.data_traits): measured once per server, and what the server lacks is left
out of the typed collection and of every drawn call, visibly (a skip and a report finding with the server's reason),
never silently. What it supports is in the typed collection the suite builds, and reads back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conformance import data_traits, typed, typed_strategies as ts
from conformance.registry import Need
from conformance.servers import trait_findings
from conformance.world import build, cleanup, new_namespaces

pytestmark = pytest.mark.server
TRAITS = [v.trait for v in typed.VECTORS] + list(data_traits.FEATURES)


def test_every_trait_is_measured_with_a_reason_when_missing(runner) -> None:  # type: ignore[no-untyped-def]
    """Each type and feature has a measured answer; each missing one the server's own reason."""
    traits = data_traits.measure(runner.sync, runner.conn.uri, runner.timeout)  # cached: the session's measurement
    assert traits is data_traits.current() and traits.address == runner.conn.uri
    assert set(traits.supported) == set(TRAITS)
    assert traits.has("vector:FLOAT_VECTOR"), "the server cannot even store FLOAT vectors"
    for name, why in traits.missing().items():
        assert why.strip(), f"{name} is unsupported without a reason"
    print("\n" + "\n".join(f"  {n:32} {'yes' if traits.has(n) else 'no: ' + traits.reasons[n][:90]}"
                           for n in TRAITS))


class _NoCalls:
    """A client stand-in that fails on any server call (a cached measurement makes none)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the cached traits called the server ({name})")


def test_the_measurement_is_cached_per_server(runner) -> None:  # type: ignore[no-untyped-def]
    """A second measurement of the same server is the cached one: no server call."""
    first = data_traits.measure(runner.sync, runner.conn.uri, runner.timeout)
    again = data_traits.measure(_NoCalls(), runner.conn.uri, runner.timeout)
    assert again is first


def _draws(strategy: Any, n: int = 40) -> list[Any]:
    seen: list[Any] = []

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: Any) -> None:
        seen.append(data.draw(strategy))

    draw()
    return seen


def _uses(value: Any, needle: str) -> bool:
    return needle in repr(value)


@pytest.mark.parametrize("trait", TRAITS)
def test_a_trait_is_used_where_supported_and_skipped_with_its_reason_where_not(runner, trait: str) -> None:  # type: ignore[no-untyped-def]
    """Supported: the typed collection has it and the strategies draw it. Unsupported: neither, the report lists
    it as a finding with the server's reason, and this test skips with that reason."""
    traits = data_traits.current()
    vector = next((v for v in typed.VECTORS if v.trait == trait), None)
    schema_fields = {f.name: f for f in typed.schema(runner.sync).fields}
    if vector is not None:
        drawn = _draws(ts.search_kwargs(), 20) + _draws(ts.hybrid_kwargs(), 10)
        in_schema, in_draws = vector.field in schema_fields, any(_uses(d, repr(vector.field)) for d in drawn)
    else:
        in_schema, in_draws = _feature_in_use(trait, schema_fields)
    if traits.has(trait):
        assert in_schema is not False and in_draws, f"{trait} is supported but left out (schema {in_schema}, draws {in_draws})"
        return
    if trait == "varchar_pk":
        pytest.fail(f"the typed collection needs VARCHAR primary keys: {traits.reasons[trait]}")
    assert not in_schema and not in_draws, f"{trait} is unsupported but used (schema {in_schema}, draws {in_draws})"
    found = [f for f in trait_findings(runner.family) if f["name"] == f"data trait {trait} left out"]
    assert found and found[0]["status"] == "unsupported" and found[0]["detail"] == traits.reasons[trait]
    pytest.skip(f"{trait} unsupported on this server: {traits.reasons[trait]}")


def _setup_calls() -> str:
    """The calls that build the typed collection, as one string (``create_partition`` -> "partitions")."""
    from conformance.setup_source import recorded_setup

    return " ".join("partitions" if m == "create_partition" else m for m, _, _ in recorded_setup((Need.TYPED,)))


def _feature_in_use(trait: str, fields: dict[str, Any]) -> tuple[Any, bool]:
    """(whether the typed collection uses ``trait``, None where it is not a property of the collection; whether
    the drawn calls do)."""
    if trait == "nullable":
        return any(f.nullable for f in fields.values()), any(_uses(d, "n_int64") for d in _draws(ts.insert_kwargs(), 20))
    if trait == "arrays":
        return "a_int64" in fields, any(_uses(d, "a_int") or _uses(d, "a_varchar") for d in _draws(ts.query_kwargs()))
    if trait == "varchar_pk":
        from pymilvus import DataType

        # required: without VARCHAR keys the typed collection is not built at all (its setup errors, visibly)
        return fields["pk"].dtype == DataType.VARCHAR, any(_uses(d, "pk0") for d in _draws(ts.get_kwargs(), 10))
    if trait == "text_match":
        params = fields[typed.TEXT].params
        return bool(params.get("enable_match")), any(_uses(d, "text_match(") for d in _draws(ts.filters(), 60))
    if trait == "filter_templates":
        draws = _draws(ts.query_kwargs(), 30) + _draws(ts.delete_kwargs(), 30) + _draws(ts.search_kwargs(), 20)
        return None, any(_uses(d, "filter_params") for d in draws)
    if trait == "function_rankers":
        draws = _draws(ts.search_kwargs(), 25) + _draws(ts.hybrid_kwargs(), 15)
        return None, any(_uses(d, "FunctionType.RERANK") for d in draws)
    if trait == "partitions":
        draws = _draws(ts.query_kwargs(), 20) + _draws(ts.insert_kwargs(), 10)
        return "partitions" in _setup_calls(), any(_uses(d, "Ref('tpart')") for d in draws)
    if trait == "partition_delete":
        return None, any(_uses(d, "partition_name") for d in _draws(ts.delete_kwargs(), 30))
    raise AssertionError(f"no check for trait {trait}")


def test_templates_are_left_out_of_the_standard_strategies_too(runner) -> None:  # type: ignore[no-untyped-def]
    """Where the server does not parse filter templates, the standard collection's strategies draw none either."""
    from conformance.world import FEATURES

    if data_traits.current().has("filter_templates"):
        assert FEATURES["filter_templates"]
    else:
        assert not FEATURES["filter_templates"]


def test_the_typed_collection_reads_back_every_supported_type(runner) -> None:  # type: ignore[no-untyped-def]
    """The typed collection round-trips through the sync client: every field of every row as written (nullable
    None as the field's default or None), dynamic keys included."""
    ns, _ = new_namespaces(shared=True)
    try:
        build(runner.sync, ns, (Need.TYPED,), runner.timeout)
        got = runner.sync.query(ns.name("typed"), filter='pk >= ""', output_fields=["*"], limit=100,
                                timeout=runner.timeout)
    finally:
        cleanup(runner.sync, [ns.prefix], runner.timeout)
    assert [r["pk"] for r in got] == [typed.pk(i) for i in range(typed.ROWS)]
    for i, row in enumerate(got):
        want = typed.row(i)
        for name, value in want.items():
            if name in typed.NULLABLES and value is None:
                value = typed.NULLABLES[name][1].get("default_value")
            v = next((v for v in typed.VECTORS if v.field == name), None)
            if v is not None and v.dtype in ("FLOAT16_VECTOR", "BFLOAT16_VECTOR", "BINARY_VECTOR", "INT8_VECTOR"):
                continue  # returned in the server's byte form; the differential checks compare both clients' forms
            if isinstance(value, float) or (isinstance(value, list) and value and isinstance(value[0], float)):
                assert row[name] == pytest.approx(value, rel=1e-6), (name, row[name], value)
            else:
                assert row[name] == value, (name, row[name], value)
