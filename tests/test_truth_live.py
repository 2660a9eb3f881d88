"""Recall while the collection is written (scenarios.truth.live): units against a brute-force oracle, and a real
embedded server run that keeps FLAT recall at 1.0 under concurrent inserts and deletes with Strong consistency."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from loadtests.recall_tracker import RecallTracker
from scenarios.truth.exact import exact_topk
from scenarios.truth.live import BOUNDED_STALENESS_S, LiveTaskTruth, LiveTruth
from scenarios.model import Metric
from scenarios.truth.recall import RecallScorer
from tests import scenario_files

N, NQ, DIM, K = 300, 12, 8, 5
BASE = N  # first written id (ids of the dataset are 0..N-1)


def _setup(consistency: str = "Strong", metric: Metric = Metric.L2, mask=None):
    rng = np.random.default_rng(3)
    train = rng.standard_normal((N, DIM)).astype(np.float32)
    queries = rng.standard_normal((NQ, DIM)).astype(np.float32)
    truth = exact_topk(train, queries, K, metric, mask=mask)
    scorer = RecallScorer(np.arange(N), train, queries, truth, metric, k=K, mask=mask)
    valid = (truth.indices >= 0).sum(axis=1)
    task = LiveTaskTruth(scorer, truth.scores, valid, K, scorer.mask)
    live = LiveTruth({"s": task}, consistency, BASE)
    return train, queries, truth, scorer, live


def _oracle(train, queries, q, visible_rows, metric=Metric.L2, k=K):
    """Exact top-k (ids) over base rows and ``visible_rows`` {id: source row}, by brute force."""
    ids = list(range(N)) + list(visible_rows)
    vecs = np.vstack([train, train[list(visible_rows.values())]]) if visible_rows else train
    d = ((vecs - queries[q]) ** 2).sum(axis=1)
    order = np.argsort(d, kind="stable")[:k]
    return [ids[i] for i in order]


def test_acknowledged_inserts_enter_the_truth_and_a_stale_answer_is_scored_down() -> None:
    train, queries, truth, scorer, live = _setup()
    q = 0
    best = int(truth.indices[q, 0])
    copies = {BASE + i: best for i in range(3)}  # three copies of the best row: they push the k-th score up
    token = live.sent("insert", list(copies), list(copies.values()), lane=0, at=10.0)
    live.acked(token, 11.0, ok=True)
    exact = _oracle(train, queries, q, copies)
    assert live.score("s", q, exact, started=12.0, end=12.5, lane=0) == 1.0
    stale = [int(i) for i in truth.indices[q]]  # the answer of a server that did not see the acknowledged rows
    assert live.score("s", q, stale, started=12.0, end=12.5, lane=0) == pytest.approx((K - 3) / K)
    # the same stale answer before the insert was acknowledged (sent before it) is exact: rows are neutral
    assert live.score("s", q, stale, started=10.5, end=10.8, lane=0) == 1.0
    # and a search sent before the insert was even sent may not see them
    assert live.score("s", q, stale, started=9.0, end=9.5, lane=0) == 1.0


def test_in_flight_rows_are_neutral_returned_or_not() -> None:
    train, queries, truth, scorer, live = _setup()
    q = 1
    best = int(truth.indices[q, 0])
    live.sent("insert", [BASE], [best], lane=0, at=5.0)  # never acknowledged yet: in flight
    base_top = [int(i) for i in truth.indices[q]]
    assert live.score("s", q, base_top, 6.0, 6.5, 0) == 1.0  # not returned: not missed
    with_it = [BASE] + base_top[: K - 1]
    assert live.score("s", q, with_it, 6.0, 6.5, 0) == 1.0  # returned: neither hit nor miss
    assert live.score("s", q, [BASE], 6.0, 6.5, 0) == 0.0  # the other k - 1 places are still missed


def test_deletes_acknowledged_make_a_returned_row_a_miss_and_failed_writes_stay_neutral() -> None:
    train, queries, truth, scorer, live = _setup()
    q = 2
    best = int(truth.indices[q, 0])
    live.acked(live.sent("insert", [BASE, BASE + 1], [best, best], 0, 1.0), 1.1, ok=True)
    live.acked(live.sent("delete", [BASE], None, 0, 2.0), 2.1, ok=True)
    answer = _oracle(train, queries, q, {BASE + 1: best})
    assert live.score("s", q, answer, 3.0, 3.2, 0) == 1.0
    wrong = [BASE] + answer[: K - 1]  # returns the deleted row instead of the k-th
    assert live.score("s", q, wrong, 3.0, 3.2, 0) == pytest.approx((K - 1) / K)
    live.acked(live.sent("delete", [BASE + 1], None, 0, 4.0), 4.1, ok=False)  # failed: may or may not be applied
    assert live.score("s", q, [BASE + 1] + [int(i) for i in truth.indices[q, : K - 1]], 5.0, 5.1, 0) == 1.0


def test_session_guarantees_only_the_users_own_writes_and_bounded_uses_the_staleness_cut() -> None:
    train, queries, truth, scorer, live = _setup("Session")
    q = 3
    best = int(truth.indices[q, 0])
    live.acked(live.sent("insert", [BASE], [best], lane=1, at=1.0), 1.1, ok=True)
    stale = [int(i) for i in truth.indices[q]]
    assert live.score("s", q, stale, 2.0, 2.1, lane=2) == 1.0  # another user's row: neutral under Session
    assert live.score("s", q, stale, 2.0, 2.1, lane=1) == pytest.approx((K - 1) / K)  # own write: must be seen
    train, queries, truth, scorer, live = _setup("Bounded")
    live.acked(live.sent("insert", [BASE], [best], lane=1, at=1.0), 1.1, ok=True)
    assert live.score("s", q, stale, 1.1 + BOUNDED_STALENESS_S - 0.5, 7.0, 1) == 1.0
    assert live.score("s", q, stale, 1.2 + BOUNDED_STALENESS_S, 7.0, 1) == pytest.approx((K - 1) / K)


def test_ties_stay_fair_and_filters_apply_to_written_rows() -> None:
    mask = np.arange(N) % 2 == 0
    train, queries, truth, scorer, live = _setup(mask=mask)
    q = 4
    odd = 1  # a row the filter excludes: copying it gives a row the filter excludes too
    live.acked(live.sent("insert", [BASE, BASE + 1], [odd, int(truth.indices[q, K - 1])], 0, 1.0), 1.1, True)
    top = [int(i) for i in truth.indices[q]]
    # the copy of the k-th row ties with it: returning either one of them is a hit
    assert live.score("s", q, top[: K - 1] + [BASE + 1], 2.0, 2.1, 0) == 1.0
    assert live.score("s", q, top, 2.0, 2.1, 0) == 1.0
    assert live.score("s", q, top[: K - 1] + [BASE], 2.0, 2.1, 0) == pytest.approx((K - 1) / K)


def test_random_histories_match_a_brute_force_oracle() -> None:
    rng = np.random.default_rng(7)
    train, queries, truth, scorer, live = _setup()
    alive: dict[int, int] = {}
    next_id, now = BASE, 0.0
    for _ in range(60):
        now += 1.0
        if alive and rng.random() < 0.3:
            victims = list(rng.choice(list(alive), size=min(3, len(alive)), replace=False))
            live.acked(live.sent("delete", victims, None, 0, now), now + 0.1, True)
            for v in victims:
                alive.pop(int(v))
        else:
            q = int(rng.integers(NQ))
            src = [int(i) for i in truth.indices[q, rng.integers(0, K, size=4)]]
            ids = list(range(next_id, next_id + 4))
            next_id += 4
            live.acked(live.sent("insert", ids, src, 0, now), now + 0.1, True)
            alive.update(zip(ids, src))
        for q in range(NQ):
            exact = _oracle(train, queries, q, alive)
            assert live.score("s", q, exact, now + 0.5, now + 0.6, 0) == 1.0
            base_only = [int(i) for i in truth.indices[q]]
            expect = len(set(base_only) & set(exact)) / K  # ties with copies count: compare by score instead
            got = live.score("s", q, base_only, now + 0.5, now + 0.6, 0)
            d = ((train - queries[q]) ** 2).sum(axis=1)
            kth = sorted([d[i] for i in range(N)] + [d[r] for r in alive.values()])[K - 1]
            fair = sum(1 for i in base_only if d[i] <= kth + 1e-3 * max(1, abs(kth))) / K
            assert got == pytest.approx(fair), (q, expect)
    assert live.entries() < 10 * 60 * 4  # bounded by what is alive plus recent history


def test_history_is_compacted_and_deleted_rows_forgotten() -> None:
    train, queries, truth, scorer, live = _setup()
    live.log.horizon_s = 10.0
    best = int(truth.indices[0, 0])
    for i in range(50):
        live.acked(live.sent("insert", [BASE + i], [best], 0, float(i)), i + 0.1, True)
        live.acked(live.sent("delete", [BASE + i], None, 0, i + 0.2), i + 0.3, True)
    live.acked(live.sent("insert", [BASE + 999], [best], 0, 1000.0), 1000.1, True)
    assert len(live.log.events) == 1 and sum(len(c) for c in live.tasks["s"].candidates) <= NQ


def test_tracker_scores_live_tasks_and_keeps_a_mergeable_recall_series() -> None:
    train, queries, truth, scorer, live = _setup()
    tracker = RecallTracker({"s": scorer}, live=live)
    best = int(truth.indices[0, 0])
    live.acked(live.sent("insert", [BASE], [best], 0, 100.0), 100.1, True)
    stale = [int(i) for i in truth.indices[0]]
    assert tracker.score("s", [0, 1], [stale, [int(i) for i in truth.indices[1]]], 101.0, 101.2, 0) == \
        pytest.approx(((K - 1) / K + 1.0) / 2)
    other = RecallTracker({"s": scorer})
    other.merge_series(tracker.series_snapshot())
    other.merge_snapshot(tracker.snapshot())
    assert other.stats["s"].count == 2
    [row] = other.timeseries(100.0)
    assert row["count"] == 2 and row["recall"] == pytest.approx(((K - 1) / K + 1.0) / 2)


# ------------------------------------------------------------------------------------------- real server

SCENARIO = scenario_files.scenario_text(
    "live_rw", rows=3000, queries=50, dim=16, seed=5,
    workload={"top_k": 10, "consistency_level": "Strong", "insert_batch_size": 3000}, tasks=[
        {"kind": "dense_search", "weight": 3}, {"kind": "insert", "batch_size": 40, "weight": 2},
        {"kind": "delete", "batch_size": 20}], load={"users": 4, "spawn_rate": 50, "run_time": "6s"})


@pytest.mark.server
def test_flat_recall_is_one_under_concurrent_inserts_and_deletes_with_strong(milvus, tmp_path: Path) -> None:
    path = tmp_path / "live_rw.toml"
    path.write_text(textwrap.dedent(SCENARIO))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", str(path), "--target", milvus.uri,
                           "--out", str(out), "--serial-time", "0s"], capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    load = json.loads((out / "result.json").read_text())["load"]
    search = load["tasks"]["dense_search"]
    assert load["tasks"]["insert"]["requests"] > 5 and load["tasks"]["insert"]["failures"] == 0
    assert load["tasks"]["delete"]["requests"] > 2 and load["tasks"]["delete"]["failures"] == 0
    assert search["failures"] == 0 and search["recall"]["count"] > 20
    assert search["recall"]["mean"] == 1.0 and search["recall"]["min"] == 1.0, search["recall"]
    assert "scored live" in search["recall_note"] and "Strong" in search["recall_note"]
    assert any(row["task"] == "dense_search" for row in load["recall_timeseries"])


@pytest.mark.server
def test_live_recall_merges_across_locust_workers(milvus, tmp_path: Path) -> None:
    """--processes 2: each worker scores its searches against its own writes (others' rows neutral); the master's
    merged recall counts every worker's searches and FLAT stays exact."""
    path = tmp_path / "live_rw.toml"
    path.write_text(textwrap.dedent(SCENARIO).replace('run_time = "6s"', 'run_time = "6s"\nprocesses = 2'))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", str(path), "--target", milvus.uri,
                           "--out", str(out), "--serial-time", "0s", "--client", "async"],
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    load = json.loads((out / "result.json").read_text())["load"]
    search = load["tasks"]["dense_search"]
    assert load["phases"][-1]["workers"] == 2 and load["tasks"]["insert"]["requests"] > 5
    assert search["recall"]["count"] == sum(r["count"] for r in load["recall_timeseries"]) > 20
    assert search["recall"]["mean"] == 1.0, search["recall"]
    assert "each Locust worker knows only its own writes" in search["recall_note"]


def test_write_calls_name_the_dataset_rows_they_copy_and_the_live_truth_learns_them() -> None:
    """The load users' writes: each written row is a copy of the dataset row its call names (so the live truth
    scores it as that row), deletes carry their ids, and a user's write is in flight until its event arrives."""
    from loadtests.context import CONTEXT_KEY
    from loadtests.plan import LoadPlan
    from loadtests.tasks import WriterState
    from scenarios.datasets.build import build_dataset
    from scenarios.loader import EXAMPLES_DIR, parse_scenario
    from scenarios.targets import Connection
    from scenarios.truth.scorers import task_scorers

    text = (EXAMPLES_DIR / "mixed_rw.toml").read_text().replace("rows = 20000", "rows = 600").replace(
        "queries = 200", "queries = 20")
    scenario = parse_scenario(text, "m.toml")
    dataset = build_dataset(scenario, EXAMPLES_DIR)
    scorers, notes = task_scorers(scenario, dataset, cache_dir=None)
    assert "scored live" in notes["dense_search"] and "Session" in notes["dense_search"]
    plan = LoadPlan(scenario, dataset, dataset.fingerprint(), scorers, notes)
    ctx = plan.context(Connection(uri="http://127.0.0.1:1"))
    live = ctx.recall.live
    assert live is not None and set(live.tasks) == {"dense_search"}
    plans = {p.label: p for p in ctx.plans}
    writer = WriterState(lane=3)
    for label in ("insert", "upsert"):
        call = plans[label].next_call(writer)
        assert len(call.ids) == len(call.rows) == len(call.kwargs["data"]) == plans[label].spec.batch_size
        for pk, src, row in zip(call.ids, call.rows, call.kwargs["data"]):
            assert row["id"] == pk and live.lane_of(pk) == 3
            assert np.allclose(row["vector"], dataset.vectors["vector"][src]) and row["pct"] == dataset.rows(
                src, src + 1)[0]["pct"]
    call = plans["delete"].next_call(writer)
    assert call.rows is None and list(call.kwargs["ids"]) == list(call.ids)
    # a write event from our users acknowledges the token the user registered before sending
    ins = plans["insert"].next_call(writer)
    ins.token = live.sent("insert", ins.ids, ins.rows, writer.lane, 1.0)
    assert live.log.state(ins.ids[0], 5.0, 6.0, None) == (True, -1)  # in flight
    ctx.on_request("insert", "insert", 3.0, 0, None, {CONTEXT_KEY: (1.0, 0.003, None, (), None, ins, writer.lane)})
    import time

    assert live.log.state(ins.ids[0], time.time() + 1, time.time() + 2, None) == (False, ins.rows[0])


def test_large_writes_are_scored_in_bounded_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import scenarios.truth.live as lt

    train, queries, truth, scorer, live = _setup()
    monkeypatch.setattr(lt, "WORKING_BYTES", 8 * NQ * 3 * 7)  # 7 rows per chunk
    seen: list[int] = []
    task = live.tasks["s"]
    original = task._screen
    monkeypatch.setattr(task, "_screen", lambda rows: seen.append(len(rows)) or original(rows))
    src = [int(truth.indices[q, 0]) for q in range(NQ)] * 3
    live.acked(live.sent("insert", list(range(BASE, BASE + len(src))), src, 0, 1.0), 1.1, True)
    assert max(seen) <= 7 and sum(seen) == len(src)
    for q in range(NQ):  # every copy of each query's best row is a candidate, whatever chunk it came in
        assert sum(1 for (_pk, r) in task.candidates[q] if r == int(truth.indices[q, 0])) >= 3
