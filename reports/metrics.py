"""Metrics as data: what each one means, its unit, which direction is better and the axis range plots use.

Reports, the gate and capacity planning read these instead of hard-coding "lower is better" in several places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Metric:
    """One metric of a task: key in the flat per-task record, label, unit, direction and plot range."""

    key: str
    label: str
    unit: str
    higher_is_better: bool
    description: str
    axis: tuple[Optional[float], Optional[float]] = (0.0, None)
    relative: bool = True  # gate thresholds are relative changes (else absolute differences)

    def worse_by(self, baseline: float, candidate: float) -> float:
        """How much worse ``candidate`` is than ``baseline`` (positive = worse), relative or absolute."""
        diff = (baseline - candidate) if self.higher_is_better else (candidate - baseline)
        if not self.relative:
            return diff
        return diff / abs(baseline) if baseline else (0.0 if diff == 0 else float("inf") if diff > 0 else -1.0)


QPS = Metric("qps", "QPS", "req/s", True, "successful requests per second of wall time")
P99 = Metric("p99_ms", "p99 latency", "ms", False, "99th percentile of request latency")
P50 = Metric("p50_ms", "p50 latency", "ms", False, "median request latency")
RECALL = Metric("recall", "recall", "", True, "mean per-query recall@k against exact ground truth",
                axis=(0.0, 1.0), relative=False)
ERROR_RATE = Metric("error_rate", "error rate", "", False, "failed requests / all requests",
                    axis=(0.0, None), relative=False)

#: The metrics the gate compares per task, in the order verdict lines are printed.
GATED: tuple[Metric, ...] = (QPS, P50, P99, RECALL, ERROR_RATE)
BY_KEY: dict[str, Metric] = {m.key: m for m in (QPS, P99, P50, RECALL, ERROR_RATE)}


def fmt(metric: Metric, value: Optional[float]) -> str:
    """``value`` for humans in the metric's unit (``n/a`` when unmeasured)."""
    if value is None:
        return "n/a"
    if metric.key in ("recall",):
        return f"{value:.4f}"
    if metric.key == "error_rate":
        return f"{value * 100:.2f}%"
    if metric.unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:,.1f}"
