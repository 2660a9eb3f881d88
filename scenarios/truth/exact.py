"""Exact ground truth: brute-force top-k per query (dense or sparse, optionally filtered), hybrid fusion as Milvus
ranks it, and a disk cache so a dataset's ground truth is computed once.

Scores follow Milvus' conventions: L2 is the squared euclidean distance (lower is better), IP the inner product and
COSINE the cosine similarity (higher is better).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import scipy.sparse as sp

from scenarios.model import Metric, RankerSpec
from vdb_harness.kernel.results import atomic_write

#: ``progress(done, total)``: train rows scanned so far (summed over query blocks) out of the total.
Progress = Callable[[int, int], None]

#: Bytes of the per-chunk score matrix; the other temporaries of exact_topk stay well below it.
WORKING_BYTES = 64 << 20
#: Queries handled together; more queries are processed block by block.
QUERY_BLOCK = 1024
#: Key given to padding rows (finite, so the matmul never computes 0 * inf); keys at or above
#: EXCLUDED never qualify. Real keys stay far below it unless vector components approach 1e19.
_SENTINEL = np.float32(2e38)
_EXCLUDED = np.float32(1e38)


@dataclass(frozen=True)
class GroundTruth:
    """Exact neighbours of each query: ``indices`` (nq, k) int64 row positions into the train split, best first,
    -1 where fewer than k rows qualify; ``scores`` (nq, k) float32 in the metric's convention (NaN at -1 slots).

    ``metric`` is the metric of the scores, or None for fused hybrid scores (higher is better).
    """

    indices: np.ndarray
    scores: np.ndarray
    metric: Optional[Metric] = None

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger score ranks first (IP, COSINE and fused scores)."""
        return self.metric is None or self.metric.higher_is_better

    @property
    def k(self) -> int:
        """Neighbours per query (including -1 padding)."""
        return int(self.indices.shape[1])

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def valid_counts(self) -> np.ndarray:
        """Number of real (non-padding) neighbours of each query."""
        return (self.indices >= 0).sum(axis=1)


# --------------------------------------------------------------------------------------------- scores


def score_pairs(train: Any, queries: Any, query_index: np.ndarray, rows: np.ndarray, metric: Metric) -> np.ndarray:
    """Scores of ``train[rows[i]]`` against ``queries[query_index[i]]`` (same shapes), in Milvus' convention.

    Dense vectors are scored in float32 (L2 as the sum of squared differences, free of the cancellation of
    ``|x|^2 - 2 q.x + |q|^2``), sparse ones in float64; the result is float64.
    """
    query_index = np.asarray(query_index, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    if sp.issparse(train):
        t = sp.csr_matrix(train)[rows]
        q = _align_columns(sp.csr_matrix(queries), t.shape[1])[query_index]
        t, q = _align_pair(t, q)
        dot = np.asarray(t.multiply(q).sum(axis=1), dtype=np.float64).ravel()
        tn = np.asarray(t.multiply(t).sum(axis=1), dtype=np.float64).ravel()
        qn = np.asarray(q.multiply(q).sum(axis=1), dtype=np.float64).ravel()
    else:
        t = np.asarray(train[rows], dtype=np.float32)
        q = np.asarray(queries[query_index], dtype=np.float32)
        if metric is Metric.L2:
            t -= q
            return np.einsum("ij,ij->i", t, t).astype(np.float64)
        dot = np.einsum("ij,ij->i", t, q).astype(np.float64)
        if metric is Metric.IP:
            return dot
        tn = np.einsum("ij,ij->i", t, t).astype(np.float64)
        qn = np.einsum("ij,ij->i", q, q).astype(np.float64)
    if metric is Metric.IP:
        return dot
    if metric is Metric.COSINE:
        denom = np.sqrt(tn * qn)
        return np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
    return np.maximum(tn + qn - 2.0 * dot, 0.0)


def _align_columns(m: sp.csr_matrix, cols: int) -> sp.csr_matrix:
    if m.shape[1] >= cols:
        return m
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], cols))


def _align_pair(a: sp.csr_matrix, b: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    cols = max(a.shape[1], b.shape[1])
    return _align_columns(a, cols), _align_columns(b, cols)


# --------------------------------------------------------------------------------------------- exact top-k


def default_chunk_rows(num_queries: int, working_bytes: int = WORKING_BYTES) -> int:
    """Train rows per chunk so that a (query block x chunk) float32 score block stays near ``working_bytes``."""
    nq = max(1, min(num_queries, QUERY_BLOCK))
    return int(max(1024, working_bytes // (4 * nq)))


def exact_topk(train: Any, queries: Any, k: int, metric: Metric, *, mask: Optional[np.ndarray] = None,
               chunk_rows: Optional[int] = None, progress: Optional[Progress] = None,
               threads: Optional[int] = None) -> GroundTruth:
    """The exact top-``k`` rows of ``train`` for each query (dense arrays or CSR matrices), best first.

    ``mask`` (bool, one per train row) keeps only the rows where it is true; queries with fewer than ``k``
    qualifying rows get -1 / NaN padding. Memory is bounded by ``chunk_rows`` (default: a chunk whose score block
    is about :data:`WORKING_BYTES`) whatever the train size; ``threads`` (default: CPU count) share the top-k
    selection. Exactly equal scores at the k-th place may be resolved either way.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n, nq = train.shape[0], queries.shape[0]
    is_sparse = sp.issparse(train) or sp.issparse(queries)
    if is_sparse and not (sp.issparse(train) and sp.issparse(queries)):
        raise ValueError("train and queries must both be dense or both be sparse")
    if not is_sparse and train.shape[1] != queries.shape[1]:
        raise ValueError(f"train has dim {train.shape[1]}, queries have dim {queries.shape[1]}")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (n,):
            raise ValueError(f"mask has shape {mask.shape}, expected ({n},)")
    selected = None if mask is None else np.flatnonzero(mask)
    m = n if selected is None else len(selected)
    keep_k = min(k, m)
    if keep_k == 0:
        return _finalise(train, queries, np.full((nq, 0), -1, dtype=np.int64), k, metric)
    chunk_rows = max(1, int(chunk_rows or default_chunk_rows(nq)))
    group = _group_size(chunk_rows, keep_k)
    padded = -(-chunk_rows // group) * group
    threads = max(1, threads or os.cpu_count() or 1)
    cols = max(train.shape[1], queries.shape[1])
    q_aug = _augmented_queries(queries, metric, cols)
    best_key = np.full((nq, keep_k), np.inf, dtype=np.float32)
    best_idx = np.full((nq, keep_k), -1, dtype=np.int64)
    keys_buf = np.empty((min(nq, QUERY_BLOCK), padded), dtype=np.float32)
    blocks = [(s, min(s + QUERY_BLOCK, nq)) for s in range(0, nq, QUERY_BLOCK)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, m, chunk_rows):  # chunks of the qualifying rows only
            stop = min(start + chunk_rows, m)
            columns: int | np.ndarray = start if selected is None else selected[start:stop]
            raw = train[start:stop] if selected is None else train[columns]
            width = -(-(stop - start) // group) * group
            chunk = _augmented_chunk(raw, metric, cols, width)
            for qs, qe in blocks:
                keys = keys_buf[: qe - qs, :width]
                _fill_keys(q_aug, qs, qe, chunk, keys)
                bounds = np.linspace(qs, qe, min(threads, qe - qs) + 1).astype(int)
                futures = [pool.submit(_scan_merge, keys[a - qs:b - qs], columns, best_key[a:b], best_idx[a:b], group)
                           for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
                for future in futures:
                    future.result()
            if progress is not None:
                progress(stop, m)
    best_idx[best_key >= _EXCLUDED] = -1
    return _finalise(train, queries, best_idx, k, metric)


def _group_size(chunk_rows: int, k: int) -> int:
    """Columns folded into one group minimum by the scan (1 = no folding) while leaving > 2k groups per chunk."""
    for group in (8, 4, 2):
        if chunk_rows // group > 2 * k:
            return group
    return 1


def _augmented_queries(queries: Any, metric: Metric, cols: int) -> Any:
    """Queries set up so that ``q_aug @ chunk_aug.T`` is the ranking key (lower is better).

    Dense: ``[-q, 1]`` for IP/COSINE (q normalised for COSINE) and ``[q, 1]`` for L2, against train rows
    ``[x, 0]`` resp. ``[-2x, |x|^2]``, the last column set to a huge sentinel for padding rows. So the key is
    -IP, -cosine or ``|x|^2 - 2 q.x`` (L2 minus the per-query constant ``|q|^2``). Sparse queries stay CSR.
    """
    if sp.issparse(queries):
        q = _align_columns(sp.csr_matrix(queries, dtype=np.float32), cols)
        if metric is Metric.COSINE:
            sq = np.asarray(q.multiply(q).sum(axis=1), dtype=np.float32).ravel()
            inv = np.divide(1.0, np.sqrt(sq), out=np.zeros_like(sq), where=sq > 0)
            q = sp.csr_matrix(sp.diags(inv) @ q)
        return q
    q = np.asarray(queries, dtype=np.float32)
    out = np.empty((q.shape[0], q.shape[1] + 1), dtype=np.float32)
    if metric is Metric.COSINE:
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        np.divide(q, norms, out=out[:, :-1], where=norms > 0)
        out[:, :-1][(norms == 0).ravel()] = 0.0
    else:
        out[:, :-1] = q
    if metric is not Metric.L2:
        np.negative(out[:, :-1], out=out[:, :-1])
    out[:, -1] = 1.0
    return out


def _augmented_chunk(raw: Any, metric: Metric, cols: int, width: int) -> Any:
    """A train chunk in the form :func:`_augmented_queries` describes, padded to ``width`` rows.

    Sparse chunks are returned as ``(csr, bias, factor)``: ``bias`` the per-row additive term (``|x|^2`` for L2,
    the sentinel for padding rows) and ``factor`` the multiplier of the dot product.
    """
    c = raw.shape[0]
    if sp.issparse(raw):
        chunk = _align_columns(sp.csr_matrix(raw, dtype=np.float32), cols)
        sq = np.asarray(chunk.multiply(chunk).sum(axis=1), dtype=np.float32).ravel()
        bias = np.full(width, _SENTINEL, dtype=np.float32)
        bias[:c] = sq if metric is Metric.L2 else 0.0
        if metric is Metric.COSINE:
            inv = np.divide(1.0, np.sqrt(sq), out=np.zeros_like(sq), where=sq > 0)
            chunk = sp.csr_matrix(sp.diags(inv) @ chunk)
        return chunk, bias, (-2.0 if metric is Metric.L2 else -1.0)
    x = np.asarray(raw, dtype=np.float32)
    out = np.zeros((width, x.shape[1] + 1), dtype=np.float32)
    body = out[:c, :-1]
    if metric is Metric.L2:
        np.multiply(x, -2.0, out=body)
        out[:c, -1] = np.einsum("ij,ij->i", x, x)
    elif metric is Metric.COSINE:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        np.divide(x, norms, out=body, where=norms > 0)
    else:
        body[:] = x
    out[c:, -1] = _SENTINEL
    return out


def _fill_keys(q_aug: Any, qs: int, qe: int, chunk: Any, keys: np.ndarray) -> None:
    """Ranking keys of queries ``qs:qe`` against one augmented chunk, written into ``keys``."""
    if isinstance(chunk, tuple):
        csr, bias, factor = chunk
        dots = (q_aug[qs:qe] @ csr.T).toarray()
        width = csr.shape[0]
        np.multiply(dots, factor, out=keys[:, :width], casting="unsafe")
        keys[:, width:] = 0.0
        keys += bias[None, :]
        return
    np.matmul(q_aug[qs:qe], chunk.T, out=keys)


def _scan_merge(keys: np.ndarray, columns: int | np.ndarray, best_key: np.ndarray, best_idx: np.ndarray, group: int) -> None:
    """Merge one block of keys (queries x chunk columns) into the running top-k of the same queries, in place.

    ``columns`` maps a chunk column to its train row: an offset, or an array of row positions.

    Only columns that can enter the top-k are looked at: the chunk is folded into ``group``-wide column minima,
    groups whose minimum is above the threshold (the running k-th key; until k keys are known, the k-th group
    minimum of this chunk) are skipped, and the survivors are merged with ``np.argpartition``.
    """
    nq, width = keys.shape
    k = best_key.shape[1]
    span = width // group
    mins = np.minimum.reduce(keys.reshape(nq, group, span), axis=1) if group > 1 else keys
    threshold = best_key.max(axis=1)
    unbounded = bool((threshold >= _EXCLUDED).any())
    if unbounded and span > k:  # first chunks: bound by this chunk's k-th group minimum
        np.minimum(threshold, np.partition(mins, k - 1, axis=1)[:, k - 1], out=threshold)
    hit = mins <= threshold[:, None]
    if unbounded:
        hit &= mins < _EXCLUDED
    rows, groups = np.nonzero(hit)
    if rows.size == 0:
        return
    flat = ((rows * width + groups)[:, None] + np.arange(group) * span).ravel()
    rows = np.repeat(rows, group)
    values = keys.ravel()[flat]
    keep = values <= threshold[rows]
    if unbounded:
        keep &= values < _EXCLUDED
    rows, values, flat = rows[keep], values[keep], flat[keep]
    counts = np.bincount(rows, minlength=nq)
    slot = np.arange(rows.size) - (np.cumsum(counts) - counts)[rows]
    extra = int(counts.max())
    all_key = np.full((nq, k + extra), np.inf, dtype=np.float32)
    all_idx = np.full((nq, k + extra), -1, dtype=np.int64)
    all_key[:, :k], all_idx[:, :k] = best_key, best_idx
    all_key[rows, k + slot] = values
    col = flat - rows * width
    all_idx[rows, k + slot] = col + columns if isinstance(columns, int) else columns[col]
    pick = np.argpartition(all_key, k - 1, axis=1)[:, :k]
    best_key[:] = np.take_along_axis(all_key, pick, axis=1)
    best_idx[:] = np.take_along_axis(all_idx, pick, axis=1)


def _finalise(train: Any, queries: Any, idx: np.ndarray, k: int, metric: Metric) -> GroundTruth:
    """Exact scores (see :func:`score_pairs`) for the selected rows, sorted best first (ties: lower row first),
    padded to ``k``."""
    nq, kept = idx.shape
    scores = np.full((nq, kept), np.nan, dtype=np.float64)
    valid = idx >= 0
    if valid.any():
        qi, _ = np.nonzero(valid)
        step = max(1, (16 << 20) // (4 * max(1, train.shape[1])))  # bound the gathered rows' memory
        flat_rows, flat_scores = idx[valid], np.empty(int(valid.sum()))
        for s in range(0, len(flat_rows), step):
            flat_scores[s:s + step] = score_pairs(train, queries, qi[s:s + step], flat_rows[s:s + step], metric)
        scores[valid] = flat_scores
    sign = -1.0 if metric.higher_is_better else 1.0
    sort_key = np.where(valid, sign * scores, np.inf)
    order = np.lexsort((np.where(valid, idx, np.iinfo(np.int64).max), sort_key), axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    if kept < k:
        idx = np.concatenate([idx, np.full((nq, k - kept), -1, dtype=np.int64)], axis=1)
        scores = np.concatenate([scores, np.full((nq, k - kept), np.nan)], axis=1)
    return GroundTruth(indices=idx, scores=scores.astype(np.float32), metric=metric)


# --------------------------------------------------------------------------------------------- hybrid


def normalize_score(scores: np.ndarray, metric: Metric) -> np.ndarray:
    """Milvus' score normalisation for the weighted ranker (norm_score=true, pymilvus' default).

    From milvus-io/milvus internal/util/function/rerank/util.go ``getNormalizeFunc``:
    COSINE ``(1 + s) * 0.5``; IP ``0.5 + atan(s) / pi``; L2 (default branch) ``1 - 2 * atan(s) / pi``.
    """
    s = np.asarray(scores, dtype=np.float64)
    if metric is Metric.COSINE:
        return (1.0 + s) * 0.5
    if metric is Metric.IP:
        return 0.5 + np.arctan(s) / np.pi
    return 1.0 - 2.0 * np.arctan(s) / np.pi


@dataclass(frozen=True)
class FusedCandidates:
    """Every row a hybrid search can return for one query, with its fused score, best first."""

    rows: np.ndarray
    scores: np.ndarray


def fuse_routes(route_truths: Sequence[GroundTruth], ranker: RankerSpec,
                metrics: Sequence[Metric]) -> list[FusedCandidates]:
    """Per query, all rows of the routes' rankings with their fused score (best first, ties: lower row first).

    RRF (milvus-io/milvus internal/util/function/rerank/rrf_function.go): a row scores
    ``sum over routes of 1 / (k + rank)``, rank starting at 1 in each route's list it appears in.
    Weighted (weighted_function.go): ``sum over routes of w_i * normalize(score_i)`` over the routes that returned
    the row, with :func:`normalize_score`. Milvus orders equal fused scores by ascending primary key; we use the
    row position as its stand-in.
    """
    if not route_truths:
        raise ValueError("hybrid ground truth needs at least one route")
    if len(metrics) != len(route_truths):
        raise ValueError(f"{len(route_truths)} routes but {len(metrics)} metrics")
    if ranker.kind == "weighted" and len(ranker.weights) != len(route_truths):
        raise ValueError(f"weighted ranker has {len(ranker.weights)} weights for {len(route_truths)} routes")
    nq = len(route_truths[0])
    if any(len(t) != nq for t in route_truths):
        raise ValueError("every route needs the same number of queries")
    rows_parts, contrib_parts = [], []
    for r, truth in enumerate(route_truths):
        if ranker.kind == "rrf":
            ranks = np.arange(1, truth.k + 1, dtype=np.float64)
            contrib = np.broadcast_to(1.0 / (ranker.k + ranks), truth.indices.shape)
        else:
            contrib = ranker.weights[r] * normalize_score(truth.scores, metrics[r])
        rows_parts.append(truth.indices)
        contrib_parts.append(contrib)
    rows = np.concatenate(rows_parts, axis=1)
    contrib = np.concatenate(contrib_parts, axis=1)
    out = []
    for q in range(nq):
        valid = rows[q] >= 0
        uniq, inverse = np.unique(rows[q][valid], return_inverse=True)
        fused = np.bincount(inverse, weights=contrib[q][valid], minlength=len(uniq))
        order = np.lexsort((uniq, -fused))
        out.append(FusedCandidates(rows=uniq[order], scores=fused[order]))
    return out


def hybrid_topk(route_truths: list[GroundTruth], limit: int, ranker: RankerSpec,
                metrics: list[Metric]) -> GroundTruth:
    """The exact hybrid-search result: each route's exact ranking (computed with k = the route limit) fused as
    Milvus' ranker fuses them, top ``limit`` per query (-1 / NaN padding when fewer rows exist)."""
    fused = fuse_routes(route_truths, ranker, metrics)
    nq = len(fused)
    idx = np.full((nq, limit), -1, dtype=np.int64)
    scores = np.full((nq, limit), np.nan, dtype=np.float32)
    for q, cand in enumerate(fused):
        m = min(limit, len(cand.rows))
        idx[q, :m] = cand.rows[:m]
        scores[q, :m] = cand.scores[:m]
    return GroundTruth(indices=idx, scores=scores, metric=None)


# --------------------------------------------------------------------------------------------- cache


def cache_key(key_parts: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``key_parts`` (dataset fingerprint, metric, k, filter, routes...)."""
    text = json.dumps(key_parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def cached_ground_truth(cache_dir: Path | str, key_parts: dict[str, Any],
                        compute: Callable[[], GroundTruth]) -> GroundTruth:
    """The ground truth stored under ``key_parts`` in ``cache_dir``, or ``compute()`` stored there first.

    Files are ``.npz`` written atomically; an unreadable or mismatching cache file is recomputed and replaced.
    """
    cache_dir = Path(cache_dir)
    key = cache_key(key_parts)
    path = cache_dir / f"gt-{key}.npz"
    cached = _read_cache(path, key)
    if cached is not None:
        return cached
    truth = compute()
    atomic_write(path, lambda fh: np.savez(fh, indices=truth.indices, scores=truth.scores,
                                           metric=np.array(truth.metric.value if truth.metric else ""),
                                           key=np.array(key)))
    return truth


def _read_cache(path: Path, key: str) -> Optional[GroundTruth]:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            indices, scores, metric = data["indices"], data["scores"], str(data["metric"])
        if indices.shape != scores.shape or indices.ndim != 2 or indices.dtype != np.int64:
            return None
        return GroundTruth(indices=indices, scores=scores.astype(np.float32, copy=False),
                           metric=Metric(metric) if metric else None)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
