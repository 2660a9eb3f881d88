"""--backend lite|lite25|standalone: the engine table, the refusal of what an engine lacks (before a run, exit 2),
and a real Milvus Lite 2.5.1 server from its managed virtualenv: it serves, and the features refused are the ones
that really break it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scenarios import engines
from scenarios.datasets.base import Dataset
from vdb_harness.kernel.errors import BadInputError
from scenarios.model import Scenario, TargetSpec

BASE = {
    "name": "eng",
    "dataset": {"kind": "generated", "generator": "gaussian", "rows": 20, "queries": 3},
    "collection": {"name": "eng", "fields": [
        {"name": "id", "type": "INT64", "primary": True},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
        {"name": "n", "type": "INT64"},
    ]},
    "indexes": [{"field": "vector", "index_type": "FLAT", "metric": "L2"}],
    "workload": {"tasks": [{"kind": "dense_search"}]},
}


def _scenario(**changes) -> Scenario:  # type: ignore[no-untyped-def]
    data = {**BASE, **changes}
    return Scenario.model_validate(data)


def _templated() -> Scenario:
    return _scenario(workload={"tasks": [{"kind": "filtered_search", "name": "by_ids", "filter": "id in {ids}"}]})


def test_every_engine_says_what_its_numbers_mean() -> None:
    assert set(engines.NAMES) == set(engines.ENGINES)
    for name in engines.NAMES:
        assert engines.ENGINES[name].numbers and engines.describe(name).startswith(engines.ENGINES[name].title)
    assert "pure-Python" in engines.describe("lite") and "C++" in engines.describe("lite25")
    assert engines.name_of("milvus-lite-cpp") == "lite25" and engines.name_of("milvus-lite-python") == "lite"
    assert "setuptools<81" in engines.ENGINES["lite25"].requirements
    with pytest.raises(BadInputError, match="unknown engine"):
        engines.engine("lite4")


def test_a_template_filter_is_refused_on_lite25_only() -> None:
    scenario = _templated()
    with pytest.raises(BadInputError) as err:
        engines.refuse_lacking(scenario, TargetSpec(backend="lite25"))
    assert err.value.exit_code == 2
    assert "by_ids" in str(err.value) and "id in {ids}" in str(err.value) and "template" in str(err.value)
    engines.refuse_lacking(scenario, TargetSpec(backend="lite"))  # Lite 3 parses templates
    engines.refuse_lacking(scenario, TargetSpec(target="http://127.0.0.1:19530", backend="lite"))  # not ours to judge
    engines.refuse_lacking(_scenario(workload={"tasks": [{"kind": "filtered_search", "filter": "n > 3"}]}),
                           TargetSpec(backend="lite25"))  # a plain filter is fine


def _dataset(column: np.ndarray) -> Dataset:
    return Dataset(name="eng", ids=np.arange(len(column), dtype=np.int64),
                   vectors={"vector": np.zeros((len(column), 4), dtype=np.float32)}, scalars={"n": column},
                   queries={"vector": np.zeros((1, 4), dtype=np.float32)}, meta={"primary_field": "id"})


def test_none_in_a_non_nullable_field_is_refused_on_lite25() -> None:
    with_none = _dataset(np.array([1, None, 3, None], dtype=object))
    with pytest.raises(BadInputError, match=r"field 'n' is not nullable but 2 of 4 rows give None"):
        engines.refuse_lacking(_scenario(), TargetSpec(backend="lite25"), with_none)
    engines.refuse_lacking(_scenario(), TargetSpec(backend="lite25"))  # nothing to see before the dataset exists
    engines.refuse_lacking(_scenario(), TargetSpec(backend="lite25"), _dataset(np.array([1, 2, 3])))
    nullable = {**BASE["collection"], "fields": BASE["collection"]["fields"][:2]
                + [{"name": "n", "type": "INT64", "nullable": True}]}
    engines.refuse_lacking(_scenario(collection=nullable), TargetSpec(backend="lite25"), with_none)


def test_run_load_and_capacity_refuse_before_any_server_starts(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The commands call the refusal before the server (and its virtualenv) is touched: exit 2 at once."""
    import tomllib  # noqa: F401 - the scenario is written as TOML below

    from vdb_harness.cli import main

    path = tmp_path / "templated.toml"
    path.write_text('name = "templated"\n[dataset]\nkind = "generated"\ngenerator = "gaussian"\nrows = 20\n'
                    'queries = 3\n[collection]\nname = "templated"\nfields = [\n'
                    '  { name = "id", type = "INT64", primary = true },\n'
                    '  { name = "vector", type = "FLOAT_VECTOR", dim = 4 },\n]\n'
                    '[[indexes]]\nfield = "vector"\nindex_type = "FLAT"\nmetric = "L2"\n'
                    '[slo]\np99_ms = 100\n[workload]\n[[workload.tasks]]\nkind = "filtered_search"\n'
                    'name = "tpl"\nfilter = "id in {ids}"\n')

    def no_server(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("a server was started for a scenario the engine cannot serve")

    monkeypatch.setattr(engines, "server_python", no_server)
    for command in (["run"], ["capacity"]):
        assert main([*command, str(path), "--backend", "lite25", "--out", str(tmp_path / command[0])]) == 2
        assert not (tmp_path / command[0] / "result.json").exists()


def test_a_venv_that_cannot_be_made_is_exit_2_naming_the_problem(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """``serve --backend lite25`` whose virtualenv cannot be created (here: a requirement that does not exist)."""
    from vdb_harness.cli import main

    monkeypatch.setenv("VDB_HARNESS_CACHE", str(tmp_path / "cache"))
    broken = engines.Engine("lite25", "Milvus Lite 2.5.1 (C++ engine)", "lite", (str(tmp_path / "missing.whl"),), (),
                            "n/a")
    monkeypatch.setitem(engines.ENGINES, "lite25", broken)
    assert main(["serve", "--backend", "lite25"]) == 2
    err = capsys.readouterr().err
    assert "cannot install" in err and "missing.whl" in err
    left = list((tmp_path / "cache" / "venvs").iterdir())
    assert left == [], f"a failed creation left {left}"


# ------------------------------------------------------------------------------------------ the real engine


def _lite25_or_skip() -> str:
    from scenarios import venvs

    try:
        return engines.server_python("lite25")  # type: ignore[return-value]  # created on first use
    except venvs.VenvError as exc:
        pytest.skip(f"Milvus Lite 2.5.1 cannot be installed here: {exc}")


@pytest.mark.server
def test_lite25_serves_from_its_managed_venv() -> None:
    """Start Milvus Lite 2.5.1 (the C++ engine), insert and search through pymilvus."""
    from pymilvus import MilvusClient

    from scenarios.embedded import EmbeddedMilvus

    _lite25_or_skip()
    with EmbeddedMilvus(backend="lite25") as server:
        assert server.info is not None and server.info.engine == "milvus-lite-cpp"
        assert server.info.backend_version == "2.5.1"
        client = MilvusClient(uri=server.uri, timeout=10)
        try:
            client.create_collection("c", dimension=4, timeout=10)
            rows = [{"id": i, "vector": [float(i), 0.0, 0.0, 1.0]} for i in range(50)]
            assert client.insert("c", rows, timeout=10)["insert_count"] == 50
            hits = client.search("c", data=[[7.0, 0.0, 0.0, 1.0]], limit=3, timeout=10)[0]
            assert hits[0]["id"] == 7
        finally:
            client.close()


@pytest.mark.server
def test_what_lite25_is_refused_really_breaks_it() -> None:
    """The refusals have a reason on the real engine: a template filter fails, and None in a non-nullable field
    kills the server (the suite's own trigger of that crash). When Lite 2.5 stops doing so, this test turns red
    and the refusal can go."""
    from pymilvus import MilvusClient

    from conformance.servers import CRASH_TRIGGERS
    from scenarios.embedded import EmbeddedMilvus

    _lite25_or_skip()
    with EmbeddedMilvus(backend="lite25") as server:
        client = MilvusClient(uri=server.uri, timeout=5)
        client.create_collection("c", dimension=2, timeout=5)
        client.insert("c", [{"id": 1, "vector": [0.1, 0.2]}], timeout=5)
        assert client.query("c", filter="id in [1]", timeout=5)  # the plain filter works
        with pytest.raises(Exception):
            client.query("c", filter="id in {ids}", filter_params={"ids": [1]}, timeout=5)
        kill = CRASH_TRIGGERS["null_into_non_nullable"](client, 5)
        with pytest.raises(Exception):
            kill()
        assert server.gone_within(10), "Lite 2.5.1 survived None: drop the refusal"
        client.close()


def test_load_refuses_before_any_server_starts(tmp_path: Path) -> None:
    """``vdb-harness load`` (in its own process: it patches its process for gevent) refuses a template filter on
    lite25 with exit 2 and no result, before a server or a virtualenv is touched."""
    import os
    import subprocess
    import sys

    path = tmp_path / "t.toml"
    path.write_text('name = "t"\n[dataset]\nkind = "generated"\ngenerator = "gaussian"\nrows = 20\nqueries = 3\n'
                    '[collection]\nname = "t"\nfields = [\n  { name = "id", type = "INT64", primary = true },\n'
                    '  { name = "vector", type = "FLOAT_VECTOR", dim = 4 },\n]\n'
                    '[[indexes]]\nfield = "vector"\nindex_type = "FLAT"\nmetric = "L2"\n'
                    '[workload]\n[[workload.tasks]]\nkind = "query"\nfilter = "id > {lo}"\n')
    env = {**os.environ, "VDB_HARNESS_CACHE": str(tmp_path / "no-cache")}
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", str(path), "--backend", "lite25",
                           "--run-time", "2s", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=300, env=env, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "template" in proc.stderr and "id > {lo}" in proc.stderr
    assert not (tmp_path / "out" / "result.json").exists() and not (tmp_path / "no-cache").exists()
