"""A scenario's flow as a list of client calls: the same :class:`FlowCall` objects drive both clients.

The flow is the seed tutorial's, generalised to any scenario: create the collection, create its indexes,
load it, insert the dataset, then issue each workload task once with the first ``flow_queries`` queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from scenarios.datasets.base import Dataset
from scenarios.model import IndexSpec, Scenario, TaskKind, TaskSpec
from scenarios.schema import build_index_params, build_schema, fallback_index


@dataclass
class FlowCall:
    """One step: a client method and its keyword arguments (identical for the sync and the async client)."""

    step: str
    method: str
    kwargs: dict[str, Any]
    #: Steps in the same non-empty group may run concurrently (``asyncio.gather``) on the async client.
    group: str = ""
    #: A tidying step whose error is expected at times (dropping what may not exist): compared, not reported.
    optional: bool = False
    #: A step that must succeed for the flow to continue (setup steps).
    required: bool = False
    #: Called with the error when the server rejects this step; returns replacement calls (or []) to go on.
    on_reject: Callable[[BaseException], list["FlowCall"]] | None = field(default=None, repr=False)


def query_vectors(dataset: Dataset, field_name: str, count: int) -> list[Any]:
    """The first ``count`` test vectors of a field: lists of floats (dense) or 1-row CSR matrices (sparse).

    Sparse queries are passed as a list of 1-row CSR matrices, as the tutorial does (pymilvus 3.0.2 cannot take
    one multi-row CSR matrix with scipy >= 1.17: ``sparse array length is ambiguous``).
    """
    column = dataset.queries[field_name]
    count = min(count, column.shape[0])
    if sp.issparse(column):
        return [column[i] for i in range(count)]
    return np.asarray(column[:count], dtype=np.float32).tolist()


def setup_calls(scenario: Scenario, dataset: Dataset) -> list[FlowCall]:
    """Create the collection, its indexes, load it and insert every row (in ``insert_batch_size`` batches)."""
    name = scenario.collection.name
    calls = [FlowCall("create_collection", "create_collection",
                      {"collection_name": name, "schema": build_schema(scenario.collection)}, required=True)]
    if scenario.indexes:
        calls.append(FlowCall("create_index", "create_index",
                              {"collection_name": name, "index_params": build_index_params(scenario.indexes)},
                              on_reject=lambda exc: _index_fallback(scenario)))
    calls.append(FlowCall("load_collection", "load_collection", {"collection_name": name}))
    batch = scenario.workload.insert_batch_size
    for i, rows in enumerate(dataset.batches(batch)):
        calls.append(FlowCall(f"insert[{i}]" if len(dataset) > batch else "insert", "insert",
                              {"collection_name": name, "data": rows}, group="insert"))
    return calls


def _index_fallback(scenario: Scenario) -> list[FlowCall]:
    """One create_index call per index, each with its own fallback, so one rejected index type stops nothing.

    A server may have applied part of the rejected multi-index call; an index it already made answers "already
    exists", which the flow accepts. Nothing is dropped: Milvus Lite 3.2.2 drops *another* field's index when asked
    to drop one that does not exist.
    """
    name = scenario.collection.name
    calls = [FlowCall("release_collection", "release_collection", {"collection_name": name}, optional=True)]
    for index in scenario.indexes:
        calls.append(FlowCall(f"create_index[{index.field}]", "create_index",
                              {"collection_name": name, "index_params": build_index_params([index])},
                              on_reject=lambda exc, index=index: _single_fallback(scenario, index, exc)))
    return calls


def already_exists(exc: BaseException) -> bool:
    """True when a create call failed only because what it creates is there already."""
    return "already exist" in str(getattr(exc, "message", "") or exc).lower()


def _single_fallback(scenario: Scenario, index: IndexSpec, exc: BaseException) -> list[FlowCall]:
    if already_exists(exc):
        return []
    fallback = fallback_index(index, scenario.collection)
    if fallback is None:
        return []  # a scalar index is an optimisation: the flow goes on without it
    return [FlowCall(f"create_index[{index.field}] fallback {fallback.index_type}", "create_index",
                     {"collection_name": scenario.collection.name, "index_params": build_index_params([fallback])})]


def task_calls(scenario: Scenario, dataset: Dataset) -> list[FlowCall]:
    """One call per workload task (writes use ids past the dataset so they do not disturb the reads)."""
    calls = []
    for task in scenario.workload.tasks:
        builder = TASK_BUILDERS[task.kind]
        calls.append(FlowCall(task.label, builder.method, builder.kwargs(scenario, dataset, task), group="tasks"))
    return calls


@dataclass(frozen=True)
class _TaskBuilder:
    method: str
    kwargs: Callable[[Scenario, Dataset, TaskSpec], dict[str, Any]]


def _common(scenario: Scenario, task: TaskSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"collection_name": scenario.collection.name}
    if task.output_fields:
        kwargs["output_fields"] = list(task.output_fields)
    return kwargs


def _search(scenario: Scenario, dataset: Dataset, task: TaskSpec) -> dict[str, Any]:
    field_name = scenario.task_field(task)
    kwargs = _common(scenario, task)
    kwargs.update(data=query_vectors(dataset, field_name, scenario.workload.flow_queries), anns_field=field_name,
                  limit=task.top_k or scenario.workload.top_k,
                  consistency_level=scenario.workload.consistency_level)
    if task.search_params:
        kwargs["search_params"] = dict(task.search_params)
    if task.filter:
        kwargs["filter"] = task.filter
    return kwargs


def _hybrid(scenario: Scenario, dataset: Dataset, task: TaskSpec) -> dict[str, Any]:
    from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

    n = scenario.workload.flow_queries
    limit = task.top_k or scenario.workload.top_k
    reqs = [AnnSearchRequest(data=query_vectors(dataset, f, n), anns_field=f,
                             param={"metric_type": scenario.metric_of(f).value, **task.search_params},
                             limit=task.route_limit or limit, expr=task.filter or None)
            for f in task.fields]
    ranker_spec = task.ranker
    ranker = (WeightedRanker(*ranker_spec.weights) if ranker_spec and ranker_spec.kind == "weighted"
              else RRFRanker(ranker_spec.k if ranker_spec else 60))
    kwargs = _common(scenario, task)
    kwargs.update(reqs=reqs, ranker=ranker, limit=limit)
    return kwargs


def _query(scenario: Scenario, dataset: Dataset, task: TaskSpec) -> dict[str, Any]:
    kwargs = _common(scenario, task)
    kwargs.update(filter=task.filter, consistency_level=scenario.workload.consistency_level)
    if "count(*)" not in task.output_fields:
        kwargs["limit"] = task.top_k or scenario.workload.top_k
    return kwargs


def _get(scenario: Scenario, dataset: Dataset, task: TaskSpec) -> dict[str, Any]:
    kwargs = _common(scenario, task)
    kwargs["ids"] = dataset.ids[: scenario.workload.flow_queries].tolist()
    return kwargs


def _fresh_rows(scenario: Scenario, dataset: Dataset, task: TaskSpec) -> list[dict[str, Any]]:
    rows = dataset.rows(0, task.batch_size)
    primary = scenario.collection.primary.name
    base = int(np.max(dataset.ids)) + 1 if dataset.ids.dtype.kind in "iu" else 0
    for offset, row in enumerate(rows):
        row[primary] = base + offset if dataset.ids.dtype.kind in "iu" else f"flow-{offset}"
    return rows


def _insert(scenario: Scenario, dataset: Dataset, task: TaskSpec) -> dict[str, Any]:
    return {"collection_name": scenario.collection.name, "data": _fresh_rows(scenario, dataset, task)}


def _delete(scenario: Scenario, dataset: Dataset, task: TaskSpec) -> dict[str, Any]:
    primary = scenario.collection.primary.name
    ids = [row[primary] for row in _fresh_rows(scenario, dataset, task)]
    return {"collection_name": scenario.collection.name, "ids": ids}


TASK_BUILDERS: dict[TaskKind, _TaskBuilder] = {
    TaskKind.dense_search: _TaskBuilder("search", _search),
    TaskKind.sparse_search: _TaskBuilder("search", _search),
    TaskKind.filtered_search: _TaskBuilder("search", _search),
    TaskKind.hybrid_search: _TaskBuilder("hybrid_search", _hybrid),
    TaskKind.query: _TaskBuilder("query", _query),
    TaskKind.get: _TaskBuilder("get", _get),
    TaskKind.insert: _TaskBuilder("insert", _insert),
    TaskKind.upsert: _TaskBuilder("upsert", _insert),
    TaskKind.delete: _TaskBuilder("delete", _delete),
}
