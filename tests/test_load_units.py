"""Load-test building blocks without a server: the HDR recorder, recall aggregation, shapes, the task registry."""

from __future__ import annotations

import random

import pytest

from loadtests.recall_tracker import RecallStats
from loadtests.recorder import MAX_WINDOWS, Recorder, merged
from scenarios.model import LoadSpec, TaskKind


def _fill(rec: Recorder, seed: int, n: int = 500) -> None:
    rng = random.Random(seed)
    for i in range(n):
        code = "grpc:UNAVAILABLE" if rng.random() < 0.05 else None
        rec.record(rng.choice(["a", "b"]), 1_000.0 + i * 0.01, rng.uniform(0.0005, 0.2), code)


def test_recorder_merge_of_snapshots_equals_one_recorder_of_everything() -> None:
    parts = [Recorder() for _ in range(3)]
    whole = Recorder()
    for seed, part in enumerate(parts):
        _fill(part, seed)
        _fill(whole, seed)
    total = merged(Recorder.from_snapshot(p.snapshot()) for p in parts)
    for label, rec in whole.tasks.items():
        got = total.tasks[label]
        assert (got.requests, got.failures, got.errors) == (rec.requests, rec.failures, rec.errors)
        assert got.latency_ms() == rec.latency_ms()
    assert {k: (w.requests, w.failures, w.buckets) for k, w in total.series.items()} == \
           {k: (w.requests, w.failures, w.buckets) for k, w in whole.series.items()}


def test_recorder_latency_is_microsecond_exact_not_rounded() -> None:
    rec = Recorder()
    for ms in (1.234, 2.345, 3.456):
        rec.record("t", 0.0, ms / 1000.0)
    lat = rec.tasks["t"].latency_ms()
    assert lat["max"] == pytest.approx(3.456, abs=0.002)
    assert lat["p50"] == pytest.approx(2.345, abs=0.002)


def test_series_memory_is_bounded_however_long_the_run() -> None:
    rec = Recorder(max_windows=100)
    for second in range(10_000):
        rec.record("t", float(second), 0.001)
    assert len(rec.series) <= 100
    assert sum(w.requests for w in rec.series.values()) == 10_000
    assert MAX_WINDOWS >= 100


def test_recall_stats_are_exact_and_mergeable() -> None:
    values = [1.0] * 90 + [0.9] * 8 + [0.5, 0.0]
    a, b = RecallStats(), RecallStats()
    for i, v in enumerate(values):
        (a if i % 2 else b).add(v)
    a.merge(RecallStats.from_snapshot(b.snapshot()))
    s = a.summary(floor=0.95)
    assert s["count"] == 100
    assert s["mean"] == pytest.approx(sum(values) / 100)
    assert s["min"] == 0.0
    assert s["p5"] == 0.9
    assert s["below_floor"] == 10


def test_shapes_end_by_themselves() -> None:
    from loadtests.stages import stages_for

    assert stages_for(LoadSpec(shape="fixed", users=3, run_time="10s")) == [(10.0, 3)]
    assert stages_for(LoadSpec(shape="ladder", steps=[1, 2, 4], step_time="5s")) == [(5.0, 1), (10.0, 2), (15.0, 4)]
    spike = stages_for(LoadSpec(shape="spike", users=2, spike_users=8, spike_time="4s", run_time="10s"))
    assert spike == [(3.0, 2), (7.0, 8), (10.0, 2)]


def test_every_task_kind_has_a_registry_entry() -> None:
    from loadtests.tasks import TASK_KINDS

    assert set(TASK_KINDS) == set(TaskKind)


class _CountingScorer:
    """A scorer of our own whose answer depends only on (query, ids), counting how often it is asked."""

    def __init__(self) -> None:
        self.calls = 0

    def score(self, query_index: int, returned_ids: object) -> float:
        self.calls += 1
        return (query_index + len(list(returned_ids))) % 7 / 7


def test_recall_memo_gives_the_scorer_s_values_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtests import recall_tracker

    monkeypatch.setattr(recall_tracker, "MEMO_SIZE", 5)
    scorer = _CountingScorer()
    memoised = recall_tracker.RecallTracker({"t": scorer})
    direct = RecallStats()
    rng = random.Random(3)
    for _ in range(500):
        q = rng.randrange(12)
        ids = list(range(rng.randrange(1, 4)))
        memoised.score("t", [q], [ids])
        direct.add(round(_CountingScorer().score(q, ids), 9))
    assert memoised.stats["t"].counts == direct.counts  # every response counted, with the scorer's own value
    assert memoised.memo_entries() <= 5  # emptied when full, never larger
    assert scorer.calls < 500  # repeated answers were not scored again


def test_the_independent_stopwatch_times_returns_raises_and_awaited_calls() -> None:
    """One sample per call, whether it returns or raises; a coroutine is timed from its first await to its end."""
    import asyncio
    import time

    from loadtests.crosscheck import stopwatch

    sink: list[float] = []
    assert stopwatch(lambda x: x + 1, sink)(1) == 2 and len(sink) == 1

    def fails() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError):
        stopwatch(fails, sink)()
    assert len(sink) == 2

    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "done"

    pending = stopwatch(slow, sink)()
    time.sleep(0.2)  # not yet awaited: not yet timed
    start = time.perf_counter()
    assert asyncio.run(pending) == "done" and len(sink) == 3
    assert 50.0 <= sink[-1] <= (time.perf_counter() - start) * 1000.0, sink[-1]  # the await, not the sleep
