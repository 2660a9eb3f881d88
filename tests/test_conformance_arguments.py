"""Calls derived from both clients' signatures (conformance/arguments.py) and the signature asymmetries
(conformance/discovery.py), without a server: what the strategy draws, how a call is rewritten in the sync form,
and that every asymmetry the suite lists is exercised by an explicit call of its method's spec."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import arguments, discovery
from conformance.arguments import NORMAL_TIMEOUT, POSITIONAL, UNKNOWN_KWARG, Change
from conformance.specs import load_all
from conformance.specs.asymmetry import asymmetry_calls
from conformance.world import Ref

SPECS = load_all()


def _param(name: str, annotation: Any = inspect.Parameter.empty, default: Any = inspect.Parameter.empty
           ) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default)


def test_edge_values_cover_empty_none_zero_negative_wrong_type_and_lists() -> None:
    values = arguments.edge_values(_param("limit", int, 10), 5)
    assert values[:4] == ["", None, 0, -1]
    assert "1" in values  # a str where an int is annotated
    assert [] in values and [5] in values
    assert 1 in arguments.edge_values(_param("collection_name", str), "c")  # an int where a str is annotated
    assert arguments.edge_values(_param("ids", "list"), [3, 4])[-1] == [3]  # one-element list from the base
    assert arguments.wrong_type(_param("flag", "bool")) == "yes"


def test_a_call_in_the_sync_form_is_positional_in_the_sync_order() -> None:
    base = {"collection_name": Ref("coll"), "data": [[0.0] * 4], "limit": 3, "anns_field": "vec"}
    call = arguments.as_sync_positional("search", base, 4)
    names = [p.name for p in arguments.positional_params(arguments.sync_method("search"))]
    assert call[POSITIONAL] == [Ref("coll"), [[0.0] * 4], "", 3]  # filter absent: its default, in its place
    assert names[:4] == ["collection_name", "data", "filter", "limit"]
    assert call["anns_field"] == "vec" and "limit" not in call


def test_a_positional_timeout_is_never_none() -> None:
    call = arguments.as_sync_positional("refresh_load", {"collection_name": Ref("coll")}, 2)
    assert call[POSITIONAL] == [Ref("coll"), NORMAL_TIMEOUT]


def test_positional_calls_are_named_back_by_the_sync_signature() -> None:
    """transfer_replica's hand-written call is positional; a drawn change names its values as the sync client does."""
    base = {POSITIONAL: ["__default_resource_group", Ref("nosuch_rg"), Ref("coll"), 1]}
    named = arguments.by_sync_names("transfer_replica", base)
    assert named == {"source_group": "__default_resource_group", "target_group": Ref("nosuch_rg"),
                     "collection_name": Ref("coll"), "num_replicas": 1}


def test_apply_makes_exactly_one_change() -> None:
    base = {"collection_name": Ref("coll"), "filter": "", "limit": 3}
    assert arguments.apply("query", base, Change("unknown"), 0) == {**base, UNKNOWN_KWARG: 1}
    assert arguments.apply("query", base, Change("timeout", value=0), 0) == {**base, "timeout": 0}
    assert arguments.apply("query", base, Change("edge", "limit", 3), 0)["limit"] == -1
    assert arguments.apply("query", base, Change("edge", "collection_name", 0), 0)["collection_name"] == ""


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_drawn_calls_differ_from_the_hand_written_ones_in_one_way_a_caller_can(data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(["query", "search", "get_load_state", "describe_index", "list_collections",
                                        "insert", "transfer_replica", "describe_collection"]))
    spec = SPECS[method]
    call = data.draw(arguments.call_strategy(spec))
    sync_names = {p.name for p in arguments.parameters(arguments.sync_method(method))}
    positional = call.get(POSITIONAL, [])
    assert len(positional) <= len(arguments.positional_params(arguments.sync_method(method)))
    keywords = set(call) - {POSITIONAL, UNKNOWN_KWARG, "timeout"}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in arguments.parameters(arguments.sync_method(method)))
    assert takes_kwargs or keywords <= sync_names, f"{method}: keywords not named by the sync signature: {call}"


def test_the_strategy_reaches_every_kind_of_change() -> None:
    """Over enough draws of one method every change shows: positional form, unknown keyword, each timeout kind,
    and edge values."""
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(call=arguments.call_strategy(SPECS["query"]))
    def draw(call: dict[str, Any]) -> None:
        if call.get(POSITIONAL):
            seen.add("positional")
        if UNKNOWN_KWARG in call:
            seen.add("unknown")
        if "timeout" in call:
            seen.add(f"timeout={call['timeout']}")
        if call.get("filter", "x") in ("", None, 0, -1, [], 1) or call.get("limit") in ("", None, 0, -1, "1", []):
            seen.add("edge")

    draw()
    assert {"positional", "unknown", "timeout=0", "timeout=0.001", "timeout=None", "timeout=10.0",
            "edge"} <= seen, seen


def test_mutating_methods_never_draw_no_timeout_nor_the_default_database() -> None:
    spec = SPECS["alter_database_properties"]

    @settings(max_examples=150, deadline=None, derandomize=True, database=None)
    @given(call=arguments.call_strategy(spec))
    def draw(call: dict[str, Any]) -> None:
        assert call.get("timeout", 1) is not None
        assert call.get("db_name", "x") not in ("", None)

    draw()


def test_signature_examples_are_few_in_ci_and_many_nightly() -> None:
    assert arguments.signature_examples(1.0, False, "ci") == 1
    assert arguments.signature_examples(1.0, True, "ci") == 0  # the hand-written and derived share the budget
    assert arguments.signature_examples(1.0, False, "nightly") >= 20
    assert arguments.signature_examples(1.0, True, "nightly") >= 10


def _fn(*params: inspect.Parameter) -> Any:
    def f(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN001
        return None
    f.__signature__ = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                                         *params])
    return f


def test_asymmetries_list_missing_renamed_reordered_kinds_and_defaults() -> None:
    kw = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)
    sync = _fn(_param("a"), _param("b"), _param("t", default=None), _param("extra", default=None))
    asyn = _fn(_param("a"), _param("bb"), _param("t", default=1),
               inspect.Parameter("k", inspect.Parameter.KEYWORD_ONLY, default=None), kw)
    found = {(a.kind, a.param, a.partner) for a in discovery.method_asymmetries("m", sync, asyn)}
    assert ("only-sync", "b", "bb") in found and ("only-async", "bb", "b") in found  # renamed at one position
    assert ("only-sync", "extra", "") in found and ("only-async", "kwargs", "") in found
    assert ("default", "t", "") in found
    assert any(k == "order" and p == "extra" for k, p, _ in found)  # sync position 3 binds to nothing on async
    kinds = discovery.method_asymmetries("m", _fn(_param("a")), _fn(inspect.Parameter(
        "a", inspect.Parameter.KEYWORD_ONLY)))
    assert {a.kind for a in kinds} >= {"kind"}
    assert discovery.method_asymmetries("m", sync, sync) == []


def test_every_listed_asymmetry_is_exercised_by_an_explicit_call() -> None:
    missing = []
    for asym in discovery.asymmetries():
        spec = SPECS.get(asym.method)
        if spec is None:
            continue
        calls = [c for c in spec.explicit if arguments.exercises(asym, c)]
        if not calls:
            missing.append(asym.describe())
    assert not missing, f"signature asymmetries no explicit call exercises: {missing}"
    assert any(asymmetry_calls(m) for m in {a.method for a in discovery.asymmetries()})


def test_asymmetry_calls_are_added_once() -> None:
    again = load_all()
    for method, spec in again.items():
        assert len(spec.explicit) == len({repr(c) for c in spec.explicit}), method


# ---------------------------------------------------------------- on the real server

def _asymmetry_divergence(runner: Any, method: str, kind: str) -> Any:
    """The divergence the explicit call of ``method``'s ``kind`` asymmetry shows on the real pair (None: agree)."""
    from conformance.example import Divergence, run_example

    spec = SPECS[method]
    asym = next(a for a in discovery.asymmetries() if a.method == method and a.kind == kind)
    call = next(c for c in spec.explicit if arguments.exercises(asym, c))
    try:
        run_example(runner, spec, call)
    except Divergence as div:
        return div
    return None


@pytest.mark.server
@pytest.mark.timeout(300)
@pytest.mark.parametrize("method,kind", [("get_load_state", "only-async"), ("search", "order")])
def test_a_divergence_found_by_a_sync_form_call_has_a_working_reproducer(runner, milvus, tmp_path,  # type: ignore[no-untyped-def]
                                                                          method: str, kind: str) -> None:
    """The call written as the sync signature allows diverges on the unmodified pair (registered in
    known_divergences.toml); its reproducer, run outside the checkout with no harness package importable, makes the
    same call on both clients, prints both outcomes and exits 1 (the clients diverge)."""
    from conformance.reproducer import write_reproducer
    from tests.reproducer_runs import run_outside_checkout

    if milvus.token or milvus.db_name != "default":
        pytest.skip("reproducer scripts take a URI only (no token, default database)")
    div = _asymmetry_divergence(runner, method, kind)
    if div is None:
        pytest.skip(f"{method}'s {kind} call agrees on pymilvus {__import__('pymilvus').__version__}")
    from conformance import known

    import pymilvus

    entry = known.match(known.applicable(known.load(), method, runner.family, pymilvus.__version__),
                        known.signature(div))
    assert entry is not None, f"unregistered divergence: {div}"
    proc = run_outside_checkout(write_reproducer(div, milvus, tmp_path), milvus.uri)
    # the script judges as the harness does: exit 1 while the clients diverge
    assert proc.returncode == 1, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    out = proc.stdout
    if div.sync.get("ok"):
        assert "sync returned:" in out and "async raised:" in out, out[-3000:]
    else:
        assert "sync raised:" in out and "async returned:" in out, out[-3000:]
    assert "ModuleNotFoundError" not in proc.stderr and "ImportError" not in proc.stderr
