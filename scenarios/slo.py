"""The one SLO evaluator: a scenario's ``[slo]`` against measured values, for load runs and capacity steps.

Latency and recall are judged per task (a load run's tasks; a capacity step is one aggregate "task"), error rate
and QPS over everything. An unmeasured latency, error rate or QPS breaks the SLO that needs it; an unmeasured
recall does not (writes have no recall).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Optional

from scenarios.model import SloSpec


@dataclass(frozen=True)
class TaskValues:
    """What one task measured (None = not measured)."""

    p99_ms: Optional[float] = None
    recall: Optional[float] = None


@dataclass(frozen=True)
class SloCheck:
    """One SLO compared with one measured value: ``name`` is the ``[slo]`` key, ``task`` None for run-wide ones."""

    name: str
    task: Optional[str]
    limit: float
    value: Optional[float]
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        """The check as a row of ``load.slo.checks``."""
        return asdict(self)


def check_slo(slo: SloSpec, tasks: Mapping[Optional[str], TaskValues], error_rate: Optional[float],
              qps: Optional[float]) -> list[SloCheck]:
    """Every check ``slo`` asks for: p99 and recall per task, error rate and QPS overall."""
    checks: list[SloCheck] = []
    if slo.p99_ms is not None:
        checks += [SloCheck("p99_ms", label, slo.p99_ms, t.p99_ms, t.p99_ms is not None and t.p99_ms <= slo.p99_ms)
                   for label, t in tasks.items()]
    if slo.recall_floor is not None:
        checks += [SloCheck("recall_floor", label, slo.recall_floor, t.recall, t.recall >= slo.recall_floor)
                   for label, t in tasks.items() if t.recall is not None]
    if slo.max_error_rate is not None:
        checks.append(SloCheck("max_error_rate", None, slo.max_error_rate, error_rate,
                               error_rate is not None and error_rate <= slo.max_error_rate))
    if slo.min_qps is not None:
        checks.append(SloCheck("min_qps", None, slo.min_qps, qps, qps is not None and qps >= slo.min_qps))
    return checks


def totals(tasks: Mapping[str, Mapping[str, Any]], duration_s: float) -> dict[str, Any]:
    """Over every task of a ``load`` section: requests, failures, error rate and QPS."""
    requests = sum(t["requests"] for t in tasks.values())
    failures = sum(t["failures"] for t in tasks.values())
    return {"requests": requests, "failures": failures,
            "error_rate": failures / requests if requests else None,
            "qps": (requests - failures) / duration_s if duration_s > 0 else None}


def slo_checks(slo: SloSpec, tasks: Mapping[str, Mapping[str, Any]], duration_s: float) -> dict[str, Any]:
    """``load.slo`` of a run's per-task stats (``load.tasks``): its checks and whether all passed."""
    total = totals(tasks, duration_s)
    values = {label: TaskValues(t["latency_ms"]["p99"], t["recall"]["mean"] if t.get("recall") else None)
              for label, t in tasks.items()}
    checks = [c.as_dict() for c in check_slo(slo, values, total["error_rate"], total["qps"])]
    return {"checks": checks, "ok": all(c["ok"] for c in checks)}
