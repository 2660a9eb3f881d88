"""A load result's interval series (``load.intervals``), read into arrays the gate's block bootstrap resamples.

One :class:`TaskIntervals` per run and task label: successes, failures and requests per window and a dense matrix of
per-window latency-bucket counts (the recorder's geometric buckets, 16 per octave by default). Windows that only
partly overlap the run (its first and last, as the file says) are dropped: they would read as a QPS dip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from reports.inputs import LoadedResult
from vdb_harness.kernel.errors import BadInputError


@dataclass(frozen=True)
class TaskIntervals:
    """One task's per-window counts in one run (``n`` windows of ``window_s`` seconds)."""

    window_s: float
    successes: np.ndarray  # (n,)
    failures: np.ndarray  # (n,)
    latency: np.ndarray  # (n, buckets): successful requests per latency bucket
    base_us: float
    per_octave: int

    @property
    def n(self) -> int:
        """Number of windows."""
        return int(self.successes.shape[0])

    def bucket_edges_ms(self, buckets: int) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper edge (ms) of buckets ``0..buckets-1`` (bucket 0 starts at 0)."""
        i = np.arange(buckets, dtype=float)
        upper = self.base_us * 2.0 ** (i / self.per_octave) / 1000.0
        lower = np.where(i == 0, 0.0, self.base_us * 2.0 ** ((i - 1) / self.per_octave) / 1000.0)
        return lower, upper


def _ints(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                              for v in value):
        raise BadInputError(f"{where} must be a list of non-negative integers")
    return value


def has_intervals(result: LoadedResult) -> bool:
    """Whether the result carries an interval series at all."""
    return isinstance(result.section("load").get("intervals"), dict)


def task_intervals(result: LoadedResult, label: str) -> Optional[TaskIntervals]:
    """``label``'s interval series in ``result`` without its partial edge windows (None when the file has none
    for the task); a malformed series is a bad input naming the file and key."""
    section = result.section("load").get("intervals")
    if section is None:
        return None
    where = f"{result.path}: load.intervals"
    if not isinstance(section, dict) or not isinstance(section.get("tasks"), dict):
        raise BadInputError(f"{where} must be an object with 'tasks'")
    raw = section["tasks"].get(label)
    if raw is None:
        return None
    where = f"{where}.tasks.{label}"
    if not isinstance(raw, dict):
        raise BadInputError(f"{where} must be an object")
    try:
        window_s = float(section["window_s"])
        buckets = section.get("buckets") or {}
        base_us, per_octave = float(buckets.get("base_us", 10.0)), int(buckets.get("per_octave", 16))
    except (KeyError, TypeError, ValueError):
        raise BadInputError(f"{result.path}: load.intervals needs a numeric window_s and buckets") from None
    if window_s <= 0 or base_us <= 0 or per_octave <= 0:
        raise BadInputError(f"{result.path}: load.intervals: window_s, base_us and per_octave must be positive")
    requests = _ints(raw.get("requests"), f"{where}.requests")
    failures = _ints(raw.get("failures"), f"{where}.failures")
    latency = raw.get("latency")
    if not isinstance(latency, list) or not (len(requests) == len(failures) == len(latency)):
        raise BadInputError(f"{where}: requests, failures and latency must be lists of the same length")
    width = 1
    for i, h in enumerate(latency):
        _ints(h, f"{where}.latency[{i}]")
        if h:
            width = max(width, h[0] + len(h) - 1)
    hist = np.zeros((len(latency), width), dtype=np.int64)
    for i, h in enumerate(latency):
        if h:
            hist[i, h[0]:h[0] + len(h) - 1] = h[1:]
    req, fail = np.asarray(requests, dtype=np.int64), np.asarray(failures, dtype=np.int64)
    if np.any(fail > req):
        raise BadInputError(f"{where}: a window has more failures than requests")
    keep = slice(1 if section.get("start_partial") else 0,
                 len(req) - 1 if section.get("end_partial") else len(req))
    return TaskIntervals(window_s, (req - fail)[keep], fail[keep], hist[keep], base_us, per_octave)
