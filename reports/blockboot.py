"""Circular block bootstrap over a run's windows: confidence intervals of a metric's change from single runs.

A run's per-window values (QPS, latency histograms) are autocorrelated (a slow second is often followed by another),
so windows are resampled in blocks: a resample of ``n`` windows is ``ceil(n / b)`` blocks of ``b`` consecutive
windows, each starting anywhere, wrapping around the end (Politis & Romano's circular block bootstrap).

Block length ``b``: the automatic rule of Politis & White (2004) with the correction of Patton, Politis & White
(2009) for the circular bootstrap, computed from the series' autocorrelation (flat-top lag window, ``m_hat`` =
the first lag after which ``K_N`` autocorrelations in a row are insignificant), but at least
``round(1.5 * n ** (1/3))`` (the rule's n^(1/3) rate with a constant that keeps its coverage on short series: on
30 windows the autocorrelation estimate is biased low, and with an AR(1) coefficient of 0.5 the rule alone picks
b = 2, whose interval is about 1.5x too narrow); clipped to ``[1, max(1, n // 3)]`` so a resample always draws at
least three blocks.

With several runs on one side, each resample first draws runs with replacement, then blocks within each drawn run
(one block resample per distinct run, weighted by how often the run was drawn), so run-to-run variation widens the
interval as it should.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from reports.intervals import TaskIntervals
from reports.metrics import Metric


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    x = x - x.mean()
    denom = float(np.dot(x, x))
    if denom == 0.0:
        return np.zeros(max_lag + 1)
    return np.array([1.0] + [float(np.dot(x[:-k], x[k:])) / denom for k in range(1, max_lag + 1)])


def block_length(series: Sequence[float]) -> int:
    """Circular-bootstrap block length of ``series`` (Politis-White / Patton rule with a floor, see module doc)."""
    x = np.asarray(series, dtype=float)
    n = x.size
    cap = max(1, n // 3)
    floor = min(cap, max(1, round(1.5 * n ** (1.0 / 3.0))))
    if n < 6 or np.all(x == x[0]):
        return floor
    k_n = max(5, int(math.ceil(math.sqrt(math.log10(n)))))
    m_max = int(math.ceil(math.sqrt(n))) + k_n
    lag_cap = min(n - 1, max(m_max, 1) + k_n)
    rho = _acf(x, lag_cap)
    crit = 2.0 * math.sqrt(math.log10(n) / n)
    insignificant = np.abs(rho[1:]) < crit  # lags 1..lag_cap
    m_hat = None
    for m in range(0, lag_cap - k_n + 1):
        if insignificant[m:m + k_n].all():
            m_hat = m
            break
    if m_hat is None:
        m_hat = lag_cap
    big_m = min(2 * max(m_hat, 1), lag_cap)
    lags = np.arange(-big_m, big_m + 1)
    t = np.abs(lags) / big_m
    lam = np.where(t <= 0.5, 1.0, np.where(t <= 1.0, 2.0 * (1.0 - t), 0.0))
    xc = x - x.mean()
    acov = np.array([float(np.dot(xc[:n - k], xc[k:])) / n for k in range(big_m + 1)])
    r = acov[np.abs(lags)]
    g_hat = float(np.sum(lam * np.abs(lags) * r))
    d_cb = 4.0 / 3.0 * float(np.sum(lam * r)) ** 2
    if d_cb <= 0.0 or g_hat == 0.0:
        return floor
    b = (2.0 * g_hat ** 2 / d_cb) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return int(min(cap, max(floor, round(b))))


def circular_counts(n: int, block: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(resamples, n)`` matrix: how often each of ``n`` windows appears in each circular block resample."""
    block = max(1, min(block, n))
    blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(resamples, blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(resamples, -1)[:, :n] % n
    counts = np.zeros((resamples, n), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(resamples), n), idx.ravel()), 1)
    return counts


def histogram_percentile(hist: np.ndarray, lower: np.ndarray, upper: np.ndarray, pct: float) -> np.ndarray:
    """The ``pct`` percentile (ms) of each row of bucket counts ``hist`` (``(R, B)``), interpolated
    geometrically inside the bucket (linearly in the first one); NaN for an empty row."""
    hist = np.atleast_2d(hist).astype(float)
    total = hist.sum(axis=1)
    cum = np.cumsum(hist, axis=1)
    rank = np.maximum(total * pct / 100.0, 1e-12)
    idx = np.argmax(cum >= rank[:, None] - 1e-9, axis=1)
    rows = np.arange(hist.shape[0])
    below = cum[rows, idx] - hist[rows, idx]
    inside = hist[rows, idx]
    frac = np.clip(np.where(inside > 0, (rank - below) / np.where(inside > 0, inside, 1.0), 1.0), 0.0, 1.0)
    lo, hi = lower[idx], upper[idx]
    value = np.where(lo > 0, lo * (hi / np.where(lo > 0, lo, 1.0)) ** frac, hi * frac)
    return np.where(total > 0, value, np.nan)


#: metric key -> what it is computed from the resampled windows
INTERVAL_METRICS = ("qps", "p50_ms", "p99_ms", "error_rate")


def side_statistics(runs: Sequence[TaskIntervals], metric_key: str, resamples: int, rng: np.random.Generator,
                    blocks: Sequence[int]) -> tuple[float, np.ndarray]:
    """The metric on ``runs`` pooled (point estimate) and on ``resamples`` hierarchical block resamples."""
    k = len(runs)
    width = max(r.latency.shape[1] for r in runs)
    picks = rng.multinomial(k, [1.0 / k] * k, size=resamples) if k > 1 else np.ones((resamples, 1), dtype=np.int64)
    succ = np.zeros(resamples)
    fail = np.zeros(resamples)
    windows = np.zeros(resamples)
    hist = np.zeros((resamples, width)) if metric_key.endswith("_ms") else None
    for j, run in enumerate(runs):
        counts = circular_counts(run.n, blocks[j], resamples, rng) * picks[:, j:j + 1]
        succ += counts @ run.successes
        fail += counts @ run.failures
        windows += counts.sum(axis=1)
        if hist is not None:
            hist[:, :run.latency.shape[1]] += counts @ run.latency
    full_succ = sum(float(r.successes.sum()) for r in runs)
    full_fail = sum(float(r.failures.sum()) for r in runs)
    full_windows = sum(r.n for r in runs)
    window_s = runs[0].window_s
    if metric_key == "qps":
        return full_succ / (full_windows * window_s), succ / (windows * window_s)
    if metric_key == "error_rate":
        total = succ + fail
        point = full_fail / (full_succ + full_fail) if full_succ + full_fail else float("nan")
        return point, np.where(total > 0, fail / np.where(total > 0, total, 1), np.nan)
    pct = {"p50_ms": 50.0, "p99_ms": 99.0}[metric_key]
    lower, upper = runs[0].bucket_edges_ms(width)
    pooled = np.zeros(width)
    for r in runs:
        pooled[:r.latency.shape[1]] += r.latency.sum(axis=0)
    return float(histogram_percentile(pooled, lower, upper, pct)[0]), histogram_percentile(hist, lower, upper, pct)


def run_block(run: TaskIntervals) -> int:
    """The block length for one run: the largest the rule gives for its QPS and its per-window mean latency."""
    qps = run.successes.astype(float)
    lower, upper = run.bucket_edges_ms(run.latency.shape[1])
    mid = np.sqrt(np.maximum(lower, upper / 2) * upper)
    counts = run.latency.sum(axis=1)
    mean_lat = np.where(counts > 0, (run.latency * mid).sum(axis=1) / np.where(counts > 0, counts, 1), 0.0)
    return max(block_length(qps), block_length(mean_lat) if counts.any() else 1)


def interval_change(metric: Metric, base: Sequence[TaskIntervals], cand: Sequence[TaskIntervals], *,
                    confidence: float = 0.95, resamples: int = 2000, seed: int = 0
                    ) -> tuple[float, float, float, tuple[float, float], list[int]]:
    """Baseline and candidate values, the worse-by estimate (positive = worse; relative or absolute as the metric
    says), its percentile-bootstrap confidence interval, and the block lengths used (baseline runs first)."""
    from reports.stats import _worse_by_many

    if metric.key not in INTERVAL_METRICS:
        raise ValueError(f"{metric.key} has no interval series")
    rng = np.random.default_rng(seed)
    blocks = [run_block(r) for r in (*base, *cand)]
    b_point, b_stats = side_statistics(base, metric.key, resamples, rng, blocks[:len(base)])
    c_point, c_stats = side_statistics(cand, metric.key, resamples, rng, blocks[len(base):])
    est = metric.worse_by(b_point, c_point)
    stats = _worse_by_many(metric, b_stats, c_stats)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return b_point, c_point, est, (est, est), blocks
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return b_point, c_point, est, (float(low), float(high)), blocks
