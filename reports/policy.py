"""The gate policy (``gate.toml``): thresholds per metric, per-task overrides and the statistics' settings.

Example::

    alpha = 0.01              # one-sided Mann-Whitney significance for "the candidate is worse"
    min_runs = 5              # runs per side for the test (else thresholds only; 5 is the least
                              # at which a one-sided Mann-Whitney test can reach p < 0.01)
    confidence = 0.95         # bootstrap confidence interval shown per metric
    new_divergence = true     # any new conformance divergence fails the gate
    intervals = "auto"        # single-run gate from each run's per-window series: "auto" (when a side has fewer
                              # than min_runs runs and every run has them), "on" (always; a run without them is
                              # bad input), "off" (never: thresholds only below min_runs)
    min_intervals = 10        # windows per run (after dropping its partial edge windows) the interval test needs

    [thresholds]              # the largest tolerated worsening (omit a key to keep its default, false to skip)
    qps_drop = 0.05           # relative: 5 % fewer requests/s
    p50_rise = 0.05           # relative: 5 % slower median
    p99_rise = 0.05           # relative: 5 % slower p99
    recall_drop = 0.01        # absolute: 0.01 less mean recall
    error_rate_rise = 0.005   # absolute: 0.5 percentage points more failed requests

    [tasks.insert]            # per task label: overrides of [thresholds]
    p99_rise = 0.25
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from vdb_harness.kernel.errors import BadInputError, read_input_text
from scenarios.loader import validate_toml

Limit = Union[Literal[False], float, None]

#: threshold key -> the metric it limits
THRESHOLD_METRIC = {"qps_drop": "qps", "p50_rise": "p50_ms", "p99_rise": "p99_ms", "recall_drop": "recall",
                    "error_rate_rise": "error_rate"}


class Thresholds(BaseModel):
    """Largest tolerated worsening per metric; ``false`` (or null) turns a metric off."""

    model_config = ConfigDict(extra="forbid")
    qps_drop: Limit = Field(default=None, description="relative QPS drop, e.g. 0.05")
    p50_rise: Limit = Field(default=None, description="relative p50 (median) latency rise")
    p99_rise: Limit = Field(default=None, description="relative p99 latency rise")
    recall_drop: Limit = Field(default=None, description="absolute mean-recall drop")
    error_rate_rise: Limit = Field(default=None, description="absolute error-rate rise")


DEFAULTS = {"qps_drop": 0.05, "p50_rise": 0.05, "p99_rise": 0.05, "recall_drop": 0.01, "error_rate_rise": 0.005}


class Policy(BaseModel):
    """A whole gate policy."""

    model_config = ConfigDict(extra="forbid")
    alpha: float = Field(default=0.01, gt=0, lt=1)
    min_runs: int = Field(default=5, ge=2, le=1000)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    bootstrap_resamples: int = Field(default=2000, ge=100, le=1_000_000)
    new_divergence: bool = True
    intervals: Literal["auto", "on", "off"] = "auto"
    min_intervals: int = Field(default=10, ge=3, le=1_000_000)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    tasks: dict[str, Thresholds] = Field(default_factory=dict)

    def limit(self, task: str, metric_key: str) -> Optional[float]:
        """The threshold for ``metric_key`` on ``task`` (None = not gated)."""
        name = next(k for k, v in THRESHOLD_METRIC.items() if v == metric_key)
        for source in (self.tasks.get(task), self.thresholds):
            if source is not None and name in source.model_fields_set:
                value = getattr(source, name)
                return None if value is None or value is False else float(value)
        return DEFAULTS[name]


def load_policy(path: Optional[str | os.PathLike]) -> Policy:
    """The policy in ``path`` (the defaults when None); errors name the file and the key."""
    if path is None:
        return Policy()
    p = Path(path)
    return validate_toml(read_input_text(p, "policy"), str(p), Policy, "policy", BadInputError)
