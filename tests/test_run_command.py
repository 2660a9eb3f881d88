"""`vdb-harness run`: the scenario's flow through both clients on a real server, compared step by step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.flow import StepOutcome, compare_runs
from vdb_harness.cli import main
from scenarios.loader import EXAMPLES_DIR
from scenarios.targets import Connection

SMALL_SEED = (EXAMPLES_DIR / "seed_tutorial.toml").read_text().replace("rows = 10000", "rows = 1000").replace(
    "insert_batch_size = 10000", "insert_batch_size = 250")


@pytest.mark.timeout(300)
def test_seed_flow_runs_through_both_clients_with_exact_recall(milvus: Connection, tmp_path: Path) -> None:
    scenario = tmp_path / "seed_small.toml"
    scenario.write_text(SMALL_SEED)
    code = main(["run", str(scenario), "--target", milvus.uri, "--out", str(tmp_path / "out")])
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["kind"] == "run" and result["version"] == 1
    assert code == (0 if result["status"] == "pass" else 1)
    steps = {s["step"]: s for s in result["run"]["steps"]}
    for name in ("create_collection", "load_collection", "count_random_text", "dense_search", "sparse_search",
                 "hybrid_search"):
        assert steps[name]["sync"]["ok"] and steps[name]["async"]["ok"], name
    assert [s for s in steps if s.startswith("insert")] == ["insert[0]", "insert[1]", "insert[2]", "insert[3]"]
    count = steps["count_random_text"]
    assert count["match"] and count["sync"]["output"] == count["async"]["output"]
    for name in ("dense_search", "sparse_search", "hybrid_search"):
        assert steps[name]["match"], steps[name]["why"]
        assert steps[name]["recall"] == {"sync": 1.0, "async": 1.0}, name
    diverged = [s for s in result["run"]["steps"] if not s["match"] and not s["consequence_of"]]
    unexplained = [s for s in diverged if not s.get("known")]  # known: the conformance/known_divergences.toml entry
    assert (result["status"] == "fail") == bool(unexplained or result["run"].get("registry_errors"))
    for step in diverged:
        if step.get("known"):
            assert any(f"known divergence at {step['step']}" in note for note in result["notes"])


def _outcome(step: str, ok: bool = True, output: object = None, replaced_by: list[str] | None = None,
             error_type: str = "", error_code: object = None) -> StepOutcome:
    return StepOutcome(step, "m", ok, 0.01, output=output, error_type=error_type, error_code=error_code,
                       replaced_by=replaced_by or [])


def test_fallback_steps_of_a_diverged_step_are_reported_as_its_consequences() -> None:
    sync = [_outcome("create_index", ok=False, error_type="MilvusException", error_code=6,
                     replaced_by=["create_index[a]"]),
            _outcome("create_index[a]", ok=False, error_type="MilvusException", error_code=6,
                     replaced_by=["create_index[a] fallback FLAT"]),
            _outcome("create_index[a] fallback FLAT"),
            _outcome("search", output=[[{"id": 1, "distance": 0.5}]])]
    asyn = [_outcome("create_index", ok=False, error_type="AioRpcError", error_code="UNIMPLEMENTED"),
            _outcome("search", output=[[{"id": 1, "distance": 0.5000001}]])]
    comparisons = {c.step: c for c in compare_runs(sync, asyn)}
    assert not comparisons["create_index"].match and not comparisons["create_index"].consequence_of
    assert comparisons["create_index[a]"].consequence_of == "create_index"
    assert comparisons["create_index[a] fallback FLAT"].consequence_of == "create_index"
    assert comparisons["search"].match


def test_a_step_difference_names_the_path() -> None:
    """Step outputs are compared with conformance.compare.first_difference: computed scores of search hits agree
    within its tolerance, every other value (a float field included) exactly; a difference names where the outputs
    first differ."""
    def why(x: object, y: object) -> str:
        [c] = compare_runs([_outcome("s", output=x)], [_outcome("s", output=y)])
        assert c.match == (not c.why)
        return c.why

    assert why([[{"id": 1, "distance": 1.0}]], [[{"id": 1, "distance": 1.0 + 1e-9}]]) == ""
    assert why([[{"id": 1, "distance": 1.0}]], [[{"id": 1, "distance": 1.1}]]) == "[0][0].distance: 1.0 != 1.1"
    assert why([{"id": 1, "d": 1.0}], [{"id": 1, "d": 1.0 + 1e-9}]) == "[0].d: 1.0 != 1.000000001"
    assert why([{"id": 1}], [{"id": 2}]) == "[0].id: 1 != 2"
    assert "keys differ" in why({"a": 1}, {"b": 1})
    assert why([1, 2], [1]).endswith("length 2 != 1")
