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

from scenarios.calls import TaskRequests, task_requests
from scenarios.datasets.base import Dataset
from scenarios.model import Scenario, TaskKind, TaskSpec

#: Error code of a call that returned nothing where something was expected (an empty result is a failure).
EMPTY = "empty_result"
#: Error code of a call that returned fewer hits/rows than the data guarantees.
SHORT = "short_result"


@dataclass
class Call:
    """One request to issue: client method, keyword arguments, and the query indices it searches (for recall)."""

    method: str
    kwargs: dict[str, Any]
    queries: Sequence[int] = ()
    expect: int = 0
    #: Writes: the primary keys written, and (insert/upsert) the dataset row each one copies (None: a delete).
    ids: Sequence[Any] = ()
    rows: Optional[Sequence[int]] = None
    #: Set by the user while a write is in flight: the live truth's token (acknowledged with the answer).
    token: Any = None


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
    #: The task's requests, built once (:mod:`scenarios.calls`, shared with `vdb-harness run`).
    req: TaskRequests
    #: Search: per query, the hits a correct answer has at least (from the ground truth); None: at least one.
    min_hits: Optional[np.ndarray] = None
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
    n, batch = plan.req.nq, plan.spec.batch_size
    start = next(plan.cursor) * batch
    return [(start + i) % n for i in range(batch)]


def _search_call(plan: TaskPlan, _writer: Any) -> Call:
    qs = _next_queries(plan)
    return Call("search", plan.req.search(qs), qs, plan.req.k)


def _hybrid_call(plan: TaskPlan, _writer: Any) -> Call:
    qs = _next_queries(plan)
    return Call("hybrid_search", plan.req.hybrid(qs), qs, plan.req.k)


def _query_call(plan: TaskPlan, _writer: Any) -> Call:
    return Call("query", plan.req.base, (), 1)


def _get_call(plan: TaskPlan, _writer: Any) -> Call:
    ids = plan.req.ids
    start = next(plan.cursor) * plan.spec.batch_size
    picked = [ids[(start + i) % len(ids)] for i in range(plan.spec.batch_size)]
    return Call("get", plan.req.get(picked), (), len(set(picked)))


def _fresh_ids(plan: TaskPlan, writer: WriterState, n: int) -> list[Any]:
    ids = plan.req.fresh_ids(writer.lane, writer.next_offset, n)
    writer.next_offset += n
    return ids


def _source_rows(plan: TaskPlan, start: int, n: int) -> list[int]:
    """The dataset rows a write of ``n`` rows from template ``start`` copies (see ``TaskRequests.write``)."""
    size = len(plan.req.rows)
    return [(start + i) % size for i in range(n)]


def _insert_call(plan: TaskPlan, writer: WriterState) -> Call:
    ids = _fresh_ids(plan, writer, plan.spec.batch_size)
    writer.present.extend(ids)
    start = next(plan.cursor)
    return Call("insert", plan.req.write(ids, start), (), len(ids), ids, _source_rows(plan, start, len(ids)))


def _upsert_call(plan: TaskPlan, writer: WriterState) -> Call:
    n = plan.spec.batch_size
    ids = list(itertools.islice(reversed(writer.present), n)) if writer.present else []
    if len(ids) < n:
        fresh = _fresh_ids(plan, writer, n - len(ids))
        writer.present.extend(fresh)
        ids += fresh
    start = next(plan.cursor)
    return Call("upsert", plan.req.write(ids, start), (), len(ids), ids, _source_rows(plan, start, len(ids)))


def _delete_call(plan: TaskPlan, writer: WriterState) -> Call:
    n = plan.spec.batch_size
    ids = [writer.present.popleft() for _ in range(min(n, len(writer.present)))]
    if not ids:  # nothing of ours to delete yet: delete ids that were never written (a real, empty delete)
        ids = _fresh_ids(plan, writer, n)
    return Call("delete", plan.req.write(ids), (), 0, ids, None)


# ------------------------------------------------------------------------------------------------ checkers


def _check_search(plan: TaskPlan, call: Call, result: Any) -> tuple[Optional[str], Optional[list[list[Any]]]]:
    if result is None or len(result) != len(call.queries):
        return EMPTY, None
    ids: list[list[Any]] = []
    minimum = plan.min_hits
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


# ------------------------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class TaskKindSpec:
    """How one task kind is issued by a load user: a per-request builder and a checker of the result (the
    kwargs themselves come from :func:`scenarios.calls.task_requests`)."""

    build: Callable[[TaskPlan, Any], Call]
    check: Callable[[TaskPlan, Call, Any], tuple[Optional[str], Optional[list[list[Any]]]]]


#: The registry: task kind -> how to issue it.
TASK_KINDS: dict[TaskKind, TaskKindSpec] = {
    TaskKind.dense_search: TaskKindSpec(_search_call, _check_search),
    TaskKind.sparse_search: TaskKindSpec(_search_call, _check_search),
    TaskKind.filtered_search: TaskKindSpec(_search_call, _check_search),
    TaskKind.hybrid_search: TaskKindSpec(_hybrid_call, _check_search),
    TaskKind.query: TaskKindSpec(_query_call, _check_rows),
    TaskKind.get: TaskKindSpec(_get_call, _check_rows),
    TaskKind.insert: TaskKindSpec(_insert_call, _check_write),
    TaskKind.upsert: TaskKindSpec(_upsert_call, _check_write),
    TaskKind.delete: TaskKindSpec(_delete_call, _check_write),
}


def build_plans(scenario: Scenario, dataset: Dataset, min_hits: Optional[dict[str, np.ndarray]] = None,
                search_params: Optional[dict[str, Any]] = None) -> list[TaskPlan]:
    """One plan per workload task. ``min_hits``: label -> per query, the hits a correct answer has at least (from
    the ground truth: an empty answer where the truth has rows is a failure, where it has none it is correct).
    ``search_params`` overrides every search task's."""
    plans = []
    for task in scenario.workload.tasks:
        kind = TASK_KINDS[task.kind]
        req = task_requests(scenario, dataset, task, search_params if task.kind.is_search else None)
        plans.append(TaskPlan(task.label, task.kind, task.weight, req.method, kind.build, kind.check, task, req,
                              (min_hits or {}).get(task.label)))
    return plans
