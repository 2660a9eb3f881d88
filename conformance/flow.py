"""Run a scenario's flow once through ``MilvusClient`` and once through ``AsyncMilvusClient``, and compare.

The async run issues the calls of a group together with ``asyncio.gather``, as the seed tutorial recommends;
the sync run makes the same calls one by one. A step the server rejects is recorded (step, server, message)
and the flow goes on, through the step's fallback when it has one.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Awaitable, Callable, Iterable

import numpy as np
import scipy.sparse as sp

from conformance.compare import RANKED_SCORES, first_difference
from conformance.flow_calls import FlowCall, already_exists, setup_calls, task_calls
from scenarios.datasets.base import Dataset
from vdb_harness.kernel.errors import client_error_text, is_server_rejection, status_code
from scenarios.model import Scenario
from scenarios.targets import Connection


@dataclass
class StepOutcome:
    """What one step did on one client: its output as plain data, or the error it raised."""

    step: str
    method: str
    ok: bool
    seconds: float
    output: Any = None
    error: str = ""
    error_type: str = ""
    error_code: Any = None
    replaced_by: list[str] = field(default_factory=list)
    optional: bool = False

    def summary(self, width: int = 60) -> str:
        """A one-line human description of the outcome."""
        if not self.ok:
            return f"{self.error_type}({self.error_code}): {self.error}"[:width]
        return summarize(self.output)[:width]


def to_plain(value: Any) -> Any:
    """pymilvus results (SearchResult, HybridHits, ExtraList, LoadState, numpy, CSR) as JSON-able plain data."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if sp.issparse(value):
        csr = value.tocsr()
        return {int(i): float(v) for i, v in zip(csr.indices, csr.data)}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or _is_sequence(value):
        return [to_plain(v) for v in value]
    return str(value)


def _is_sequence(value: Any) -> bool:
    return hasattr(value, "__iter__") and hasattr(value, "__len__") and not isinstance(value, (str, bytes, dict))


def summarize(output: Any) -> str:
    """A short description of a plain output: counts and the first ids of search hits."""
    if isinstance(output, dict) and "insert_count" in output:
        return f"insert_count={output['insert_count']}"
    if isinstance(output, list) and output and isinstance(output[0], list):  # search: one hit list per query
        firsts = [str(hits[0].get("id")) if hits and isinstance(hits[0], dict) else "-" for hits in output]
        return f"{len(output)} queries x {len(output[0])} hits; top ids {', '.join(firsts)}"
    if isinstance(output, list) and len(output) == 1 and isinstance(output[0], dict):
        return ", ".join(f"{k}={v}" for k, v in output[0].items())
    if isinstance(output, list):
        return f"{len(output)} rows"
    if output is None:
        return "ok"
    return str(output)


def _error_fields(exc: BaseException) -> dict[str, Any]:
    return {"error": client_error_text(exc), "error_type": type(exc).__name__, "error_code": status_code(exc)}


def _prepare_calls(scenario: Scenario, dataset: Dataset) -> list[FlowCall]:
    return setup_calls(scenario, dataset) + task_calls(scenario, dataset)


def _grouped(calls: list[FlowCall]) -> Iterable[list[FlowCall]]:
    """Consecutive calls of the same non-empty group together; others alone."""
    batch: list[FlowCall] = []
    for call in calls:
        if batch and (not call.group or call.group != batch[0].group):
            yield batch
            batch = []
        batch.append(call)
        if not call.group:
            yield batch
            batch = []
    if batch:
        yield batch


def _after(call: FlowCall, outcome: StepOutcome, exc: BaseException | None) -> list[FlowCall]:
    outcome.optional = call.optional or (exc is not None and call.method.startswith("create") and already_exists(exc))
    if exc is None or call.on_reject is None or not is_server_rejection(exc):
        return []
    replacement = call.on_reject(exc)
    outcome.replaced_by = [c.step for c in replacement]
    return replacement


def run_sync(conn: Connection, scenario: Scenario, dataset: Dataset,
             on_step: Callable[[StepOutcome], None] | None = None) -> list[StepOutcome]:
    """The flow through ``MilvusClient``, one call at a time."""
    client = conn.sync_client()
    outcomes: list[StepOutcome] = []
    try:
        _drop_if_exists_sync(client, scenario)
        pending = _prepare_calls(scenario, dataset)
        while pending:
            call = pending.pop(0)
            outcome, exc = _call_sync(client, call)
            pending[:0] = _after(call, outcome, exc)
            outcomes.append(outcome)
            if on_step:
                on_step(outcome)
            if exc is not None and call.required:
                break
    finally:
        client.close()
    return outcomes


def _call_sync(client: Any, call: FlowCall) -> tuple[StepOutcome, BaseException | None]:
    started = time.perf_counter()
    try:
        output = getattr(client, call.method)(**call.kwargs)
    except Exception as exc:  # noqa: BLE001 - every server/client error is an outcome to report and compare
        return StepOutcome(call.step, call.method, False, time.perf_counter() - started, **_error_fields(exc)), exc
    return StepOutcome(call.step, call.method, True, time.perf_counter() - started, to_plain(output)), None


def _drop_if_exists_sync(client: Any, scenario: Scenario) -> None:
    name = scenario.collection.name
    if scenario.collection.drop_existing and client.has_collection(name):
        client.drop_collection(name)


def run_async(conn: Connection, scenario: Scenario, dataset: Dataset,
              on_step: Callable[[StepOutcome], None] | None = None) -> list[StepOutcome]:
    """The flow through ``AsyncMilvusClient`` on a fresh event loop; a group's calls run together (gather)."""
    return asyncio.run(_run_async(conn, scenario, dataset, on_step))


async def _run_async(conn: Connection, scenario: Scenario, dataset: Dataset,
                     on_step: Callable[[StepOutcome], None] | None) -> list[StepOutcome]:
    client = conn.async_client()  # one client per event loop, created inside it
    outcomes: list[StepOutcome] = []
    try:
        name = scenario.collection.name
        if scenario.collection.drop_existing and await client.has_collection(name):
            await client.drop_collection(name)
        pending = _prepare_calls(scenario, dataset)
        while pending:
            group = next(iter(_grouped(pending)))
            del pending[: len(group)]
            results = await asyncio.gather(*(_call_async(client, call) for call in group))
            stop = False
            for call, (outcome, exc) in zip(group, results):
                pending[:0] = _after(call, outcome, exc)
                outcomes.append(outcome)
                if on_step:
                    on_step(outcome)
                stop = stop or (exc is not None and call.required)
            if stop:
                break
    finally:
        await client.close()
    return outcomes


async def _call_async(client: Any, call: FlowCall) -> tuple[StepOutcome, BaseException | None]:
    started = time.perf_counter()
    try:
        coroutine: Awaitable[Any] = getattr(client, call.method)(**call.kwargs)
        output = await coroutine
    except Exception as exc:  # noqa: BLE001
        return StepOutcome(call.step, call.method, False, time.perf_counter() - started, **_error_fields(exc)), exc
    return StepOutcome(call.step, call.method, True, time.perf_counter() - started, to_plain(output)), None


@dataclass
class StepComparison:
    """The sync and async outcome of one step and whether they agree."""

    step: str
    sync: StepOutcome | None
    asyn: StepOutcome | None
    match: bool
    why: str = ""
    #: Set when this step exists on one side only because an earlier step diverged (its fallback steps).
    consequence_of: str = ""


def compare_runs(sync: list[StepOutcome], asyn: list[StepOutcome]) -> list[StepComparison]:
    """Pair the two runs step by step and say where they differ (values within
    :func:`conformance.compare.first_difference`'s tolerance, errors, or missing steps)."""
    by_step = {o.step: o for o in asyn}
    out = []
    for s in sync:
        a = by_step.pop(s.step, None)
        match, why = _same(s, a)
        out.append(StepComparison(s.step, s, a, match, why))
    out.extend(StepComparison(step, None, a, False, "only the async run has this step") for step, a in by_step.items())
    _mark_consequences(out)
    return out


def _mark_consequences(comparisons: list[StepComparison]) -> None:
    """Label one-sided fallback steps with the diverged step that caused them, so one cause is reported once."""
    parent: dict[str, str] = {}
    for c in comparisons:
        for outcome in (c.sync, c.asyn):
            for child in (outcome.replaced_by if outcome else []):
                parent.setdefault(child, c.step)
    diverged = {c.step for c in comparisons if not c.match}
    for c in comparisons:
        if c.match or (c.sync is not None and c.asyn is not None):
            continue
        root = parent.get(c.step, "")
        while root in parent and root not in diverged:
            root = parent[root]
        while parent.get(root) in diverged:
            root = parent[root]
        if root in diverged:
            c.consequence_of = root
            c.why = f"{c.why} (follows from the divergence at {root})"


def _same(s: StepOutcome, a: StepOutcome | None) -> tuple[bool, str]:
    if a is None:
        return False, "only the sync run has this step"
    if s.ok != a.ok:
        return False, "one client raised, the other did not"
    if not s.ok:
        if (s.error_type, s.error_code) != (a.error_type, a.error_code):
            return False, f"different errors: {s.error_type}({s.error_code}) vs {a.error_type}({a.error_code})"
        return True, ""
    # a step's output is plain data (search hits as [[{"id", "distance", ...}]]): scores the server computes
    # compare within the tolerance, everything else exactly
    diff = first_difference(s.output, a.output, computed=RANKED_SCORES)
    return (diff is None), diff or ""
