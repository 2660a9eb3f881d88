"""`vdb-harness run` and the load users send the same pymilvus calls for every shipped scenario.

Both paths are driven against a recording fake client (a unit of our own code: what is checked is which calls we
make, not what a server does with them). The collection's preparation must be the same calls (the flow issues them
in the tutorial's order, the load in bulk order, with a flush), and each workload task's first request must have
the same method and keyword arguments on both paths.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from conformance.flow import run_async, run_sync
from loadtests.prepare import prepare_collection
from loadtests.tasks import WriterState, build_plans
from scenarios.datasets.build import build_dataset
from scenarios.loader import EXAMPLES_DIR, load_scenario
from scenarios.model import Scenario

SHIPPED = sorted(p.stem for p in EXAMPLES_DIR.glob("*.toml"))
PREPARATION = {"create_collection", "insert", "flush", "create_index", "load_collection"}


def plain(value: Any) -> Any:
    """pymilvus argument objects (schema, index params, AnnSearchRequest, rankers, numpy) as comparable data."""
    from pymilvus import AnnSearchRequest

    if isinstance(value, AnnSearchRequest):
        return {"AnnSearchRequest": plain({"data": value.data, "anns_field": value.anns_field, "param": value.param,
                                           "limit": value.limit, "expr": value.expr})}
    if hasattr(value, "dict") and hasattr(value, "_strategy"):  # RRFRanker / WeightedRanker
        return {type(value).__name__: plain(value.dict())}
    if type(value).__name__ == "IndexParams":
        return {"IndexParams": [plain(index.to_dict()) for index in value]}
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        return {type(value).__name__: plain(value.to_dict())}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if sp.issparse(value):
        return {"csr": plain(value.toarray())}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, range)):
        return [plain(v) for v in value]
    return value


class Recorder:
    """Records ``(method, plain kwargs)`` of every call; answers like an empty server (no collection)."""

    def __init__(self, calls: list[tuple[str, Any]]) -> None:
        self.calls = calls

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("timeout", None)  # each path's own policy, not part of the request
            if method != "close":
                self.calls.append((method, plain(kwargs) | ({"args": plain(args)} if args else {})))
            return False if method == "has_collection" else None

        return call


class AsyncRecorder(Recorder):
    """The same, for the ``AsyncMilvusClient`` the flow drives."""

    def __getattr__(self, method: str) -> Any:
        record = super().__getattr__(method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return record(*args, **kwargs)

        return call


class FakeConnection:
    """Hands out recording clients in place of a real target's."""

    uri = "http://127.0.0.1:1"
    timeout = 5.0

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def sync_client(self) -> Recorder:
        return Recorder(self.calls)

    def async_client(self) -> AsyncRecorder:
        return AsyncRecorder(self.calls)


def _small(name: str) -> tuple[Scenario, Any]:
    """A shipped scenario on fewer rows (several insert batches still), each task over ``flow_queries`` queries."""
    scenario = load_scenario(name)
    n = scenario.workload.flow_queries
    dataset_spec = scenario.dataset.model_copy(update={"rows": 300})
    workload = scenario.workload.model_copy(update={
        "insert_batch_size": 120, "tasks": [t.model_copy(update={"batch_size": n}) for t in scenario.workload.tasks]})
    scenario = scenario.model_copy(update={"dataset": dataset_spec, "workload": workload})
    return scenario, build_dataset(scenario, EXAMPLES_DIR)


def _order(calls: list[tuple[str, Any]]) -> list[str]:
    """The preparation's step kinds in order, consecutive inserts as one."""
    out: list[str] = []
    for method, _ in calls:
        if not out or out[-1] != method or method != "insert":
            out.append(method)
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_run_and_load_send_the_same_calls(name: str) -> None:
    scenario, dataset = _small(name)
    indexes = ["create_index"] * len(scenario.indexes)

    flow_conn = FakeConnection()
    run_sync(flow_conn, scenario, dataset)  # type: ignore[arg-type]
    n_tasks = len(scenario.workload.tasks)
    flow_prep, flow_tasks = flow_conn.calls[:-n_tasks], flow_conn.calls[-n_tasks:]
    flow_prep = [c for c in flow_prep if c[0] in PREPARATION]
    # the tutorial's order: searches read the growing segments, so both clients' answers are exact
    assert _order(flow_prep) == ["create_collection", *indexes, "load_collection", "insert"]

    async_conn = FakeConnection()
    run_async(async_conn, scenario, dataset)  # type: ignore[arg-type]
    assert sorted(map(repr, async_conn.calls)) == sorted(map(repr, flow_conn.calls)), "both flow clients alike"

    load_conn = FakeConnection()
    prepare_collection(load_conn, scenario, dataset)  # type: ignore[arg-type]
    load_prep = [c for c in load_conn.calls if c[0] in PREPARATION]
    # bulk order: indexes are built over sealed segments, as a production collection's are
    assert _order(load_prep) == ["create_collection", "insert", "flush", *indexes, "load_collection"]
    assert sorted(map(repr, [c for c in load_prep if c[0] != "flush"])) == sorted(map(repr, flow_prep))
    assert [c for c in load_prep if c[0] == "insert"] == [c for c in flow_prep if c[0] == "insert"]

    load_tasks = []
    for plan in build_plans(scenario, dataset):
        plan.cursor = itertools.count(0)  # the first queries / rows, as the flow takes them
        call = plan.next_call(WriterState(lane=0))
        load_tasks.append((call.method, plain(call.kwargs)))
    assert [m for m, _ in load_tasks] == [m for m, _ in flow_tasks]
    for task, (method, flow_kwargs), (_, load_kwargs) in zip(scenario.workload.tasks, flow_tasks, load_tasks):
        assert load_kwargs == flow_kwargs, f"{name}: task {task.label} ({method})"


def test_search_params_are_nested_with_the_truth_metric() -> None:
    """Both paths send ``{"metric_type": <the metric recall is computed with>, "params": {...}}``."""
    scenario, dataset = _small("filtered")
    for plan in build_plans(scenario, dataset):
        if plan.method == "search":
            params = plan.req.base["search_params"]
            assert params["metric_type"] == scenario.metric_of(plan.req.base["anns_field"]).value
            assert params["params"] == dict(plan.spec.search_params)


def test_an_empty_answer_fails_only_where_the_exact_truth_has_rows(tmp_path, monkeypatch) -> None:
    """The load plan passes the ground truth's per-query answer sizes to the checker: an empty search answer is
    correct for a filter no row passes, and a failure where the truth has rows."""
    from loadtests.plan import LoadPlan
    from loadtests.tasks import EMPTY
    from scenarios.truth.scorers import task_scorers

    monkeypatch.setenv("VDB_HARNESS_CACHE", str(tmp_path))
    scenario, dataset = _small("filtered")
    tasks = [t.model_copy(update={"filter": "pct < 0"}) if t.label == "filter_1pct" else t
             for t in scenario.workload.tasks]
    scenario = scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"tasks": tasks})})
    scorers, notes = task_scorers(scenario, dataset)
    plans = {p.label: p for p in build_plans(scenario, dataset,
                                             min_hits=LoadPlan(scenario, dataset, "fp", scorers, notes).min_hits())}
    for label, expected in (("filter_1pct", None), ("filter_50pct", EMPTY)):
        plan = plans[label]
        call = plan.next_call(WriterState(lane=0))
        code, _ids = plan.check(plan, call, [[] for _ in call.queries])
        assert code == expected, label
