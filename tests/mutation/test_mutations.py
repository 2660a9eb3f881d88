"""Proof that the conformance suite catches bugs: each deliberately wrong AsyncMilvusClient is reported as a
divergence of the right method, and the unmodified client is reported clean in three repeated runs."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from conformance.check import check_method
from conformance.specs import load_all
from conformance.runner import Runner
from tests.mutation.faults import Faulty, drop_kwarg, off_by_one_limit, reversed_order, truncated
from tests.reproducer_runs import assert_reproducer_of

pytestmark = pytest.mark.server
SPECS = load_all()

#: (label, method, how the async client is broken)
MUTANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("drops output_fields", "query", {"before": drop_kwarg("output_fields")}),
    ("drops filter", "search", {"before": drop_kwarg("filter")}),
    ("results in another order", "search", {"after": reversed_order}),
    ("rows in another order", "get", {"after": reversed_order}),
    ("swallows an error", "describe_collection", {"swallow": True}),
    ("swallows an error", "drop_partition", {"swallow": True}),
    ("off-by-one limit", "search", {"before": off_by_one_limit}),
    ("off-by-one limit", "hybrid_search", {"before": off_by_one_limit}),
    ("truncated value", "list_collections", {"after": truncated}),
    ("stale insert count", "insert", {"after": truncated}),
]


def _runner(milvus, wrap: Callable[[Any], Any] | None) -> Iterator[Runner]:  # type: ignore[no-untyped-def]
    runner = Runner(milvus, wrap_async=wrap)
    try:
        yield runner
    finally:
        runner.close()


@pytest.mark.parametrize("label,method,fault", MUTANTS, ids=[f"{m}-{lbl.replace(' ', '_')}" for lbl, m, _ in MUTANTS])
def test_mutant_is_reported(milvus, family: str, tmp_path, label: str, method: str, fault: dict) -> None:  # type: ignore[no-untyped-def]
    """The suite reports a divergence of exactly ``method`` and writes a reproducer for it."""
    for runner in _runner(milvus, lambda client: Faulty(client, method, **fault)):
        verdict = check_method(runner, SPECS[method], family, out_dir=tmp_path, entries=[], max_examples=25)
        assert verdict.status == "diverges", f"mutant '{label}' of {method} went unnoticed: {verdict.as_dict()}"
        assert verdict.method == method
        assert verdict.reproducer and f"reproduce_{method}.py" in verdict.reproducer
        assert_reproducer_of(verdict.reproducer, method)


CLEAN_METHODS = ("search", "hybrid_search", "query", "get", "insert", "delete", "describe_collection",
                 "list_collections", "drop_partition", "create_collection")


@pytest.mark.parametrize("run", [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)])
def test_unmodified_client_reports_no_divergence(milvus, family: str, tmp_path, run: int) -> None:  # type: ignore[no-untyped-def]
    """Three repeated runs on the real client/server pair: every method passes (or is a known/unsupported one).
    The default run makes the first; `tox -e nightly` (``-m "slow or not slow"``) makes all three."""
    for runner in _runner(milvus, None):
        verdicts = [check_method(runner, SPECS[m], family, out_dir=tmp_path) for m in CLEAN_METHODS]
        bad = [(v.method, v.status, v.detail) for v in verdicts if v.status in ("diverges", "error")]
        assert not bad, f"run {run}: divergences on an unmodified client: {bad}"
        assert all(v.examples > 0 for v in verdicts if v.status == "pass")
