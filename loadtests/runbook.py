"""Run a scenario's streaming runbook (``[runbook]``) under the concurrent load, step by step, in one greenlet.

Each step's requests go through one ``MilvusClient`` of its own (its writer lane is :data:`RUNBOOK_LANE`); writes
are registered with the phase's live truth before they are sent and acknowledged when they return, so the load
users' searches and the runbook's own are scored against exactly what must be visible. Per step the result holds
its wall span, requests, failures, latency percentiles, rows written, the recall of its own searches (search
steps) and the mean recall of the load's searches answered during the step.
"""

from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from scenarios.calls import LANE_WIDTH
from vdb_harness.kernel.errors import error_code
from scenarios.model import (DeleteStep, InsertStep, Scenario, SearchStep, SleepStep, WaitStep, parse_duration)

#: The runbook writes ids in this lane (far from the load users', which are worker * 1e6 + user).
RUNBOOK_LANE = 1 << 30
#: Seconds between polls of the index state (wait until = "index").
POLL_S = 0.5


def runbook_ids(write_base: Optional[int], start: int, end: int) -> list[Any]:
    """The ids the runbook gives pool rows ``[start, end)`` (VARCHAR keys: ``w<lane>-<row>``)."""
    if write_base is None:
        return [f"w{RUNBOOK_LANE}-{i}" for i in range(start, end)]
    base = write_base + RUNBOOK_LANE * LANE_WIDTH
    return list(range(base + start, base + end))


def step_label(step: Any, index: int) -> str:
    """The label of a step in the result: its ``name``, else ``<op>[<index>]``."""
    return step.name or f"{step.op}[{index}]"


class RunbookDriver:
    """Runs the runbook once; :attr:`steps` fills as steps finish, :attr:`completed` says whether all ran."""

    def __init__(self, scenario: Scenario, dataset: Any, conn: Any, context: Any, plans: list[Any]) -> None:
        """``context``: the phase's :class:`loadtests.context.RunContext` (its recall tracker and live truth);
        ``plans``: the phase's task plans (search steps take their requests from them)."""
        assert scenario.runbook is not None
        self.scenario, self.dataset, self.conn, self.ctx = scenario, dataset, conn, context
        self.plans = {p.label: p for p in plans}
        self.runbook = scenario.runbook
        integer = dataset.ids.dtype.kind in "iu"
        self.write_base = (int(np.max(dataset.ids)) + 1 if len(dataset) else 0) if integer else None
        self.primary = scenario.collection.primary.name
        self.steps: list[dict[str, Any]] = []
        self.completed = False
        self.error: Optional[str] = None
        self.started = 0.0
        self._cursor = 0

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        """Every step in order (stops at the first step that cannot go on, recording why)."""
        self.started = time.time()
        client = self.conn.sync_client()
        try:
            for i, step in enumerate(self.runbook.steps):
                record = self._step(client, i, step)
                self.steps.append(record)
                if record.get("error"):
                    self.error = f"{record['label']}: {record['error']}"
                    return
            self.completed = True
        finally:
            client.close()

    def _step(self, client: Any, index: int, step: Any) -> dict[str, Any]:
        t0 = time.time()
        load_before = self._load_recall_totals()
        rec: dict[str, Any] = {"index": index, "op": step.op, "label": step_label(step, index),
                               "start_s": round(t0 - self.started, 3), "requests": 0, "failures": 0,
                               "errors_by_code": {}, "rows": 0, "recall": None, "error": None}
        latencies: list[float] = []
        recalls: list[float] = []
        try:
            if isinstance(step, InsertStep):
                self._insert(client, step, rec, latencies)
            elif isinstance(step, DeleteStep):
                self._delete(client, step, rec, latencies)
            elif isinstance(step, SearchStep):
                self._search(client, step, rec, latencies, recalls)
            elif isinstance(step, WaitStep):
                self._wait(client, step, rec, latencies)
            elif isinstance(step, SleepStep):
                _sleep(parse_duration(step.duration))
        except Exception as exc:  # noqa: BLE001 - a step that cannot go on ends the runbook, recorded
            rec["error"] = f"{type(exc).__name__}: {exc}"
        end = time.time()
        rec["end_s"] = round(end - self.started, 3)
        rec["duration_s"] = round(end - t0, 3)
        rec["latency_ms"] = _latency(latencies)
        if recalls:
            arr = np.asarray(recalls)
            rec["recall"] = {"mean": float(arr.mean()), "min": float(arr.min()), "count": int(arr.size)}
        total, n = self._load_recall_totals()
        rec["load_recall"] = {"mean": (total - load_before[0]) / (n - load_before[1]), "count": n - load_before[1]} \
            if n > load_before[1] else None
        return rec

    def _call(self, client: Any, rec: dict[str, Any], latencies: list[float], method: str, kwargs: dict[str, Any],
              write: Optional[tuple[str, list[Any], Optional[list[int]]]] = None) -> tuple[Any, float, float]:
        """One timed request; registers a write with the live truth around it. Returns (result, sent, answered)."""
        live = self.ctx.recall.live if self.ctx.score_recall else None
        sent = time.time()
        token = live.sent(write[0], write[1], write[2], RUNBOOK_LANE, sent) if live is not None and write else None
        t = time.perf_counter()
        ok, result = True, None
        try:
            result = getattr(client, method)(**kwargs, timeout=self.conn.timeout)
        except Exception as exc:  # noqa: BLE001 - a failed request is a measured outcome of the step
            ok = False
            rec["failures"] += 1
            code = error_code(exc)
            rec["errors_by_code"][code] = rec["errors_by_code"].get(code, 0) + 1
        seconds = time.perf_counter() - t
        answered = time.time()  # the answer arrived by now (``sent`` is before the write's registration)
        rec["requests"] += 1
        if ok:
            latencies.append(seconds)
        if token is not None:
            live.acked(token, answered, ok)
        return result, sent, answered

    def _insert(self, client: Any, step: InsertStep, rec: dict[str, Any], latencies: list[float]) -> None:
        t0 = time.time()
        name = self.scenario.collection.name
        for a in range(step.start, step.end, step.batch):
            b = min(a + step.batch, step.end)
            ids = runbook_ids(self.write_base, a, b)
            rows = self.dataset.rows(a, b)
            for row, pk in zip(rows, ids):
                row[self.primary] = pk
            self._call(client, rec, latencies, "insert", {"collection_name": name, "data": rows},
                                 ("insert", ids, list(range(a, b))))
            rec["rows"] += b - a
            if step.rate:
                _sleep(t0 + (b - step.start) / step.rate - time.time())

    def _delete(self, client: Any, step: DeleteStep, rec: dict[str, Any], latencies: list[float]) -> None:
        name = self.scenario.collection.name
        for a in range(step.start, step.end, step.batch):
            b = min(a + step.batch, step.end)
            ids = runbook_ids(self.write_base, a, b)
            self._call(client, rec, latencies, "delete", {"collection_name": name, "ids": ids}, ("delete", ids, None))
            rec["rows"] += b - a

    def _search_plan(self, step: SearchStep) -> Any:
        if step.task is not None:
            return self.plans[step.task]
        return next(p for p in self.plans.values() if p.kind.is_search and p.method == "search")

    def _search(self, client: Any, step: SearchStep, rec: dict[str, Any], latencies: list[float],
                recalls: list[float]) -> None:
        plan = self._search_plan(step)
        tracker = self.ctx.recall
        done = 0
        while done < step.queries:
            n = min(step.batch, step.queries - done)
            qs = [(self._cursor + i) % plan.req.nq for i in range(n)]
            self._cursor += n
            result, sent, answered = self._call(client, rec, latencies, "search", plan.req.search(qs))
            done += n
            if result is None or not self.ctx.score_recall:
                continue
            for q, hits in zip(qs, result):
                ids = getattr(hits, "ids", None)
                ids = [h["id"] for h in hits] if ids is None else list(ids)
                value = tracker.value(plan.label, q, ids, sent, answered, RUNBOOK_LANE)
                if value is not None:
                    recalls.append(value)

    def _wait(self, client: Any, step: WaitStep, rec: dict[str, Any], latencies: list[float]) -> None:
        name = self.scenario.collection.name
        deadline = time.time() + parse_duration(step.timeout)
        self._call(client, rec, latencies, "flush", {"collection_name": name})
        if step.until != "index":
            return
        states: dict[str, Any] = {}
        rec["index_state"] = states
        for index in self.scenario.indexes:
            while True:
                names = client.list_indexes(name, field_name=index.field, timeout=self.conn.timeout)
                pending = 0
                for index_name in names or []:
                    info = client.describe_index(name, index_name, timeout=self.conn.timeout) or {}
                    pending += int(info.get("pending_index_rows", 0) or 0)
                    # what the server said, so a server that does not report progress is visible as such
                    states[str(index_name)] = {key: info.get(key) for key in
                                               ("indexed_rows", "total_rows", "pending_index_rows", "state")}
                if not pending:
                    break
                if time.time() > deadline:
                    raise TimeoutError(f"index on {index.field!r} still has {pending} rows pending after "
                                       f"{step.timeout}")
                _sleep(POLL_S)

    def _load_recall_totals(self) -> tuple[float, int]:
        """Sum and count of the recall values the phase's tracker has counted so far (load searches)."""
        total, n = 0.0, 0
        for stats in self.ctx.recall.stats.values():
            for v, c in stats.counts.items():
                total += v * c
                n += c
        return total, n

    def section(self) -> dict[str, Any]:
        """The result's ``load.runbook``: completed or not (and why), and every step that ran."""
        return {"completed": self.completed, "steps_total": len(self.runbook.steps), "steps_run": len(self.steps),
                "error": self.error, "lane": RUNBOOK_LANE, "steps": self.steps}


def _sleep(seconds: float) -> None:
    if seconds > 0:
        import gevent

        gevent.sleep(seconds)


def _latency(latencies: list[float]) -> dict[str, Optional[float]]:
    if not latencies:
        return {"p50": None, "p99": None, "max": None, "mean": None}
    arr = np.asarray(latencies) * 1000.0
    return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)), "max": float(arr.max()),
            "mean": float(arr.mean())}

