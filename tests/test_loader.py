"""Scenario files: every shipped example validates; bad files fail with one message naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vdb_harness.kernel.errors import ScenarioError
from scenarios.loader import EXAMPLES_DIR, load_scenario, parse_scenario, resolve_scenario_path
from scenarios.model import Metric, TaskKind

SEED = (EXAMPLES_DIR / "seed_tutorial.toml").read_text()


@pytest.mark.parametrize("path", sorted(EXAMPLES_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_example_validates(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.workload.tasks


def test_seed_scenario_matches_the_tutorial() -> None:
    s = load_scenario("seed_tutorial")
    assert [(f.name, f.type.value) for f in s.collection.fields] == [
        ("id", "INT64"), ("dense_vector", "FLOAT_VECTOR"), ("sparse_vector", "SPARSE_FLOAT_VECTOR"), ("text", "VARCHAR")]
    assert s.collection.field("dense_vector").dim == 5
    assert s.collection.field("text").max_length == 512
    assert s.dataset.rows == 10_000 and s.dataset.seed == 42
    assert {i.field: i.index_type for i in s.indexes} == {"dense_vector": "AUTOINDEX", "sparse_vector": "AUTOINDEX",
                                                         "text": "AUTOINDEX"}
    assert s.metric_of("dense_vector") is Metric.IP and s.metric_of("sparse_vector") is Metric.IP
    kinds = [t.kind for t in s.workload.tasks]
    assert kinds == [TaskKind.query, TaskKind.dense_search, TaskKind.sparse_search, TaskKind.hybrid_search]
    assert s.workload.tasks[0].filter == 'text like "%random%"'


def test_a_shipped_example_is_found_by_name() -> None:
    assert resolve_scenario_path("seed_tutorial").name == "seed_tutorial.toml"


def test_unknown_scenario_names_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="seed_tutorial"):
        load_scenario("no_such_scenario_anywhere")


@pytest.mark.parametrize("edit, expected", [
    (("dim = 5", "dim = 0"), r"collection\.fields\[1\]\.dim: Input should be greater than or equal to 1"),
    (("top_k = 10", "top_kk = 10"), r"workload\.top_kk: unknown key"),
    (('name = "seed_tutorial"', ""), r"name: required key is missing"),
    (('type = "INT64", primary = true', 'type = "FLOAT", primary = true'), r"primary key must be INT64 or VARCHAR"),
    (('metric = "IP"', 'metric = "HAMMING2"'), r"indexes\[0\]\.metric"),
    (('rows = 10000', 'rows = "many"'), r"dataset\.generated\.rows"),
    (('rows = 10000', 'rows = 1000000000'), r"rows: Input should be less than or equal to 100000000"),
    (('target = "embedded"', 'target = "ftp://x"'), r"target\.target: .*http\(s\)://host:port"),
    (('fields = ["dense_vector", "sparse_vector"]', 'fields = ["dense_vector"]'), r"hybrid_search needs 'fields'"),
    (('field = "text"\nindex_type', 'field = "nope"\nindex_type'), r"no field 'nope'"),
])
def test_bad_files_name_the_file_and_the_field(edit: tuple[str, str], expected: str) -> None:
    text = SEED.replace(*edit, 1)
    assert text != SEED
    with pytest.raises(ScenarioError, match=expected) as info:
        parse_scenario(text, source="bad.toml")
    assert str(info.value).startswith("bad.toml: ")
    assert "Traceback" not in str(info.value)


def test_toml_syntax_error_and_non_utf8_are_clear() -> None:
    with pytest.raises(ScenarioError, match=r"bad\.toml: not valid TOML"):
        parse_scenario("name = [", source="bad.toml")
    with pytest.raises(ScenarioError, match=r"bad\.toml: not UTF-8 text \(byte 8 is 0xff\)"):
        parse_scenario(b'name = "\xff"', source="bad.toml")


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (5 * 1024 * 1024))
    with pytest.raises(ScenarioError, match="too large"):
        load_scenario(big)


_toml_values = st.recursive(
    st.none().map(lambda _: "0") | st.integers(-10**12, 10**12).map(str) | st.floats(allow_nan=False).map(repr)
    | st.text(max_size=20).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"')
    | st.booleans().map(lambda b: str(b).lower()),
    lambda inner: st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    max_leaves=5,
)
_keys = st.sampled_from(["name", "dim", "rows", "top_k", "metric", "users", "filter", "type", "kind", "weight",
                         "target", "token_env", "fields", "tasks", "p99_ms", "zzz"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.tuples(st.integers(0, SEED.count("\n")), _keys, _toml_values), max_size=4),
       cut=st.integers(0, len(SEED)), garbage=st.binary(max_size=8))
def test_fuzzed_files_give_a_clear_error_or_a_valid_scenario(lines, cut, garbage) -> None:
    """Any mangling (replaced values, truncation, stray bytes) ends as a Scenario or one ScenarioError."""
    text = SEED.splitlines()
    for at, key, value in lines:
        text.insert(min(at, len(text)), f"{key} = {value}")
    raw = ("\n".join(text)[: max(cut, 1)]).encode() + garbage
    try:
        parse_scenario(raw, source="fuzz.toml")
    except ScenarioError as exc:
        message = str(exc)
        assert message.startswith("fuzz.toml: ") and "Traceback" not in message
