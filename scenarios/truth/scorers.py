"""Recall scorers for each search task of a scenario, from exact ground truth: used by load runs and by the flow.

Dense, sparse and filtered searches: ``scenarios.truth.exact.exact_topk`` (filtered with the mask
``scenarios.filters.evaluate`` gives) scored by ``scenarios.truth.recall.RecallScorer``. Hybrid searches: each route's
exact top-route_limit fused as Milvus' ranker fuses them, scored by ``HybridRecallScorer``. Ground truth is cached
on disk keyed by the dataset fingerprint, so workers on the same host reuse the master's computation.

With writes in the run (write tasks in the mix, or a runbook), the exact answer changes while the run goes:
single-route search tasks are then scored live (:mod:`scenarios.truth.live`, starting from the same base truth) and
carry a note saying what their recall is measured against; hybrid searches get no recall and a note that says so
plainly (never a silently wrong number).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np

from scenarios.datasets.base import Dataset
from scenarios.model import Metric, RankerSpec, Scenario, TaskKind, TaskSpec


class Scorer(Protocol):
    """What scores one query's answer: ``scenarios.truth.recall.RecallScorer`` / ``HybridRecallScorer``."""

    def score(self, query_index: int, returned_ids: Sequence[Any]) -> float:
        """Tie-fair recall@k of ``returned_ids`` for query ``query_index``."""

    def expected_hits(self) -> np.ndarray:
        """Per query, how many rows the exact answer has."""


def default_cache_dir() -> Path:
    """``$VDB_HARNESS_CACHE/groundtruth``, or a directory in the system temp dir."""
    root = os.environ.get("VDB_HARNESS_CACHE") or os.path.join(tempfile.gettempdir(), "vdb-harness-cache")
    return Path(root) / "groundtruth"


def writes_in_mix(scenario: Scenario) -> list[str]:
    """Labels of the write tasks (insert, upsert, delete) of the workload, and ``runbook`` when it writes."""
    labels = [t.label for t in scenario.workload.tasks if t.kind.is_write]
    runbook = getattr(scenario, "runbook", None)
    if runbook is not None and runbook.writes:
        labels.append("runbook")
    return labels


def task_scorers(scenario: Scenario, dataset: Dataset, cache_dir: Optional[Path] = None,
                 fingerprint: Optional[str] = None,
                 log: Callable[[str], None] = lambda _m: None) -> tuple[dict[str, Scorer], dict[str, str]]:
    """A recall scorer per search-task label, and a note per search task whose recall is not defined (and why)."""
    cache = cache_dir or default_cache_dir()
    fp = fingerprint or dataset.fingerprint()
    scorers: dict[str, Scorer] = {}
    notes: dict[str, str] = {}
    writes = writes_in_mix(scenario)
    for task in scenario.workload.tasks:
        if not task.kind.is_search:
            continue
        if writes and task.kind is TaskKind.hybrid_search:
            notes[task.label] = (f"recall not defined: the workload also writes to the searched collection "
                                 f"({', '.join(writes)}), and hybrid searches are not scored live")
            continue
        if dataset.num_queries == 0:
            notes[task.label] = "recall not defined: the dataset has no query vectors"
            continue
        log(f"ground truth for {task.label}")
        scorers[task.label] = _scorer(scenario, dataset, task, cache, fp)
        disagreement = _own_neighbours_disagree(scenario, dataset, task, scorers[task.label])
        if writes:
            from scenarios.truth.live import describe

            notes[task.label] = describe(scenario.workload.consistency_level) + (
                f"; {disagreement}" if disagreement else "")
        elif disagreement:
            notes[task.label] = disagreement
    return scorers, notes


def _own_neighbours_disagree(scenario: Scenario, dataset: Dataset, task: TaskSpec, scorer: Scorer) -> Optional[str]:
    """Check a dataset file's own neighbours (ann-benchmarks ``neighbors``, ivecs/npy, parquet) against the exact
    truth recall is scored with: a note when they disagree (another metric, a stale or truncated file), else None.

    Recall is always scored against the exact truth this harness computes; the file's list is only checked.
    """
    if task.kind is TaskKind.hybrid_search or task.filter:
        return None
    field = scenario.task_field(task)
    own = dataset.neighbors.get(field)
    k = task.top_k or scenario.workload.top_k
    if own is None or own.shape[1] < k:
        return None
    recalls = [scorer.score(q, dataset.ids[row[:k][row[:k] >= 0]].tolist()) for q, row in enumerate(own)
               if q < dataset.num_queries]
    bad = sum(1 for r in recalls if r < 1.0 - 1e-9)
    if not bad:
        return None
    return (f"the dataset file's own neighbours disagree with the exact {scenario.metric_of(field).value} truth on "
            f"{bad} of {len(recalls)} queries (mean recall {sum(recalls) / len(recalls):.4f} against it): recall "
            "is scored against the exact truth; check the scenario's metric")


def _mask(dataset: Dataset, task: TaskSpec) -> Optional[np.ndarray]:
    if not task.filter:
        return None
    from scenarios.filters import evaluate

    return evaluate(task.filter, dataset)


def _truth(cache: Path, fp: str, dataset: Dataset, field: str, k: int, metric: Metric, filt: Optional[str],
           mask: Optional[np.ndarray]) -> Any:
    from scenarios.truth.exact import cached_ground_truth, exact_topk

    key = {"v": 1, "dataset": fp, "field": field, "k": k, "metric": metric.value, "filter": filt or ""}
    return cached_ground_truth(cache, key, lambda: exact_topk(dataset.vectors[field], dataset.queries[field], k,
                                                              metric, mask=mask))


def _scorer(scenario: Scenario, dataset: Dataset, task: TaskSpec, cache: Path, fp: str) -> Scorer:
    from scenarios.truth.recall import HybridRecallScorer, RecallScorer

    k = task.top_k or scenario.workload.top_k
    mask = _mask(dataset, task)
    if task.kind is TaskKind.hybrid_search:
        route_limit = task.route_limit or k
        metrics = [scenario.metric_of(f) for f in task.fields]
        routes = [_truth(cache, fp, dataset, f, route_limit, m, task.filter, mask)
                  for f, m in zip(task.fields, metrics)]
        return HybridRecallScorer(dataset.ids, routes, task.ranker or RankerSpec(), metrics, k)
    field = scenario.task_field(task)
    metric = scenario.metric_of(field)
    truth = _truth(cache, fp, dataset, field, k, metric, task.filter, mask)
    return RecallScorer.from_dataset(dataset, field, truth, metric, k=k, mask=mask)
