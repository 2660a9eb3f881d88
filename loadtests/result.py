"""The ``load`` section of ``result.json`` (kind ``load``): per-task stats of each phase, the series, the sweep,
the concurrency ladder, and the SLO verdict. The layout is ``vdb_harness/kernel/result.schema.json`` ``$defs/load``.
"""

from __future__ import annotations

from typing import Any, Optional

from loadtests.runner import PhaseRun
from scenarios.slo import totals


def task_stats(run: PhaseRun, floor: Optional[float]) -> dict[str, dict[str, Any]]:
    """Per-task stats of one phase: counts, errors by code, QPS, HDR latency, recall (or why there is none)."""
    ctx = run.context
    out: dict[str, dict[str, Any]] = {}
    duration = max(run.duration_s, 1e-9)
    for label, rec in sorted(ctx.recorder.tasks.items()):
        recall_stats = ctx.recall.stats.get(label)
        summary = recall_stats.summary(floor) if recall_stats is not None else None
        note = ctx.recall.notes.get(label)
        if summary is None and note is None:
            kind = ctx.recorder.kinds.get(label, "")
            if kind.endswith("search"):
                note = "recall not scored (--no-recall)" if not ctx.score_recall else "no successful search"
            else:
                note = f"recall not defined for {kind or 'this task'} (it returns no ranked neighbours)"
        out[label] = {"kind": ctx.recorder.kinds.get(label), "requests": rec.requests, "failures": rec.failures,
                      "errors_by_code": dict(rec.errors), "qps": (rec.requests - rec.failures) / duration,
                      "latency_ms": rec.latency_ms(), "recall": summary, "recall_note": note}
    return out


def phase_json(run: PhaseRun, floor: Optional[float]) -> dict[str, Any]:
    """One phase: its users, duration, what stopped it, and its per-task stats."""
    tasks = task_stats(run, floor)
    out = {"name": run.name, "users": max((u for _, u in run.shape.stages), default=None),
           "duration_s": run.duration_s, "stopped_by": run.stopped_by, "workers": run.workers,
           "totals": totals(tasks, run.duration_s), "tasks": tasks, "locust": run.locust_totals,
           "outages": run.outages}
    if run.server_lost:
        out["server_lost"] = {**run.server_lost, "at_s": round(run.server_lost["at"] - run.started, 3)}
    if run.interrupted:
        out["interrupted"] = True
    if run.workers:
        out["worker_nodes"] = run.worker_nodes
        out["workers_lost"] = run.workers_lost
    return out


def concurrency_rows(run: PhaseRun) -> list[dict[str, Any]]:
    """Per stage of the shape (a ladder step): users, QPS, p99 and error rate, from the per-second series."""
    rows = []
    lo = 0.0
    series = run.context.recorder.series
    width = run.context.recorder.window_s
    for until, users in run.shape.stages:
        agg_req = agg_fail = 0
        from loadtests.recorder import Window

        win = Window()
        for (index, _task), w in series.items():
            t = (index + 1) * width - run.started
            if lo < t <= until + width:
                win.add(w)
        agg_req, agg_fail = win.requests, win.failures
        span = max(until - lo, 1e-9)
        rows.append({"users": users, "qps": (agg_req - agg_fail) / span, "p99_ms": win.percentile_ms(99.0),
                     "error_rate": agg_fail / agg_req if agg_req else None})
        lo = until
    return rows
