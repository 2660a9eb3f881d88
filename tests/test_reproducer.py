"""Reproducer scripts stand alone: only the standard library, pymilvus and (when needed) numpy/scipy; the setup,
the arguments and the probes they contain are exactly what the harness does; they run outside the checkout."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
from typing import Any, Callable

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, Phase, find, given, reject, settings
from pymilvus import AsyncMilvusClient, DataType, MilvusClient, RRFRanker

from conformance import typed, world
from conformance.example import CLIENT_PROBES, Divergence, probe_calls
from conformance.pysource import Emitter, Unrenderable, canon
from conformance.registry import MethodSpec, Need
from conformance.specs import load_all
from conformance.reproducer import render
from conformance.world import Namespace, build, cleanup

SPECS = load_all()
STDLIB = set(sys.stdlib_module_names)
#: What pymilvus itself installs and the copied comparison imports (gRPC status codes, protobuf messages).
PYMILVUS_DEPENDENCIES = {"grpc", "google"}
HARNESS = ("conformance", "scenarios", "loadtests", "reports", "tests", "benchmarks")
FEW = settings(max_examples=4, deadline=None, database=None, derandomize=True,
               suppress_health_check=list(HealthCheck))
TIMEOUT = 30


def imported_modules(script: str) -> set[str]:
    """Top-level names of every module the script imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import in a reproducer"
            names.add((node.module or "").split(".")[0])
    return names


def assert_standalone(script: str) -> None:
    """Every import is stdlib, pymilvus, numpy or scipy; no harness module is named anywhere."""
    modules = imported_modules(script)
    assert modules <= STDLIB | {"pymilvus", "numpy", "scipy"} | PYMILVUS_DEPENDENCIES, modules
    assert not modules & set(HARNESS)


class Calls:
    """A stand-in client recording server calls (schema/index factories are pymilvus's own)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, method: str) -> Any:
        if method in ("create_schema", "prepare_index_params", "create_struct_field_schema"):
            return getattr(MilvusClient, method)
        return lambda *args, **kwargs: self.calls.append((method, args, kwargs))


def load_script(script: str) -> dict[str, Any]:
    """The script's module namespace (``main`` is not run)."""
    import types

    module = types.ModuleType("reproducer_under_test")  # a real module: the script's dataclasses look it up
    sys.modules[module.__name__] = module
    exec(compile(script, "reproduce.py", "exec"), module.__dict__)  # noqa: S102 - the script under test
    return module.__dict__


def assert_same_as_harness(script: str, spec: MethodSpec, div: Divergence) -> None:
    """Executed, the script's setup, arguments and probes equal what the harness builds, passes and probes."""
    space = load_script(script)
    ns = Namespace("x1s_")
    p = space["namer"](ns.prefix)
    ours, harness = Calls(), Calls()
    space["setup"](ours, p)
    build(harness, ns, div.needs, TIMEOUT)
    assert repr(canon(ours.calls)) == repr(canon(harness.calls))
    expected = ns.resolve(dict(div.kwargs))
    positional = expected.pop("__positional__", None)
    assert repr(canon(space["kwargs"](p))) == repr(canon(expected))
    if positional is not None:
        assert repr(canon(space["args"](p))) == repr(canon(positional))
    probed = typed.narrowed(spec, div.kwargs) if spec.mutates else spec  # what run_example probes
    assert repr(canon(space["probes"](p))) == repr(canon(ns.resolve(probe_calls(probed))))
    assert repr(canon(space["client_probes"](p))) == repr(canon(ns.resolve(CLIENT_PROBES)))
    assert space["MODE"].name == spec.compare.name and space["VOLATILE"] == spec.volatile_keys


def divergence(spec: MethodSpec, kwargs: dict[str, Any], needs: tuple[Need, ...] | None = None) -> Divergence:
    """A divergence of ``spec`` with these arguments (outcomes are placeholders)."""
    return Divergence(spec.name, "example \x00\r \\N{x} \"\"\"", kwargs, spec.needs if needs is None else needs,
                      {"ok": True, "value": "a\\b \"\"\" {x}"}, {"ok": False, "error": {"message": "\\N{oops}"}})


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_spec_renders_a_standalone_script_equal_to_the_harness(name: str) -> None:
    """For drawn arguments of every spec: the script imports nothing of the harness, compiles, calls both
    clients, and its setup/arguments/probes equal the harness's (Lazy objects rendered from the built object)."""
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
        assert f"sync.{name}(" in script and f"client.{name}(" in script
        assert_same_as_harness(script, spec, div)

    for kwargs in getattr(spec, "explicit", ()):  # the arguments a spec always tries
        check(kwargs)
    FEW(given(kwargs=spec.args())(check))()


def test_needs_partition_alias_and_rbac_are_built_by_literal_calls() -> None:
    """PARTITION + ALIAS and the RBAC needs become the harness's calls, written out."""
    spec = SPECS["has_partition"]
    div = divergence(spec, {"collection_name": world.Ref("coll"), "partition_name": world.Ref("part")},
                     needs=(Need.PARTITION, Need.ALIAS))
    script = render(div)
    for call in ("client.create_partition(p('coll'), p('part')", "client.create_alias(p('coll'), p('alias')",
                 "schema.add_field('vec', DataType.FLOAT_VECTOR, dim=4)", "index_params.add_index('vec'"):
        assert call in script
    assert_same_as_harness(script, spec, div)
    rbac = SPECS["grant_role"]
    div = divergence(rbac, {"user_name": world.Ref("user"), "role_name": world.Ref("role")})
    script = render(div)
    assert "client.create_user(p('user'), 'Passw0rd!'" in script and "client.create_role(p('role')" in script
    assert_standalone(script)
    assert_same_as_harness(script, rbac, div)


def test_setup_follows_the_features_the_run_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nullable fields switched off (a server that refuses them), the script builds without them."""
    spec = SPECS["describe_collection"]
    assert "nullable=True" in render(divergence(spec, {"collection_name": world.Ref("coll")}))
    monkeypatch.setitem(world.FEATURES, "nullable", False)
    div = divergence(spec, {"collection_name": world.Ref("coll")})
    script = render(div)
    assert "nullable" not in script and "'opt': None" not in script
    assert_same_as_harness(script, spec, div)


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
    """Copied to a temp directory and run with every harness package unimportable, the script prints both
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
    path = tmp_path / f"reproduce_{name}.py"
    path.write_text(script)
    blocked = ", ".join(repr(m) for m in HARNESS)
    code = (f"import sys, runpy; [sys.modules.__setitem__(m, None) for m in ({blocked})]; "
            f"sys.argv = [{str(path)!r}, {server.uri!r}]; runpy.run_path({str(path)!r}, run_name='__main__')")
    admin = server.sync_client()
    try:
        before = set(admin.list_collections(timeout=TIMEOUT))
        proc = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                              timeout=240, env={**os.environ, "PYTHONPATH": ""})
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
