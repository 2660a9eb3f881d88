"""Capacity search as a pure function over ``measure(offered_load) -> StepResult``.

Raise the offered load geometrically until an SLO breaks (or the maximum is reached), then bisect between the
last load that kept the SLOs and the first that broke them. The answer is the highest QPS measured at a load that
kept every SLO, the knee of the latency curve, and every step measured (for the plot). ``measure`` is any
callable, so the search is tested with a fake server model and run for real with ``loadtests``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from scenarios.model import SloSpec
from scenarios.slo import TaskValues, check_slo


@dataclass(frozen=True)
class StepResult:
    """What one bounded load step measured (None = not measured)."""

    offered: float
    qps: Optional[float]
    p99_ms: Optional[float]
    error_rate: Optional[float] = None
    recall: Optional[float] = None


@dataclass
class Step:
    """A measured step with its SLO verdict and the search phase that asked for it."""

    result: StepResult
    phase: str
    broken: list[str]

    @property
    def ok(self) -> bool:
        """True when the step kept every SLO."""
        return not self.broken

    def row(self) -> dict[str, Any]:
        """The step as a ``capacity.steps`` row."""
        return {**asdict(self.result), "phase": self.phase, "ok": self.ok, "broken": self.broken}


@dataclass
class Capacity:
    """The search's outcome."""

    steps: list[Step] = field(default_factory=list)

    @property
    def best(self) -> Optional[Step]:
        """The step with the highest QPS among those that kept the SLOs."""
        good = [s for s in self.steps if s.ok and s.result.qps is not None]
        return max(good, key=lambda s: (s.result.qps, -s.result.offered)) if good else None

    @property
    def first_breaking(self) -> Optional[Step]:
        """The lowest offered load that broke an SLO in every measurement of it."""
        kept = {s.result.offered for s in self.steps if s.ok}
        bad = [s for s in self.steps if not s.ok and s.result.offered not in kept]
        return min(bad, key=lambda s: s.result.offered) if bad else None

    @property
    def knee(self) -> Optional[Step]:
        """The step at the knee of p99 latency against offered load (see :func:`knee_index`)."""
        pts = sorted((s for s in self.steps if s.result.p99_ms is not None), key=lambda s: s.result.offered)
        i = knee_index([s.result.offered for s in pts], [s.result.p99_ms for s in pts])  # type: ignore[misc]
        return pts[i] if i is not None else None


#: How a broken SLO is named in ``capacity.steps[].broken``: by the metric it limits (result format 1).
_BROKEN_NAME = {"max_error_rate": "error_rate"}


def broken_slos(step: StepResult, slo: SloSpec) -> list[str]:
    """Names of the SLOs ``step`` breaks (:func:`scenarios.slo.check_slo` on the step as one aggregate task);
    an unmeasured value breaks the SLO that needs it, except recall (writes only have none)."""
    checks = check_slo(slo, {None: TaskValues(step.p99_ms, step.recall)}, step.error_rate, step.qps)
    return [_BROKEN_NAME.get(c.name, c.name) for c in checks if not c.ok]


def knee_index(xs: Sequence[float], ys: Sequence[float]) -> Optional[int]:
    """Kneedle on an increasing convex curve: the point farthest below the chord, after scaling both axes to [0, 1].

    None with fewer than 3 points or when the curve is not convex (no knee).
    """
    if len(xs) < 3 or max(xs) == min(xs) or max(ys) == min(ys):
        return None
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    gaps = [(x - x0) / (x1 - x0) - (y - y0) / (y1 - y0) for x, y in zip(xs, ys)]
    best = max(range(len(gaps)), key=lambda i: gaps[i])
    return best if gaps[best] > 0.05 else None


def find_capacity(measure: Callable[[float], StepResult], slo: SloSpec, *, start: float = 1, max_load: float = 1024,
                  growth: float = 2.0, tolerance: float = 0.1, max_steps: int = 20, integer: bool = True,
                  min_load: float = 1, confirm: int = 0) -> Capacity:
    """Search the highest offered load that keeps ``slo``.

    ``integer`` rounds loads (user counts); bisection stops when the bracket is within ``tolerance`` (relative)
    or one unit, or after ``max_steps`` measurements. ``confirm`` re-measures a breaking load up to that many
    times and counts it broken only if every measurement breaks (one noisy step does not end the search).
    """
    if growth <= 1 or start <= 0 or max_load < start:
        raise ValueError("need growth > 1 and 0 < start <= max_load")
    cap = Capacity()
    norm = (lambda v: float(max(min_load, math.floor(v)))) if integer else (lambda v: float(max(min_load, v)))

    def run(load: float, phase: str) -> bool:
        for _attempt in range(confirm + 1):
            result = measure(load)
            step = Step(result, phase, broken_slos(result, slo))
            cap.steps.append(step)
            if step.ok or len(cap.steps) >= max_steps:
                return step.ok
        return False

    good: Optional[float] = None
    bad: Optional[float] = None
    load = norm(start)
    while len(cap.steps) < max_steps:  # ramp up
        if run(load, "ramp"):
            good = load
            if load >= max_load:
                break
            nxt = norm(load * growth)
            load = min(max(nxt, load + 1 if integer else nxt), norm(max_load))
        else:
            bad = load
            break
    unit = 1.0 if integer else 0.0
    while bad is not None and len(cap.steps) < max_steps:  # bisect (or step down when nothing was good yet)
        lo = good if good is not None else None
        if lo is not None and (bad - lo <= max(tolerance * lo, unit)):
            break
        mid = norm((lo + bad) / 2) if lo is not None else norm(bad / growth)
        if mid == bad or (lo is not None and mid == lo):
            break
        if run(mid, "bisect"):
            good = mid
        else:
            bad = mid
            if good is None and mid <= min_load:
                break
    return cap


def to_section(cap: Capacity, slo: SloSpec, unit: str, per_params: Optional[list[dict[str, Any]]] = None) \
        -> dict[str, Any]:
    """The ``capacity`` section of a result file (``docs/result-format.md``)."""
    best, first_bad, knee = cap.best, cap.first_breaking, cap.knee
    point = lambda s: {"offered": s.result.offered, "qps": s.result.qps, "p99_ms": s.result.p99_ms}  # noqa: E731
    return {"load_unit": unit, "slo": slo.model_dump(exclude_none=True),
            "steps": [s.row() for s in cap.steps],
            "max_sustainable": point(best) if best else None,
            "first_breaking": {"offered": first_bad.result.offered, "broken": first_bad.broken} if first_bad else None,
            "knee": point(knee) if knee else None,
            "per_params": per_params or []}


def step_from_load(offered: float, load: dict[str, Any]) -> StepResult:
    """A step result from a ``load`` section (read by :func:`reports.inputs.task_metrics`): total QPS, the worst
    task's p99, total error rate, lowest recall."""
    from reports.inputs import LoadedResult, task_metrics

    tasks = task_metrics(LoadedResult(Path(f"capacity step at {offered:g}"), {"kind": "load", "load": load})).values()
    requests = sum(t.requests for t in tasks)
    failures = sum(t.failures for t in tasks)
    p99s = [t.p99_ms for t in tasks if t.p99_ms is not None]
    recalls = [t.recall for t in tasks if t.recall is not None]
    qps = [t.qps for t in tasks if t.qps is not None]
    return StepResult(offered=offered, qps=sum(qps) if qps else None, p99_ms=max(p99s) if p99s else None,
                      error_rate=failures / requests if requests else None, recall=min(recalls) if recalls else None)
