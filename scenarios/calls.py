"""A scenario as pymilvus calls: the one builder behind `vdb-harness run` (conformance.flow) and the load users.

Two parts, both plain ``(method, kwargs)`` for ``MilvusClient`` / ``AsyncMilvusClient``:

* **Preparation** (:func:`preparation_calls`): create the collection (schema, ``num_shards``, consistency level),
  insert the dataset in ``insert_batch_size`` batches, create each index (with one fallback), load. The flow issues
  these steps on both clients in the tutorial's order and compares them; the load preparation issues them once,
  timed, in bulk order (:class:`Order`).
* **Workload tasks** (:class:`TaskRequests`): everything that does not change between requests is built once per
  task (fixed kwargs, query payloads, hybrid routes, the ranker); a request only picks its query indices or ids.

Search parameters are always sent as pymilvus' nested form ``{"metric_type": ..., "params": {...}}`` with the
metric the ground truth is computed with (:meth:`Scenario.metric_of`): every pymilvus since 2.5 reads that form the
same way (3.x also accepts the flat form; 2.5.0 put flat keys nowhere), and a server whose index has another
metric rejects the search instead of silently ranking by a metric the recall is not computed for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from scenarios.datasets.base import Dataset
from scenarios.model import IndexSpec, RankerSpec, Scenario, TaskKind, TaskSpec
from scenarios.schema import build_index_params, build_schema, fallback_index

#: Each writer (a load user; the flow is writer 0) writes ids in its own lane of this many ids past the dataset.
LANE_WIDTH = 1 << 32


@dataclass(frozen=True)
class ClientCall:
    """One client call: a step name for reports, the client method and its keyword arguments."""

    step: str
    method: str
    kwargs: dict[str, Any]


# ------------------------------------------------------------------------------------------------ preparation


def create_collection_call(scenario: Scenario) -> ClientCall:
    """``create_collection`` with the scenario's schema, consistency level and (when set) shard count."""
    kwargs: dict[str, Any] = {"collection_name": scenario.collection.name,
                              "schema": build_schema(scenario.collection),
                              "consistency_level": scenario.workload.consistency_level}
    if scenario.collection.shards:
        kwargs["num_shards"] = scenario.collection.shards
    return ClientCall("create_collection", "create_collection", kwargs)


def resolved_index(scenario: Scenario, index: IndexSpec) -> IndexSpec:
    """``index`` with the metric made explicit on a vector field: the metric recall is computed with."""
    if index.metric is None and scenario.collection.field(index.field).type.is_vector:
        return index.model_copy(update={"metric": scenario.metric_of(index.field)})
    return index


def index_call(scenario: Scenario, index: IndexSpec, step: Optional[str] = None) -> ClientCall:
    """``create_index`` for one index of the scenario."""
    return ClientCall(step or f"create_index[{index.field}]", "create_index",
                      {"collection_name": scenario.collection.name,
                       "index_params": build_index_params([resolved_index(scenario, index)])})


def index_fallback_call(scenario: Scenario, index: IndexSpec) -> Optional[ClientCall]:
    """The ``create_index`` to try when the server rejects ``index``: the fallback type every server builds
    (None for a scalar index, an index already of the fallback type, or ``fallback = false``)."""
    fallback = fallback_index(index, scenario.collection)
    if fallback is None:
        return None
    return index_call(scenario, fallback, f"create_index[{index.field}] fallback {fallback.index_type}")


def insert_calls(scenario: Scenario, dataset: Dataset) -> Iterator[ClientCall]:
    """One ``insert`` per ``insert_batch_size`` rows of the dataset (step ``insert``, or ``insert[i]``), each
    batch's rows made only when it is reached."""
    name = scenario.collection.name
    batch = scenario.workload.insert_batch_size
    several = len(dataset) > batch
    for i, rows in enumerate(dataset.batches(batch)):
        yield ClientCall(f"insert[{i}]" if several else "insert", "insert", {"collection_name": name, "data": rows})


class Order(str, Enum):
    """The order of the preparation steps: the same calls, for two purposes."""

    #: create, insert, flush, create each index, load: indexes are built over sealed segments, as in production
    #: (load runs measure that collection).
    bulk = "bulk"
    #: create, create each index, load, insert: the tutorial's flow (`vdb-harness run`); searches then read the
    #: growing segments exactly, so both clients' answers are exact and comparable.
    tutorial = "tutorial"


def preparation_calls(scenario: Scenario, dataset: Dataset, order: Order = Order.bulk) -> Iterator[ClientCall]:
    """The whole preparation: create, insert (batches), create each index, load, in ``order`` (``bulk`` flushes
    before indexing)."""
    name = scenario.collection.name
    yield create_collection_call(scenario)
    if order is Order.bulk:
        yield from insert_calls(scenario, dataset)
        yield ClientCall("flush", "flush", {"collection_name": name})
    for index in scenario.indexes:
        yield index_call(scenario, index)
    yield ClientCall("load_collection", "load_collection", {"collection_name": name})
    if order is Order.tutorial:
        yield from insert_calls(scenario, dataset)


# ------------------------------------------------------------------------------------------------ workload tasks


def query_payloads(dataset: Dataset, field_name: str) -> list[Any]:
    """Every test vector of a field as the client takes it: list of floats, or ``{index: value}`` for sparse."""
    column = dataset.queries[field_name]
    if sp.issparse(column):
        csr = column.tocsr()
        return [dict(zip(csr.indices[a:b].tolist(), csr.data[a:b].tolist()))
                for a, b in zip(csr.indptr[:-1], csr.indptr[1:])]
    return np.asarray(column, dtype=np.float32).tolist()


def search_params_for(metric: str, params: dict[str, Any]) -> dict[str, Any]:
    """``{"metric_type": ..., "params": {...}}`` from a scenario's search params (flat, or already nested)."""
    if "params" in params:
        return {"metric_type": metric, **params}
    return {"metric_type": metric, "params": dict(params)}


def ranker_for(spec: Optional[RankerSpec]) -> Any:
    """The pymilvus ranker of a hybrid task (RRF with the scenario's ``k`` unless it names a weighted one)."""
    from pymilvus import RRFRanker, WeightedRanker

    spec = spec or RankerSpec()
    return WeightedRanker(*spec.weights) if spec.kind == "weighted" else RRFRanker(spec.k)


@dataclass
class TaskRequests:
    """One workload task, ready to issue: its method, the kwargs every request shares (``base``), and the data a
    request picks from (query payloads, hybrid routes, existing ids, row templates). Built once per task."""

    task: TaskSpec
    method: str
    base: dict[str, Any]
    #: Results per query a correct search returns (top_k); rows a get/insert/upsert is expected to touch.
    k: int = 0
    #: Search: one payload per query; hybrid: one payload list per route.
    payloads: list[Any] = field(default_factory=list)
    #: Hybrid: the ``AnnSearchRequest`` kwargs of each route except ``data``.
    routes: list[dict[str, Any]] = field(default_factory=list)
    #: How many queries a search task can draw from.
    nq: int = 0
    #: Get: the dataset's ids.
    ids: list[Any] = field(default_factory=list)
    #: Writes: row templates, the primary-key field, the first id past the dataset (None: VARCHAR keys).
    rows: list[dict[str, Any]] = field(default_factory=list)
    primary: str = ""
    write_base: Optional[int] = None

    def search(self, queries: Sequence[int]) -> dict[str, Any]:
        """kwargs of a ``search`` for these query indices."""
        kwargs = dict(self.base)
        payloads = self.payloads
        kwargs["data"] = [payloads[q] for q in queries]
        return kwargs

    def hybrid(self, queries: Sequence[int]) -> dict[str, Any]:
        """kwargs of a ``hybrid_search`` for these query indices (one ``AnnSearchRequest`` per route)."""
        from pymilvus import AnnSearchRequest

        kwargs = dict(self.base)
        kwargs["reqs"] = [AnnSearchRequest(data=[payloads[q] for q in queries], **route)
                          for payloads, route in zip(self.payloads, self.routes)]
        return kwargs

    def get(self, ids: Sequence[Any]) -> dict[str, Any]:
        """kwargs of a ``get`` of these ids."""
        return {**self.base, "ids": list(ids)}

    def fresh_ids(self, lane: int, offset: int, n: int) -> list[Any]:
        """``n`` ids no row of the dataset has, from ``offset`` in writer ``lane``'s own range."""
        if self.write_base is None:
            return [f"w{lane}-{offset + i}" for i in range(n)]
        start = self.write_base + lane * LANE_WIDTH + offset
        return list(range(start, start + n))

    def write(self, ids: Sequence[Any], start: int = 0) -> dict[str, Any]:
        """kwargs of this write task for these primary keys: rows (insert/upsert) from the templates at ``start``,
        or the ids themselves (delete)."""
        if self.method == "delete":
            return {**self.base, "ids": list(ids)}
        template, primary = self.rows, self.primary
        rows = []
        for i, pk in enumerate(ids):
            row = dict(template[(start + i) % len(template)])
            row[primary] = pk
            rows.append(row)
        return {**self.base, "data": rows}

    def first(self, n: int) -> dict[str, Any]:
        """kwargs of the task's first request over ``n`` queries/ids (what `vdb-harness run` issues): queries and
        ids ``0..n``; a write of ``batch_size`` fresh rows of writer 0."""
        kind = self.task.kind
        if kind is TaskKind.hybrid_search:
            return self.hybrid(range(min(n, self.nq)))
        if kind.is_search:
            return self.search(range(min(n, self.nq)))
        if kind is TaskKind.get:
            return self.get(self.ids[:n])
        if kind.is_write:
            return self.write(self.fresh_ids(0, 0, self.task.batch_size))
        return dict(self.base)


def _common(scenario: Scenario, task: TaskSpec) -> dict[str, Any]:
    base: dict[str, Any] = {"collection_name": scenario.collection.name}
    if task.output_fields:
        base["output_fields"] = list(task.output_fields)
    return base


def task_requests(scenario: Scenario, dataset: Dataset, task: TaskSpec,
                  search_params: Optional[dict[str, Any]] = None) -> TaskRequests:
    """The :class:`TaskRequests` of one workload task (``search_params`` replaces a search task's own)."""
    kind = task.kind
    k = task.top_k or scenario.workload.top_k
    params = dict(task.search_params if search_params is None else search_params)
    consistency = scenario.workload.consistency_level
    base = _common(scenario, task)
    if kind is TaskKind.hybrid_search:
        base.update(ranker=ranker_for(task.ranker), limit=k, consistency_level=consistency)
        routes = [{"anns_field": f, "param": search_params_for(scenario.metric_of(f).value, params),
                   "limit": task.route_limit or k, "expr": task.filter or None} for f in task.fields]
        payloads = [query_payloads(dataset, f) for f in task.fields]
        return TaskRequests(task, "hybrid_search", base, k, payloads, routes, nq=min(len(p) for p in payloads))
    if kind.is_search:
        field_name = scenario.task_field(task)
        base.update(anns_field=field_name, limit=k, consistency_level=consistency,
                    search_params=search_params_for(scenario.metric_of(field_name).value, params))
        if task.filter:
            base["filter"] = task.filter
        payloads = query_payloads(dataset, field_name)
        return TaskRequests(task, "search", base, k, payloads, nq=len(payloads))
    if kind is TaskKind.query:
        base.update(filter=task.filter, consistency_level=consistency)
        if "count(*)" not in task.output_fields:
            base["limit"] = k
        return TaskRequests(task, "query", base, 1)
    if kind is TaskKind.get:
        return TaskRequests(task, "get", base, ids=dataset.ids.tolist())
    if kind.is_write:
        integer = dataset.ids.dtype.kind in "iu"
        return TaskRequests(task, kind.value, {"collection_name": scenario.collection.name}, task.batch_size,
                            rows=dataset.rows(0, min(len(dataset), 4096)), primary=scenario.collection.primary.name,
                            write_base=(int(np.max(dataset.ids)) + 1 if len(dataset) else 0) if integer else None)
    raise ValueError(f"task {task.label!r}: no request builder for kind {kind.value!r}")


def task_calls(scenario: Scenario, dataset: Dataset) -> list[ClientCall]:
    """One call per workload task, each its first request over ``flow_queries`` queries (`vdb-harness run`)."""
    n = scenario.workload.flow_queries
    calls = []
    for task in scenario.workload.tasks:
        requests = task_requests(scenario, dataset, task)
        calls.append(ClientCall(task.label, requests.method, requests.first(n)))
    return calls
