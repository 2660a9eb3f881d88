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

#: Recall values are rounded to this many decimals before counting (k <= 16384 keeps them distinct).
_DECIMALS = 9
#: Memoised (query, returned ids) -> recall entries per task; the memo is emptied when it reaches this size.
MEMO_SIZE = 1 << 16


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

    def __init__(self, scorers: dict[str, Scorer], notes: Optional[dict[str, str]] = None) -> None:
        """``scorers``: label -> scorer of its queries; ``notes``: label -> why that task has no recall."""
        self.scorers = scorers
        self.notes = dict(notes or {})
        self.stats: dict[str, RecallStats] = {label: RecallStats() for label in scorers}
        self._memo: dict[str, dict[tuple[int, tuple[Any, ...]], float]] = {label: {} for label in scorers}

    def score(self, label: str, query_indices: Sequence[int], results: Sequence[Sequence[Any]]) -> Optional[float]:
        """Score one request (one id list per query); returns its mean recall, or None if the task has none."""
        scorer = self.scorers.get(label)
        if scorer is None:
            return None
        counts = self.stats[label].counts
        memo = self._memo[label]
        total = 0.0
        for q, ids in zip(query_indices, results):
            key = (q, tuple(ids))
            value = memo.get(key)
            if value is None:
                value = round(scorer.score(q, ids), _DECIMALS)
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[key] = value
            counts[value] = counts.get(value, 0) + 1  # RecallStats.add, the value already rounded
            total += value
        return total / len(results) if results else None

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
