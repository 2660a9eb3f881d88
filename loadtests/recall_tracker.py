"""Per-request recall@k, tie-fair, and its constant-memory aggregation per task.

Scoring is the foundation's (``scenarios.truth.recall``), as ann-benchmarks does it: a returned id is a hit when its
true score is at least as good as the true k-th best score (within a tolerance), so a correct neighbour that ties
at the k-th place is never a miss.

Recall@k takes at most k + 1 distinct values, so aggregation keeps a count per value: mean, p5, min and the count
below a floor are exact, memory does not grow with the run, and counts merge by addition (workers -> master).

Scoring is a pure function of (query, returned ids) against a fixed ground truth, and a load test asks the same
queries over and over (mostly getting the same answers), so the tracker memoises it per task (bounded by
:data:`MEMO_SIZE`): every response is still scored, a repeated answer just costs a dict lookup instead of the
distance computations (about 70 us per response on the bench_load scenario).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from scenarios.truth.scorers import Scorer  # noqa: F401 - re-exported for the users of this module

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scenarios.truth.live import LiveTruth  # noqa: F401

#: Recall values are rounded to this many decimals before counting (k <= 16384 keeps them distinct).
_DECIMALS = 9
#: Memoised (query, returned ids) -> recall entries per task; the memo is emptied when it reaches this size.
MEMO_SIZE = 1 << 16
#: Width of the recall-over-time windows (seconds; doubled when a run outgrows MAX_RECALL_WINDOWS per task).
RECALL_WINDOW_S = 1.0
MAX_RECALL_WINDOWS = 1800


@dataclass
class RecallStats:
    """Per-query recall values of one task, as a count per distinct value (exact and constant-size)."""

    counts: dict[float, int] = field(default_factory=dict)

    def add(self, value: float) -> None:
        """Record one query's recall."""
        key = round(value, _DECIMALS)
        self.counts[key] = self.counts.get(key, 0) + 1

    def merge(self, other: "RecallStats") -> None:
        """Sum ``other`` into this."""
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n

    @property
    def count(self) -> int:
        """Number of scored queries."""
        return sum(self.counts.values())

    def summary(self, floor: Optional[float] = None) -> Optional[dict[str, Any]]:
        """``{mean, p5, min, count, below_floor, floor, histogram}``, or None when nothing was scored."""
        pairs = sorted(self.counts.items())
        total = sum(n for _, n in pairs)
        if not total:
            return None
        mean = sum(v * n for v, n in pairs) / total
        rank, seen, p5 = max(1, math.ceil(0.05 * total)), 0, pairs[-1][0]
        for v, n in pairs:
            seen += n
            if seen >= rank:
                p5 = v
                break
        hist = [0] * 10
        for v, n in pairs:
            hist[min(9, int(v * 10))] += n
        return {"mean": mean, "p5": p5, "min": pairs[0][0], "count": total,
                "below_floor": sum(n for v, n in pairs if v < floor) if floor is not None else 0,
                "floor": floor, "histogram": {"edges": [i / 10 for i in range(11)], "counts": hist}}

    def snapshot(self) -> list[list[float]]:
        """Plain data: ``[[value, count], ...]``."""
        return [[v, n] for v, n in self.counts.items()]

    @classmethod
    def from_snapshot(cls, data: Sequence[Sequence[float]]) -> "RecallStats":
        """The inverse of :meth:`snapshot`."""
        return cls({float(v): int(n) for v, n in data})


class RecallTracker:
    """Recall per task label: scorers in, :class:`RecallStats` out. Unscorable tasks carry a note."""

    def __init__(self, scorers: dict[str, Scorer], notes: Optional[dict[str, str]] = None,
                 live: Optional["LiveTruth"] = None) -> None:
        """``scorers``: label -> scorer of its queries; ``notes``: label -> why that task has no recall (or how it
        is scored); ``live``: the live truth when the collection is written during the run
        (:mod:`scenarios.truth.live`), whose tasks are scored against it."""
        self.scorers = scorers
        self.notes = dict(notes or {})
        self.live = live
        self.stats: dict[str, RecallStats] = {label: RecallStats() for label in scorers}
        self._memo: dict[str, dict[tuple[int, tuple[Any, ...]], float]] = {label: {} for label in scorers}
        #: (window index at ``window_s``, label) -> [sum of recall values, count]: recall over time.
        self.window_s = RECALL_WINDOW_S
        self.series: dict[tuple[int, str], list[float]] = {}

    def score(self, label: str, query_indices: Sequence[int], results: Sequence[Sequence[Any]],
              started: float = 0.0, end: float = 0.0, lane: int = 0) -> Optional[float]:
        """Score one request (one id list per query) sent at epoch ``started`` and answered at ``end`` by the user
        writing ``lane``; returns its mean recall, or None if the task has none (or every place was neutral)."""
        if label not in self.scorers:
            return None
        counts = self.stats[label].counts
        value_of = self.value
        total, n = 0.0, 0
        for q, ids in zip(query_indices, results):
            value = value_of(label, q, ids, started, end, lane)
            if value is None:  # every returned place neutral
                continue
            counts[value] = counts.get(value, 0) + 1  # RecallStats.add, the value already rounded
            total += value
            n += 1
        if not n:
            return None
        if end:
            key2 = (int(end // self.window_s), label)
            cell = self.series.get(key2)
            if cell is None:
                cell = self.series[key2] = [0.0, 0]
                if len(self.series) > MAX_RECALL_WINDOWS * max(1, len(self.scorers)):
                    self._coarsen()
                    key2 = (int(end // self.window_s), label)
                    cell = self.series.setdefault(key2, [0.0, 0])
            cell[0] += total
            cell[1] += n
        return total / n

    def value(self, label: str, q: int, ids: Sequence[Any], started: float = 0.0, end: float = 0.0,
              lane: int = 0) -> Optional[float]:
        """Recall of one answer to query ``q`` (rounded; not counted): live when the task has a live truth and a
        written row is involved, else the static score (memoised). None: no scorer, or every place neutral."""
        live = self.live
        if live is not None and label in live.tasks and not live.static_possible(label, q, ids):
            live_value = live.score(label, q, ids, started, end, lane)
            return None if live_value is None else round(live_value, _DECIMALS)
        scorer = self.scorers.get(label)
        if scorer is None:
            return None
        memo = self._memo[label]
        key = (q, tuple(ids))
        value = memo.get(key)
        if value is None:
            value = round(scorer.score(q, ids), _DECIMALS)
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[key] = value
        return value

    def _coarsen(self) -> None:
        """Double the series' window width (merging window pairs), so it stays bounded."""
        self.window_s *= 2.0
        merged: dict[tuple[int, str], list[float]] = {}
        for (index, label), (total, n) in self.series.items():
            cell = merged.setdefault((index // 2, label), [0.0, 0])
            cell[0] += total
            cell[1] += n
        self.series = merged

    def series_snapshot(self) -> dict[str, Any]:
        """The recall-over-time series as plain data."""
        return {"window_s": self.window_s, "cells": [[i, label, t, n] for (i, label), (t, n) in self.series.items()]}

    def merge_series(self, data: dict[str, Any]) -> None:
        """Add a worker's :meth:`series_snapshot`."""
        while float(data["window_s"]) > self.window_s:
            self._coarsen()
        factor = max(1, int(round(self.window_s / float(data["window_s"]))))
        for i, label, t, n in data["cells"]:
            cell = self.series.setdefault((int(i) // factor, str(label)), [0.0, 0])
            cell[0] += float(t)
            cell[1] += int(n)

    def timeseries(self, start_ts: float) -> list[dict[str, Any]]:
        """Rows ``{t, task, recall, count}``: mean recall of the searches answered in each window (``t``: seconds
        since ``start_ts`` at the window's end)."""
        return [{"t": round((i + 1) * self.window_s - start_ts, 3), "task": label, "recall": t / n, "count": int(n)}
                for (i, label), (t, n) in sorted(self.series.items()) if n]

    def memo_entries(self) -> int:
        """Distinct (query, answer) pairs currently memoised over every task."""
        return sum(len(m) for m in self._memo.values())

    def merge_snapshot(self, data: dict[str, Any]) -> None:
        """Add a worker's :meth:`snapshot` delta."""
        for label, counts in data.items():
            self.stats.setdefault(label, RecallStats()).merge(RecallStats.from_snapshot(counts))

    def snapshot(self) -> dict[str, Any]:
        """Plain data per label."""
        return {label: s.snapshot() for label, s in self.stats.items() if s.counts}

    def reset(self) -> None:
        """Forget the counts (after a worker shipped them)."""
        for s in self.stats.values():
            s.counts.clear()
        self.series.clear()
