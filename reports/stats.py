"""Noise-aware comparison of one metric between repeated baseline and candidate runs.

The estimate is the change of the medians ("how much worse", positive = worse, relative or absolute as the metric
says), with a percentile-bootstrap confidence interval. Whether the candidate is worse at all is a one-sided
Mann-Whitney U test (scipy). With too few runs on a side there is no noise estimate: ``p_value`` is None.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy.stats import mannwhitneyu

from reports.metrics import Metric


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one metric: medians, worse-by estimate, its CI and the test's p-value."""

    metric: Metric
    n_baseline: int
    n_candidate: int
    baseline: float
    candidate: float
    worse_by: float
    ci: Optional[tuple[float, float]]
    p_value: Optional[float]
    #: "runs" (per-run values, Mann-Whitney) or "intervals" (block bootstrap over windows; n_* count windows)
    method: str = "runs"
    #: block lengths of the interval bootstrap, per run (baseline runs first)
    blocks: Optional[tuple[int, ...]] = None


def _worse_by_many(metric: Metric, base: np.ndarray, cand: np.ndarray) -> np.ndarray:
    diff = (base - cand) if metric.higher_is_better else (cand - base)
    if not metric.relative:
        return diff
    with np.errstate(divide="ignore", invalid="ignore"):
        out = diff / np.abs(base)
        return np.where(base == 0, np.where(diff == 0, 0.0, np.sign(diff) * np.inf), out)


def bootstrap_ci(metric: Metric, base: Sequence[float], cand: Sequence[float], confidence: float = 0.95,
                 resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap CI of the worse-by of the medians (both samples resampled independently)."""
    rng = np.random.default_rng(seed)
    b, c = np.asarray(base, float), np.asarray(cand, float)
    bm = np.median(b[rng.integers(0, len(b), (resamples, len(b)))], axis=1)
    cm = np.median(c[rng.integers(0, len(c), (resamples, len(c)))], axis=1)
    stats = _worse_by_many(metric, bm, cm)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        est = metric.worse_by(float(np.median(b)), float(np.median(c)))
        return (est, est)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return (float(low), float(high))


def worse_p_value(metric: Metric, base: Sequence[float], cand: Sequence[float]) -> float:
    """One-sided Mann-Whitney U p-value for "the candidate is worse than the baseline"."""
    b, c = np.asarray(base, float), np.asarray(cand, float)
    if np.all(np.concatenate([b, c]) == b[0]):
        return 1.0  # identical values: no evidence of any change
    alternative = "less" if metric.higher_is_better else "greater"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(mannwhitneyu(c, b, alternative=alternative, method="auto").pvalue)


def compare(metric: Metric, base: Sequence[float], cand: Sequence[float], *, min_runs: int = 5,
            confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> Comparison:
    """Compare ``metric`` over the per-run values of each side (each side must have at least one value)."""
    if not base or not cand:
        raise ValueError("each side needs at least one value")
    bmed, cmed = float(np.median(base)), float(np.median(cand))
    est = metric.worse_by(bmed, cmed)
    stats = len(base) >= min_runs and len(cand) >= min_runs
    return Comparison(metric=metric, n_baseline=len(base), n_candidate=len(cand), baseline=bmed, candidate=cmed,
                      worse_by=est,
                      ci=bootstrap_ci(metric, base, cand, confidence, resamples, seed) if stats else None,
                      p_value=worse_p_value(metric, base, cand) if stats else None)
