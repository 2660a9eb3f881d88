"""The cost of scoring recall live while the collection is written (scenarios.truth.live) against static scoring,
side by side on the same searches, offline (no server: the answers are the exact ones).

    python benchmarks/bench_live_recall.py [--rows 20000 --dim 64 --queries 200 --k 10 --searches 10000]

A replayed mixed_rw-like stream: every ``--write-every`` searches one write of ``--batch`` rows (inserts of copies of
dataset rows, one delete in four), ``--users`` writer lanes, Strong consistency. Three scorers see the same
searches, interleaved per repetition (the best of ``--repeat`` counts, so a busy machine hurts all alike):

* static, memoised: ``RecallTracker`` without writes, as a read-only load run scores (answers over the base rows);
* static, first sight: the same with the memo emptied before every call (the scoring itself);
* live: ``RecallTracker`` with a ``LiveTruth`` on the write stream (answers exact over the visible rows).

Printed per search: microseconds of each and the ratios live / static, plus the write-side cost per written row
(scoring it against every query when it is sent) and the live truth's entries at the end (its memory).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._args import size_parser  # noqa: E402
from loadtests.recall_tracker import RecallTracker  # noqa: E402
from scenarios.truth.exact import exact_topk  # noqa: E402
from scenarios.truth.live import LiveTaskTruth, LiveTruth  # noqa: E402
from scenarios.model import Metric  # noqa: E402
from scenarios.truth.recall import RecallScorer  # noqa: E402


def build(rows: int, dim: int, nq: int, k: int) -> tuple[np.ndarray, np.ndarray, RecallScorer]:
    """A gaussian dataset, its queries and the static scorer of its exact top-k."""
    rng = np.random.default_rng(0)
    train = rng.standard_normal((rows, dim), dtype=np.float32)
    queries = rng.standard_normal((nq, dim), dtype=np.float32)
    truth = exact_topk(train, queries, k, Metric.L2)
    return train, queries, RecallScorer(np.arange(rows), train, queries, truth, Metric.L2, k=k)


def new_live(scorer: RecallScorer, rows: int, k: int) -> LiveTruth:
    """A Strong live truth over ``scorer``'s base truth; written ids start at ``rows``."""
    t = scorer.truth
    task = LiveTaskTruth(scorer, t.scores, (t.indices >= 0).sum(axis=1), k, None)
    return LiveTruth({"s": task}, "Strong", rows, horizon_s=30.0)


def stream(args: argparse.Namespace, train: np.ndarray, queries: np.ndarray, scorer: RecallScorer) -> list[tuple]:
    """The replayed events: ("w", kind, ids, rows, lane, t) and ("s", q, live answer, static answer, t)."""
    rng = np.random.default_rng(1)
    base_top = scorer.truth.indices
    alive: dict[int, int] = {}
    per_lane: dict[int, list[int]] = {lane: [] for lane in range(args.users)}
    next_id = {lane: args.rows + lane * (1 << 32) for lane in range(args.users)}
    events: list[tuple] = []
    t = 0.0
    for i in range(args.searches):
        t += 0.001
        if i % args.write_every == 0:
            lane = int(rng.integers(args.users))
            if per_lane[lane] and rng.random() < 0.25:
                ids = per_lane[lane][: args.batch]
                del per_lane[lane][: args.batch]
                events.append(("w", "delete", ids, None, lane, t))
                for pk in ids:
                    alive.pop(pk, None)
            else:
                ids = list(range(next_id[lane], next_id[lane] + args.batch))
                next_id[lane] += args.batch
                src = [int(x) for x in rng.integers(0, min(args.rows, 4096), size=args.batch)]
                events.append(("w", "insert", ids, src, lane, t))
                per_lane[lane].extend(ids)
                alive.update(zip(ids, src))
            t += 0.001
        q = int(rng.integers(args.queries))
        d_base = ((train - queries[q]) ** 2).sum(axis=1)
        extra = list(alive.items())
        if extra:
            d_extra = d_base[[r for _, r in extra]]
            all_d = np.concatenate([d_base, d_extra])
            top = np.argpartition(all_d, args.k)[: args.k]
            order = top[np.argsort(all_d[top], kind="stable")]
            answer = [int(x) if x < args.rows else extra[x - args.rows][0] for x in order]
        else:
            answer = [int(x) for x in base_top[q]]
        events.append(("s", q, answer, [int(x) for x in base_top[q]], t))
    return events


def run_static(scorer: RecallScorer, events: list[tuple], first_sight: bool) -> tuple[float, int, float]:
    """Seconds spent scoring the searches statically, searches scored, mean recall."""
    tracker = RecallTracker({"s": scorer})
    spent, n = 0.0, 0
    for ev in events:
        if ev[0] != "s":
            continue
        if first_sight:
            tracker._memo["s"].clear()
        t0 = time.perf_counter()
        tracker.score("s", [ev[1]], [ev[3]], ev[4], ev[4] + 0.0005, 0)
        spent += time.perf_counter() - t0
        n += 1
    return spent, n, tracker.stats["s"].summary()["mean"]


def run_live(scorer: RecallScorer, events: list[tuple], rows: int, k: int) -> tuple[float, int, float, float, int,
                                                                                       int]:
    """Seconds scoring, searches, mean recall, seconds registering writes, written rows, live-truth entries."""
    live = new_live(scorer, rows, k)
    tracker = RecallTracker({"s": scorer}, live=live)
    spent = write_spent = 0.0
    n = written = 0
    for ev in events:
        if ev[0] == "w":
            _, kind, ids, src, lane, t = ev
            t0 = time.perf_counter()
            live.acked(live.sent(kind, ids, src, lane, t), t + 0.0005, True)
            write_spent += time.perf_counter() - t0
            written += len(ids)
            continue
        t0 = time.perf_counter()
        tracker.score("s", [ev[1]], [ev[2]], ev[4], ev[4] + 0.0005, 0)
        spent += time.perf_counter() - t0
        n += 1
    return spent, n, tracker.stats["s"].summary()["mean"], write_spent, written, live.entries()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the side-by-side table."""
    ap = size_parser(__doc__, rows=20_000, dim=64, queries=200, k=10)
    ap.add_argument("--searches", type=int, default=10_000)
    ap.add_argument("--write-every", type=int, default=4, help="one write per this many searches")
    ap.add_argument("--batch", type=int, default=50, help="rows per write")
    ap.add_argument("--users", type=int, default=6, help="writer lanes")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    train, queries, scorer = build(args.rows, args.dim, args.queries, args.k)
    events = stream(args, train, queries, scorer)
    best = {"memo": np.inf, "first": np.inf, "live": np.inf, "write": np.inf}
    for _ in range(args.repeat):
        s_memo, n, r_static, *_ = run_static(scorer, events, first_sight=False)
        s_first, _, _, *_ = run_static(scorer, events, first_sight=True)
        s_live, n_live, r_live, s_write, written, entries = run_live(scorer, events, args.rows, args.k)
        best["memo"] = min(best["memo"], s_memo)
        best["first"] = min(best["first"], s_first)
        best["live"] = min(best["live"], s_live)
        best["write"] = min(best["write"], s_write)
    us = {key: 1e6 * v / n for key, v in best.items() if key != "write"}
    print(f"{args.searches} searches over {args.rows} x {args.dim} rows, {args.queries} queries, k={args.k}; "
          f"one write of {args.batch} rows per {args.write_every} searches ({written} rows written, "
          f"{args.users} lanes); best of {args.repeat}")
    print(f"{'scoring':<34}{'us/search':>12}{'mean recall':>14}")
    print(f"{'static, memoised (read-only run)':<34}{us['memo']:>12.1f}{r_static:>14.4f}")
    print(f"{'static, first sight (no memo)':<34}{us['first']:>12.1f}{r_static:>14.4f}")
    print(f"{'live (writes in the mix)':<34}{us['live']:>12.1f}{r_live:>14.4f}")
    print(f"ratio live / static memoised:     {us['live'] / us['memo']:.2f}x")
    print(f"ratio live / static first sight:  {us['live'] / us['first']:.2f}x")
    print(f"write side: {1e6 * best['write'] / max(written, 1):.2f} us per written row "
          f"({1e6 * best['write'] / n_live:.1f} us per search at this write rate); live truth entries at the end: "
          f"{entries}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
