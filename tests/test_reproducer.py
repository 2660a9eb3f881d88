"""Reproducer scripts stand alone: the script and the kit beside it import only the standard library, pymilvus
and (when needed) numpy/scipy; the setup, the arguments and the probes they make are exactly what the harness
does; they run outside the checkout."""

from __future__ import annotations

import dataclasses
import sys
import types
from typing import Any, Callable

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, Phase, find, given, reject, settings
from pymilvus import AsyncMilvusClient, DataType, MilvusClient, RRFRanker

from conformance import replay, typed, world
from conformance.example import Divergence, probe_calls
from conformance.probes import CLIENT_PROBES
from conformance.pysource import Emitter, Unrenderable, canon
from conformance.registry import MethodSpec, Need
from conformance.repro_kit import KIT, write_script
from conformance.specs import load_all
from conformance.reproducer import render
from conformance.world import Namespace, build, cleanup
from tests.reproducer_runs import assert_standalone, imported_modules, run_outside_checkout

SPECS = load_all()
FEW = settings(max_examples=4, deadline=None, database=None, derandomize=True,
               suppress_health_check=list(HealthCheck))
TIMEOUT = 30


class Calls:
    """A stand-in client recording server calls (schema/index factories are pymilvus's own)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, method: str) -> Any:
        if method in ("create_schema", "prepare_index_params", "create_struct_field_schema"):
            return getattr(MilvusClient, method)
        return lambda *args, **kwargs: self.calls.append((method, args, kwargs))


def script_case(script: str) -> replay.Case:
    """The :class:`conformance.replay.Case` the script hands to the kit's ``main`` (run as ``__main__`` on the
    harness's own replay module, with ``main`` capturing instead of calling the server)."""
    captured: list[replay.Case] = []
    kit = types.ModuleType(f"{KIT}.replay")
    kit.__dict__.update(vars(replay))
    kit.main = lambda kwargs, **case: captured.append(replay.Case(kwargs=kwargs, **case))  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, KIT, types.ModuleType(KIT))
        patch.setitem(sys.modules, f"{KIT}.replay", kit)
        exec(compile(script, "reproduce.py", "exec"), {"__name__": "__main__"})  # noqa: S102 - the script under test
    assert len(captured) == 1, "the script must call main once"
    return captured[0]


def assert_same_as_harness(script: str, spec: MethodSpec, div: Divergence) -> None:
    """Executed, the script's setup, arguments and probes equal what the harness builds, passes and probes, and
    it names the harness's comparison, timeout and client choice for the method."""
    case = script_case(script)
    assert case.method == div.method
    ns = Namespace("x1s_")
    p = ns.name
    ours, harness = Calls(), Calls()
    case.build(ours, p)
    build(harness, ns, div.needs, TIMEOUT)
    assert repr(canon(ours.calls)) == repr(canon(harness.calls))
    expected = ns.resolve(dict(div.kwargs))
    positional = expected.pop("__positional__", None)
    assert repr(canon(case.kwargs(p))) == repr(canon(expected))
    if positional is not None:
        assert case.args is not None and repr(canon(case.args(p))) == repr(canon(positional))
    probed = typed.narrowed(spec, div.kwargs) if spec.mutates else spec  # what run_example probes
    assert repr(canon(case.probe_list(p))) == repr(canon(ns.resolve(probe_calls(probed))))
    assert (case.mode, set(case.volatile)) == (probed.compare.name, set(probed.volatile_keys))
    assert (case.timeout, case.fresh) == (probed.timeout, probed.fresh_clients)
    assert case.features == {k: v for k, v in world.FEATURES.items() if not v}


def divergence(spec: MethodSpec, kwargs: dict[str, Any], needs: tuple[Need, ...] | None = None) -> Divergence:
    """A divergence of ``spec`` with these arguments (outcomes are placeholders)."""
    return Divergence(spec.name, "example \x00\r \\N{x} \"\"\"", kwargs, spec.needs if needs is None else needs,
                      {"ok": True, "value": "a\\b \"\"\" {x}"}, {"ok": False, "error": {"message": "\\N{oops}"}})


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_spec_renders_a_standalone_script_equal_to_the_harness(name: str) -> None:
    """For drawn arguments of every spec: the script and its kit import nothing of the harness, the script
    compiles, and its call, setup, arguments and probes equal the harness's (Lazy objects rendered from the built
    object)."""
    spec = SPECS[name]
    if not hasattr(AsyncMilvusClient, name):
        pytest.skip(f"the installed pymilvus has no AsyncMilvusClient.{name}")

    def check(kwargs: dict[str, Any]) -> None:
        try:
            Namespace("x1s_").resolve(kwargs)
        except AttributeError:  # an object this pymilvus lacks (INT8_VECTOR on 2.5): the harness cannot call it
            reject()
        div = divergence(spec, kwargs)
        script = render(div)
        assert_standalone(script)
        compile(script, f"reproduce_{name}.py", "exec")
        assert_same_as_harness(script, spec, div)

    for kwargs in getattr(spec, "explicit", ()):  # the arguments a spec always tries
        check(kwargs)
    FEW(given(kwargs=spec.args())(check))()


def test_the_kit_builds_the_standard_needs_and_the_script_writes_out_the_rest() -> None:
    """PARTITION + ALIAS and the RBAC needs are built by the kit with the harness's own calls (nothing written
    out); the typed collection, which the kit has no builder for, is written out as literal calls."""
    spec = SPECS["has_partition"]
    div = divergence(spec, {"collection_name": world.Ref("coll"), "partition_name": world.Ref("part")},
                     needs=(Need.PARTITION, Need.ALIAS))
    script = render(div)
    assert "def setup(" not in script and "needs=['partition', 'alias']" in script
    assert_same_as_harness(script, spec, div)
    rbac = SPECS["grant_role"]
    div = divergence(rbac, {"user_name": world.Ref("user"), "role_name": world.Ref("role")})
    assert_same_as_harness(render(div), rbac, div)
    typed_div = divergence(SPECS["query"], {"collection_name": typed.T, "filter": 'pk >= ""'}, needs=(Need.TYPED,))
    script = render(typed_div)
    assert "def setup(client, p):" in script and "client.create_collection(p('typed')" in script
    assert "from vdb_repro.replay import TIMEOUT, main" in script
    assert_standalone(script)
    assert_same_as_harness(script, SPECS["query"], typed_div)


def test_setup_follows_the_features_the_run_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nullable fields switched off (a server that refuses them), the script says so and builds without
    them."""
    spec = SPECS["describe_collection"]
    for feature in world.FEATURES:
        monkeypatch.setitem(world.FEATURES, feature, True)
    assert "features=" not in render(divergence(spec, {"collection_name": world.Ref("coll")}))
    monkeypatch.setitem(world.FEATURES, "nullable", False)
    div = divergence(spec, {"collection_name": world.Ref("coll")})
    script = render(div)
    assert "features={'nullable': False}" in script
    assert_same_as_harness(script, spec, div)
    ours = Calls()
    script_case(script).build(ours, Namespace("x1s_").name)
    assert "nullable" not in repr(ours.calls)


def test_numpy_and_scipy_are_imported_only_when_the_arguments_hold_them() -> None:
    spec = SPECS["search"]
    plain = render(divergence(spec, {"collection_name": world.Ref("coll"), "data": [[0.5] * 4]}))
    assert imported_modules(plain) & {"numpy", "scipy"} == set()
    kwargs = {"collection_name": world.Ref("coll"), "data": np.array([[0.5, 1.0, -2.0, 0.25]], dtype=np.float32),
              "limit": np.int64(3), "sparse": scipy.sparse.csr_array(([0.5, 1.5], ([0, 0], [3, 17])), shape=(1, 40)),
              "ranker": RRFRanker(7)}
    div = divergence(spec, kwargs)
    script = render(div)
    assert {"numpy", "scipy"} <= imported_modules(script)
    assert "np.array([[0.5, 1.0, -2.0, 0.25]], dtype=np.float32)" in script
    assert_standalone(script)
    assert_same_as_harness(script, spec, div)


def _struct_in_schema() -> Any:
    if not hasattr(MilvusClient, "create_struct_field_schema"):
        pytest.skip("the installed pymilvus has no struct fields")
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    struct = MilvusClient.create_struct_field_schema()
    struct.add_field("x", DataType.INT64)
    schema.add_field("st", DataType.ARRAY, element_type=DataType.STRUCT, struct_schema=struct, max_capacity=2)
    return schema


def _changed_after_construction() -> Any:
    schema = MilvusClient.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("k", DataType.INT64)
    schema.fields[1].is_partition_key = True  # not in the arguments the field was made with
    return schema


class _OtherRanker(RRFRanker):
    pass


@pytest.mark.parametrize("make", [object, _struct_in_schema, _changed_after_construction, lambda: _OtherRanker(5),
                                  lambda: scipy.sparse.dia_matrix(np.eye(3)), lambda: world.Need.COLLECTION],
                         ids=["object", "struct-field", "mutated-field", "ranker-subclass", "dia-matrix", "enum"])
def test_objects_without_faithful_source_fail_loudly(make: Callable[[], Any]) -> None:
    """A value the renderer cannot write exactly raises instead of producing a script that calls something else."""
    with pytest.raises(Unrenderable):
        Emitter().expr(make())
    with pytest.raises(Unrenderable):
        render(divergence(SPECS["search"], {"collection_name": world.Ref("coll"), "x": world.Lazy(make, "x")}))


# ---------------------------------------------------------------- on the embedded server, outside the checkout

def _drawn(name: str, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first drawn arguments of ``name`` that satisfy ``condition`` (deterministic, not shrunk)."""
    return find(SPECS[name].args(), condition, settings=settings(
        max_examples=300, database=None, deadline=None, derandomize=True, phases=[Phase.generate],
        suppress_health_check=list(HealthCheck)))


def _hybrid_with_filter_and_sparse(kwargs: dict[str, Any]) -> bool:
    sources = [req.source for req in kwargs["reqs"]]
    return any("'sparse'" in s for s in sources) and any("expr=None" not in s for s in sources)


RUNS = [
    ("hybrid_search", lambda: _drawn("hybrid_search", _hybrid_with_filter_and_sparse), None),
    ("create_collection", lambda: _drawn("create_collection", lambda k: "schema" in k and "index_params" in k), None),
    ("has_partition", lambda: _drawn("has_partition", lambda k: True), (Need.PARTITION, Need.ALIAS)),
    # a call that raises on one side (pymilvus 2.6/3.0: only the async client raises): probed afterwards all the same
    ("compact", lambda: {"collection_name": world.Ref("nosuch")}, None),
    # a fresh client pair whose own state the call changes: the client probe shows where its next call lands
    ("use_database", lambda: {"db_name": world.Ref("db")}, None),
    # a write that fails on the server: what the server holds afterwards is part of the verdict
    ("insert", lambda: {"collection_name": world.Ref("coll"), "data": [{"id": 1}]}, None),
]


@pytest.fixture(scope="module")
def server(milvus):  # type: ignore[no-untyped-def]
    """The session server, after one harness build (which settles the features it accepts, as a run does)."""
    if milvus.token or milvus.db_name != "default":
        pytest.skip("reproducer scripts take a URI only (no token, default database)")
    client = milvus.sync_client()
    ns, _ = world.new_namespaces(shared=True)
    try:
        build(client, ns, (Need.COLLECTION,), TIMEOUT)
    finally:
        cleanup(client, [ns.prefix], TIMEOUT)
        client.close()
    return milvus


@pytest.mark.server
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name,draw,needs", RUNS, ids=[r[0] for r in RUNS])
def test_script_runs_outside_the_checkout(server, tmp_path, name: str,  # type: ignore[no-untyped-def]
                                          draw: Callable[[], dict], needs: tuple[Need, ...] | None) -> None:
    """Written with its kit to a temp directory and run with every harness package unimportable, the script prints both
    outcomes and the probes, leaves no collection behind, and its exit code is the harness's verdict on the same
    example (1: diverges, 0: agrees), so a script shows a divergence by itself and tells when it is gone."""
    from conformance.example import run_example
    from conformance.runner import Runner

    spec = SPECS[name]
    if not hasattr(AsyncMilvusClient, name):
        pytest.skip(f"the installed pymilvus has no AsyncMilvusClient.{name}")
    kwargs = draw()
    run_spec = spec if needs is None else dataclasses.replace(spec, needs=needs)
    runner = Runner(server)
    try:
        run_example(runner, run_spec, kwargs)
        expected = 0
    except Divergence:
        expected = 1
    finally:
        runner.close()
    probed = typed.narrowed(run_spec, kwargs) if spec.mutates else run_spec  # the state run_example built
    script = render(divergence(spec, kwargs, probed.needs))
    path = write_script(tmp_path, f"reproduce_{name}.py", script)
    admin = server.sync_client()
    try:
        before = set(admin.list_collections(timeout=TIMEOUT))
        proc = run_outside_checkout(path, server.uri)
        after = set(admin.list_collections(timeout=TIMEOUT))
    finally:
        admin.close()
    assert proc.returncode == expected, f"harness says {expected}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    lines = proc.stdout.splitlines()
    assert any(line.startswith(("sync returned:", "sync raised:")) for line in lines), proc.stdout[-3000:]
    assert any(line.startswith(("async returned:", "async raised:")) for line in lines), proc.stdout[-3000:]
    for side in ("sync", "async"):  # every probe the harness makes, after the call, on both sides
        for i, (method, _) in enumerate(probe_calls(typed.narrowed(spec, kwargs) if spec.mutates else spec)):
            assert f"  {side} after the call, {i}:{method}:" in proc.stdout, proc.stdout[-3000:]
        for method, _ in CLIENT_PROBES:
            assert f"  {side} after the call, client:{method}:" in proc.stdout, proc.stdout[-3000:]
    assert ("the clients DIVERGE" in lines[-1]) == bool(expected), lines[-1]
    assert "ModuleNotFoundError" not in proc.stderr and "ImportError" not in proc.stderr
    assert after == before, f"left behind: {after - before}"
