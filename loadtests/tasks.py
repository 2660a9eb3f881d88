"""Task kinds -> request builders: a registry, so a new kind is one entry and never an if-chain.

A :class:`TaskPlan` is built once per process for each workload task. On the request path a user asks it for the
next call (``next_call``: method name, keyword arguments, query indices) and, after the call, for the verdict on
the result (``check``: an error code or None, and the returned ids per query for recall). Everything that can be
precomputed (query payloads, hybrid requests, rows to write) is built before the run starts.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from scenarios.datasets.base import Dataset
from scenarios.model import Scenario, TaskKind, TaskSpec

#: Error code of a call that returned nothing where something was expected (an empty result is a failure).
EMPTY = "empty_result"
#: Error code of a call that returned fewer hits/rows than the data guarantees.
SHORT = "short_result"
#: Each user writes ids in its own lane of this many ids past the dataset's largest id.
LANE_WIDTH = 1 << 32


def query_payloads(dataset: Dataset, field_name: str) -> list[Any]:
    """Every test vector of a field as the client takes it: list of floats, or ``{index: value}`` for sparse."""
    column = dataset.queries[field_name]
    if sp.issparse(column):
        csr = column.tocsr()
        return [dict(zip(csr.indices[a:b].tolist(), csr.data[a:b].tolist()))
                for a, b in zip(csr.indptr[:-1], csr.indptr[1:])]
    return np.asarray(column, dtype=np.float32).tolist()


@dataclass
class Call:
    """One request to issue: client method, keyword arguments, and the query indices it searches (for recall)."""

    method: str
    kwargs: dict[str, Any]
    queries: Sequence[int] = ()
    expect: int = 0


@dataclass
class WriterState:
    """What one user has written (its lane of ids), so deletes and upserts hit rows that exist."""

    lane: int
    next_offset: int = 0
    present: deque = field(default_factory=lambda: deque(maxlen=1_000_000))


@dataclass
class TaskPlan:
    """One workload task, ready to issue: label, kind, weight, and the builder/checker for its calls."""

    label: str
    kind: TaskKind
    weight: float
    method: str
    build: Callable[["TaskPlan", Any], Call]
    check: Callable[["TaskPlan", Call, Any], tuple[Optional[str], Optional[list[list[Any]]]]]
    spec: TaskSpec
    #: Per-plan precomputed data (payloads, rows...).
    data: dict[str, Any] = field(default_factory=dict)
    #: Rotates through the queries, so every user covers the test split.
    cursor: Any = field(default_factory=lambda: itertools.count(random.randrange(1 << 16)))
    #: ``kind.value``, kept as a plain string: it is the ``request_type`` of every request event of this task.
    request_type: str = field(init=False)

    def __post_init__(self) -> None:
        self.request_type = self.kind.value

    def next_call(self, writer: Optional[WriterState] = None) -> Call:
        """The next request of this task."""
        return self.build(self, writer)


# ------------------------------------------------------------------------------------------------ builders


def _next_queries(plan: TaskPlan) -> list[int]:
    n, batch = plan.data["nq"], plan.spec.batch_size
    start = next(plan.cursor) * batch
    return [(start + i) % n for i in range(batch)]


def _search_call(plan: TaskPlan, _writer: Any) -> Call:
    qs = _next_queries(plan)
    payloads = plan.data["payloads"]
    kwargs = dict(plan.data["base"])
    kwargs["data"] = [payloads[q] for q in qs]
    return Call("search", kwargs, qs, plan.data["k"])


def _hybrid_call(plan: TaskPlan, _writer: Any) -> Call:
    from pymilvus import AnnSearchRequest

    qs = _next_queries(plan)
    kwargs = dict(plan.data["base"])
    kwargs["reqs"] = [AnnSearchRequest(data=[payloads[q] for q in qs], **route)
                      for payloads, route in zip(plan.data["payloads"], plan.data["routes"])]
    return Call("hybrid_search", kwargs, qs, plan.data["k"])


def _query_call(plan: TaskPlan, _writer: Any) -> Call:
    return Call("query", plan.data["base"], (), 1)


def _get_call(plan: TaskPlan, _writer: Any) -> Call:
    ids = plan.data["ids"]
    start = next(plan.cursor) * plan.spec.batch_size
    picked = [ids[(start + i) % len(ids)] for i in range(plan.spec.batch_size)]
    return Call("get", {**plan.data["base"], "ids": picked}, (), len(set(picked)))


def _rows_for(plan: TaskPlan, new_ids: list[Any]) -> list[dict[str, Any]]:
    template = plan.data["rows"]
    primary = plan.data["primary"]
    start = next(plan.cursor)
    rows = []
    for i, pk in enumerate(new_ids):
        row = dict(template[(start + i) % len(template)])
        row[primary] = pk
        rows.append(row)
    return rows


def _fresh_ids(plan: TaskPlan, writer: WriterState, n: int) -> list[Any]:
    base = plan.data["write_base"] + writer.lane * LANE_WIDTH + writer.next_offset
    writer.next_offset += n
    return list(range(base, base + n))


def _insert_call(plan: TaskPlan, writer: WriterState) -> Call:
    ids = _fresh_ids(plan, writer, plan.spec.batch_size)
    writer.present.extend(ids)
    return Call("insert", {**plan.data["base"], "data": _rows_for(plan, ids)}, (), len(ids))


def _upsert_call(plan: TaskPlan, writer: WriterState) -> Call:
    n = plan.spec.batch_size
    ids = list(itertools.islice(reversed(writer.present), n)) if writer.present else []
    if len(ids) < n:
        fresh = _fresh_ids(plan, writer, n - len(ids))
        writer.present.extend(fresh)
        ids += fresh
    return Call("upsert", {**plan.data["base"], "data": _rows_for(plan, ids)}, (), len(ids))


def _delete_call(plan: TaskPlan, writer: WriterState) -> Call:
    n = plan.spec.batch_size
    ids = [writer.present.popleft() for _ in range(min(n, len(writer.present)))]
    if not ids:  # nothing of ours to delete yet: delete ids that were never written (a real, empty delete)
        ids = _fresh_ids(plan, writer, n)
    return Call("delete", {**plan.data["base"], "ids": ids}, (), 0)


# ------------------------------------------------------------------------------------------------ checkers


def _check_search(plan: TaskPlan, call: Call, result: Any) -> tuple[Optional[str], Optional[list[list[Any]]]]:
    if result is None or len(result) != len(call.queries):
        return EMPTY, None
    ids: list[list[Any]] = []
    minimum = plan.data["min_hits"]
    for q, hits in zip(call.queries, result):
        got = getattr(hits, "ids", None)  # pymilvus keeps the ids apart: reading them does not build every hit
        if got is None:
            got = [h["id"] for h in hits]
        if not got and (minimum is None or minimum[q] > 0):
            return EMPTY, None
        ids.append(got)  # fewer hits than k is an approximate answer: recall counts it, it is not an error
    return None, ids


def _check_rows(plan: TaskPlan, call: Call, result: Any) -> tuple[Optional[str], None]:
    if not result:
        return EMPTY, None
    if call.method == "get" and len(result) < call.expect:
        return SHORT, None
    return None, None


def _check_write(plan: TaskPlan, call: Call, result: Any) -> tuple[Optional[str], None]:
    if result is None:
        return EMPTY, None
    count = result.get("insert_count", result.get("upsert_count")) if isinstance(result, dict) else None
    if call.method in ("insert", "upsert") and count is not None and int(count) != call.expect:
        return SHORT, None
    return None, None


# ------------------------------------------------------------------------------------------------ setup


def _common(scenario: Scenario, task: TaskSpec) -> dict[str, Any]:
    base: dict[str, Any] = {"collection_name": scenario.collection.name}
    if task.output_fields:
        base["output_fields"] = list(task.output_fields)
    return base


def search_params_for(metric: str, params: dict[str, Any]) -> dict[str, Any]:
    """``{"metric_type": ..., "params": {...}}`` from a scenario's search params (flat, or already nested)."""
    if "params" in params:
        return {"metric_type": metric, **params}
    return {"metric_type": metric, "params": dict(params)}


def _setup_search(scenario: Scenario, dataset: Dataset, task: TaskSpec, plan: TaskPlan) -> None:
    field_name = scenario.task_field(task)
    k = task.top_k or scenario.workload.top_k
    base = _common(scenario, task)
    base.update(anns_field=field_name, limit=k, consistency_level=scenario.workload.consistency_level,
                search_params=search_params_for(scenario.metric_of(field_name).value, task.search_params))
    if task.filter:
        base["filter"] = task.filter
    plan.data.update(base=base, payloads=query_payloads(dataset, field_name), k=k,
                     nq=len(query_payloads(dataset, field_name)))


def _setup_hybrid(scenario: Scenario, dataset: Dataset, task: TaskSpec, plan: TaskPlan) -> None:
    from pymilvus import RRFRanker, WeightedRanker

    k = task.top_k or scenario.workload.top_k
    ranker = task.ranker
    base = _common(scenario, task)
    base.update(limit=k, ranker=(WeightedRanker(*ranker.weights) if ranker and ranker.kind == "weighted"
                                 else RRFRanker(ranker.k if ranker else 60)),
                consistency_level=scenario.workload.consistency_level)
    routes = [{"anns_field": f, "limit": task.route_limit or k, "expr": task.filter or None,
               "param": search_params_for(scenario.metric_of(f).value, task.search_params)}
              for f in task.fields]
    payloads = [query_payloads(dataset, f) for f in task.fields]
    plan.data.update(base=base, routes=routes, payloads=payloads, k=k, nq=min(len(p) for p in payloads))


def _setup_query(scenario: Scenario, dataset: Dataset, task: TaskSpec, plan: TaskPlan) -> None:
    base = _common(scenario, task)
    base.update(filter=task.filter, consistency_level=scenario.workload.consistency_level)
    if "count(*)" not in task.output_fields:
        base["limit"] = task.top_k or scenario.workload.top_k
    plan.data["base"] = base


def _setup_get(scenario: Scenario, dataset: Dataset, task: TaskSpec, plan: TaskPlan) -> None:
    plan.data.update(base=_common(scenario, task), ids=dataset.ids.tolist())


def _setup_write(scenario: Scenario, dataset: Dataset, task: TaskSpec, plan: TaskPlan) -> None:
    if dataset.ids.dtype.kind not in "iu":
        raise ValueError(f"task {task.label!r}: writes need an INT64 primary key (lanes of fresh ids)")
    plan.data.update(base={"collection_name": scenario.collection.name},
                     rows=dataset.rows(0, min(len(dataset), 4096)),
                     primary=scenario.collection.primary.name,
                     write_base=int(np.max(dataset.ids)) + 1 if len(dataset) else 0)


@dataclass(frozen=True)
class TaskKindSpec:
    """How one task kind is issued: the client method, a one-time setup, a per-request builder and a checker."""

    method: str
    setup: Callable[[Scenario, Dataset, TaskSpec, TaskPlan], None]
    build: Callable[[TaskPlan, Any], Call]
    check: Callable[[TaskPlan, Call, Any], tuple[Optional[str], Optional[list[list[Any]]]]]


#: The registry: task kind -> how to issue it.
TASK_KINDS: dict[TaskKind, TaskKindSpec] = {
    TaskKind.dense_search: TaskKindSpec("search", _setup_search, _search_call, _check_search),
    TaskKind.sparse_search: TaskKindSpec("search", _setup_search, _search_call, _check_search),
    TaskKind.filtered_search: TaskKindSpec("search", _setup_search, _search_call, _check_search),
    TaskKind.hybrid_search: TaskKindSpec("hybrid_search", _setup_hybrid, _hybrid_call, _check_search),
    TaskKind.query: TaskKindSpec("query", _setup_query, _query_call, _check_rows),
    TaskKind.get: TaskKindSpec("get", _setup_get, _get_call, _check_rows),
    TaskKind.insert: TaskKindSpec("insert", _setup_write, _insert_call, _check_write),
    TaskKind.upsert: TaskKindSpec("upsert", _setup_write, _upsert_call, _check_write),
    TaskKind.delete: TaskKindSpec("delete", _setup_write, _delete_call, _check_write),
}


def build_plans(scenario: Scenario, dataset: Dataset, min_hits: Optional[dict[str, np.ndarray]] = None,
                search_params: Optional[dict[str, Any]] = None) -> list[TaskPlan]:
    """One plan per workload task. ``min_hits``: label -> per-query hit count a correct answer must reach
    (from the ground truth; a shorter answer is a failure). ``search_params`` overrides every search task's."""
    plans = []
    for task in scenario.workload.tasks:
        if search_params is not None and task.kind.is_search:
            task = task.model_copy(update={"search_params": dict(search_params)})
        kind = TASK_KINDS[task.kind]
        plan = TaskPlan(task.label, task.kind, task.weight, kind.method, kind.build, kind.check, task)
        kind.setup(scenario, dataset, task, plan)
        plan.data["min_hits"] = (min_hits or {}).get(task.label)
        plans.append(plan)
    return plans
