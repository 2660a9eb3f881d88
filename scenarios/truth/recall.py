"""Tie-fair recall, as ann-benchmarks computes it: a returned row is a hit when its *true* score (computed here from
the dataset, never taken from the server) is at least as good as the k-th true score, within a tolerance.

So a server that returns a different row at exactly the k-th distance (a tie) is not penalised, duplicates count
once and ids the dataset does not have are misses. The tolerance is ``eps * max(1, |kth score|)``: absolute for
scores of magnitude up to 1 (unit vectors, cosine, normalised scores), relative above (large L2 / IP values).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from scenarios.datasets.base import Dataset
from scenarios.truth.exact import GroundTruth, fuse_routes
from scenarios.model import Metric, RankerSpec

#: Default tolerance for vector scores (ann-benchmarks uses 1e-3 on distances).
DEFAULT_EPS = 1e-3
#: Default tolerance for fused hybrid scores: RRF scores of neighbouring ranks differ by ~1/k^2 (2.7e-4 at k=60).
HYBRID_EPS = 1e-6


def tolerance(kth_true_score: float, eps: float) -> float:
    """The tie tolerance around a k-th score: ``eps * max(1, |kth|)``."""
    return eps * max(1.0, abs(float(kth_true_score)))


def recall_at_k(returned_true_scores: Sequence[float] | np.ndarray, kth_true_score: float, k: int,
                metric: Optional[Metric], eps: float = DEFAULT_EPS) -> float:
    """Fraction of ``k`` found: returned items whose true score is within tolerance of the k-th true score or better.

    ``returned_true_scores`` are the true scores of the distinct returned rows (NaN for rows that are not in the
    dataset or not eligible: misses). ``metric`` None means fused hybrid scores (higher is better). At most ``k``
    hits count.
    """
    if k <= 0:
        return 1.0
    higher = metric is None or metric.higher_is_better
    return _recall(np.asarray(returned_true_scores, dtype=np.float64), _limit(kth_true_score, eps, higher), k, higher)


def _limit(kth_true_score: float, eps: float, higher: bool) -> float:
    """The worst true score that still counts as a hit."""
    tol = tolerance(kth_true_score, eps)
    return float(kth_true_score) - tol if higher else float(kth_true_score) + tol


def _recall(scores: np.ndarray, limit: float, k: int, higher: bool) -> float:
    hits = int(np.count_nonzero(scores >= limit if higher else scores <= limit))  # NaN compares false: a miss
    return min(hits, k) / k


def summary(values: Sequence[float] | np.ndarray, floor: Optional[float] = None) -> dict[str, float]:
    """mean, p5, min and count of per-request recall values, and how many fell below ``floor`` (if given)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        out = {"count": 0, "mean": float("nan"), "p5": float("nan"), "min": float("nan")}
    else:
        out = {"count": int(arr.size), "mean": float(arr.mean()), "p5": float(np.percentile(arr, 5)),
               "min": float(arr.min())}
    if floor is not None:
        out["below_floor"] = int(np.count_nonzero(arr < floor))
        out["floor"] = float(floor)
    return out


class IdIndex:
    """Primary key -> row position, built once; ``rows(ids)`` maps a request's ids (-1 for unknown ids)."""

    def __init__(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids)
        self.size = len(ids)
        self._identity = ids.dtype.kind in "iu" and bool(np.array_equal(ids, np.arange(len(ids))))
        self._lookup: Optional[dict] = None
        self._sorted = self._order = None
        if self._identity:
            return
        if ids.dtype.kind in "iu":
            self._order = np.argsort(ids, kind="stable")
            self._sorted = ids[self._order]
        else:
            self._lookup = {v: i for i, v in enumerate(ids.tolist())}

    def rows(self, returned_ids: Sequence[Any]) -> np.ndarray:
        """Row position of each id, -1 where the dataset has no such id."""
        if self._lookup is not None:
            get = self._lookup.get
            return np.fromiter((get(i, -1) for i in returned_ids), dtype=np.int64, count=len(returned_ids))
        try:
            arr = np.asarray(returned_ids, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            return np.array([self._row_of(i) for i in returned_ids], dtype=np.int64)
        if self._identity:
            return np.where((arr >= 0) & (arr < self.size), arr, -1)
        pos = np.searchsorted(self._sorted, arr).clip(0, max(self.size - 1, 0))
        found = self._sorted[pos] == arr if self.size else np.zeros(len(arr), dtype=bool)
        return np.where(found, self._order[pos], -1)

    def unique_rows(self, returned_ids: Sequence[Any]) -> np.ndarray:
        """Distinct row positions of the ids the dataset has (unknown ids dropped), in first-seen order."""
        if self._identity and all(type(i) is int for i in returned_ids):  # the common case, kept cheap
            n = self.size
            seen = dict.fromkeys(i for i in returned_ids if 0 <= i < n)
            return np.fromiter(seen, dtype=np.int64, count=len(seen))
        rows = self.rows(returned_ids)
        rows = rows[rows >= 0]
        _, first = np.unique(rows, return_index=True)
        return rows[np.sort(first)]

    def _row_of(self, value: Any) -> int:
        try:
            return int(self.rows([int(value)])[0])
        except (TypeError, ValueError, OverflowError):
            return -1


class _ExactAnswers:
    """What a scorer knows of the exact answers: per query, how many rows each has (``_k_eff``)."""

    _k_eff: list[int]

    def expected_hits(self) -> np.ndarray:
        """Per query, how many rows the exact answer has (fewer than k where a filter or the routes leave fewer)."""
        return np.asarray(self._k_eff, dtype=np.int64)


class RecallScorer(_ExactAnswers):
    """Per-request recall of one search task: one vector field, one metric, one ground truth.

    Built once (id -> row index, query norms); :meth:`score` is then cheap enough to call on every response of a
    load test. ``mask`` (filtered searches) makes rows outside the filter misses however close they are.
    """

    def __init__(self, ids: np.ndarray, train: Any, queries: Any, truth: GroundTruth, metric: Metric, *,
                 k: Optional[int] = None, eps: float = DEFAULT_EPS, mask: Optional[np.ndarray] = None) -> None:
        self.index = IdIndex(ids)
        self.metric = metric
        self.eps = eps
        self.k = int(k or truth.k)
        if self.k > truth.k:
            raise ValueError(f"recall@{self.k} needs ground truth with k >= {self.k}, it has {truth.k}")
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        #: The exact base truth (the live truth under writes starts from it).
        self.truth = truth
        self._sparse = sp.issparse(train)
        if self._sparse:
            self._train = sp.csr_matrix(train)
            self._train.sort_indices()
            self._queries = sp.csr_matrix(queries)
            self._queries.sort_indices()
            self._train_sq = np.asarray(self._train.multiply(self._train).sum(axis=1), dtype=np.float64).ravel()
            self._query_sq = np.asarray(self._queries.multiply(self._queries).sum(axis=1), dtype=np.float64).ravel()
        else:
            self._train = train
            self._queries = np.asarray(queries, dtype=np.float32)
            self._query_sq = np.einsum("ij,ij->i", self._queries, self._queries).astype(np.float64)
        valid = truth.indices[:, : self.k] >= 0
        k_eff = valid.sum(axis=1)
        kth = truth.scores[np.arange(len(truth)), np.maximum(k_eff - 1, 0)].astype(np.float64)
        self._higher = metric.higher_is_better
        self._k_eff: list[int] = k_eff.tolist()
        self._limits: list[float] = [_limit(v, eps, self._higher) for v in kth.tolist()]

    @classmethod
    def from_dataset(cls, dataset: Dataset, field: str, truth: GroundTruth, metric: Metric, **kwargs: Any
                     ) -> "RecallScorer":
        """A scorer over ``dataset``'s ids, the ``field`` vectors and query split."""
        return cls(dataset.ids, dataset.vectors[field], dataset.queries[field], truth, metric, **kwargs)

    def true_scores(self, query_index: int, rows: np.ndarray) -> np.ndarray:
        """True scores (Milvus convention) of train ``rows`` (all valid) against query ``query_index``.

        Dense vectors are scored in float32, L2 as a sum of squared differences (no cancellation).
        """
        if self._sparse:
            dot = self._sparse_dots(query_index, rows)
            row_sq = self._train_sq[rows]
        else:
            vecs = np.asarray(self._train[rows], dtype=np.float32)
            q = self._queries[query_index]
            if self.metric is Metric.L2:
                vecs -= q
                return np.einsum("ij,ij->i", vecs, vecs)
            dot = vecs @ q
            row_sq = np.einsum("ij,ij->i", vecs, vecs) if self.metric is Metric.COSINE else None
        if self.metric is Metric.IP:
            return dot
        q_sq = self._query_sq[query_index]
        if self.metric is Metric.COSINE:
            denom = np.sqrt(row_sq * q_sq)
            return np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
        return np.maximum(row_sq + q_sq - 2.0 * dot, 0.0)

    def _sparse_dots(self, query_index: int, rows: np.ndarray) -> np.ndarray:
        q = self._queries
        q_idx = q.indices[q.indptr[query_index]:q.indptr[query_index + 1]]
        q_val = q.data[q.indptr[query_index]:q.indptr[query_index + 1]].astype(np.float64)
        t = self._train
        starts, ends = t.indptr[rows], t.indptr[rows + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0 or q_idx.size == 0:
            return np.zeros(len(rows))
        offsets = np.cumsum(lengths) - lengths
        pos = np.arange(total) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)
        cols = t.indices[pos]
        where = np.searchsorted(q_idx, cols).clip(0, q_idx.size - 1)
        prod = np.where(q_idx[where] == cols, t.data[pos] * q_val[where], 0.0)
        return np.bincount(np.repeat(np.arange(len(rows)), lengths), weights=prod, minlength=len(rows))

    def score(self, query_index: int, returned_ids: Sequence[Any]) -> float:
        """Recall@k of one response to query ``query_index`` (1.0 when no row qualifies and none is expected)."""
        k = self._k_eff[query_index]
        if k == 0:
            return 1.0
        rows = self.index.unique_rows(returned_ids[: self.k])
        if self.mask is not None:
            rows = rows[self.mask[rows]]
        if rows.size == 0:
            return 0.0
        return _recall(self.true_scores(query_index, rows), self._limits[query_index], k, self._higher)


class HybridRecallScorer(_ExactAnswers):
    """Per-request recall of a hybrid search against its exact fused ranking (see :func:`fuse_routes`).

    A returned row is a hit when its true fused score is >= the ``limit``-th fused score minus the tolerance; rows
    outside every route's exact top list have fused score 0.
    """

    def __init__(self, ids: np.ndarray, route_truths: Sequence[GroundTruth], ranker: RankerSpec,
                 metrics: Sequence[Metric], limit: int, *, eps: float = HYBRID_EPS) -> None:
        self.index = IdIndex(ids)
        self.limit = limit
        self.eps = eps
        self._fused = []
        self._kth = []
        self._k_eff = []
        for cand in fuse_routes(route_truths, ranker, metrics):
            order = np.argsort(cand.rows)
            self._fused.append((cand.rows[order], cand.scores[order]))
            k = min(limit, len(cand.rows))
            self._k_eff.append(k)
            self._kth.append(float(cand.scores[k - 1]) if k else 0.0)

    def fused_scores(self, query_index: int, rows: np.ndarray) -> np.ndarray:
        """True fused scores of ``rows`` for query ``query_index`` (0 for rows no route ranks)."""
        cand_rows, cand_scores = self._fused[query_index]
        if cand_rows.size == 0:
            return np.zeros(len(rows))
        pos = np.searchsorted(cand_rows, rows).clip(0, cand_rows.size - 1)
        return np.where(cand_rows[pos] == rows, cand_scores[pos], 0.0)

    def score(self, query_index: int, returned_ids: Sequence[Any]) -> float:
        """Recall@limit of one hybrid response to query ``query_index``."""
        k = self._k_eff[query_index]
        if k == 0:
            return 1.0
        rows = self.index.unique_rows(returned_ids[: self.limit])
        if rows.size == 0:
            return 0.0
        return recall_at_k(self.fused_scores(query_index, rows), self._kth[query_index], k, None, self.eps)
