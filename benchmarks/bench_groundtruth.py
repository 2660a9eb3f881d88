"""Time exact_topk against faiss' flat indexes on the same data, its peak memory, and RecallScorer.score per call.

    python benchmarks/bench_groundtruth.py [--rows 100000 --dim 128 --queries 1000 --k 100 --repeat 3]

Each timing is the best of ``--repeat`` runs, ours and faiss' interleaved, so a busy machine hurts both alike.
Peak memory is measured with tracemalloc (numpy reports its buffers to it) around one exact_topk call, so it
covers our temporaries only, not the input arrays.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._args import size_parser  # noqa: E402
from scenarios.truth.exact import default_chunk_rows, exact_topk  # noqa: E402
from scenarios.model import Metric  # noqa: E402
from scenarios.truth.recall import RecallScorer  # noqa: E402


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Smallest wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes traced while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    ap = size_parser(__doc__, rows=100_000, dim=128, queries=1000, k=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--score-calls", type=int, default=20_000)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    train = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    chunk = default_chunk_rows(args.queries)
    print(f"rows={args.rows} dim={args.dim} queries={args.queries} k={args.k} chunk_rows={chunk} "
          f"(train {train.nbytes / 2**20:.0f} MiB)")

    try:
        import faiss
    except ImportError:
        faiss = None
        print("faiss not importable: timing ours only")

    print(f"{'metric':8s} {'ours s':>8s} {'faiss s':>8s} {'ratio':>6s} {'id agreement':>13s} {'peak MiB':>9s}")
    truths = {}
    for metric, flat in ((Metric.L2, "IndexFlatL2"), (Metric.IP, "IndexFlatIP")):
        ours_t = faiss_t = float("inf")
        index = None
        if faiss is not None:
            index = getattr(faiss, flat)(args.dim)
            index.add(train)
        for _ in range(args.repeat):  # interleave, keep the best of each
            ours_t = min(ours_t, best_of(1, lambda: exact_topk(train, queries, args.k, metric)))
            if index is not None:
                faiss_t = min(faiss_t, best_of(1, lambda: index.search(queries, args.k)))
        truth = exact_topk(train, queries, args.k, metric)
        truths[metric] = truth
        agree = float("nan")
        if index is not None:
            _, ids = index.search(queries, args.k)
            agree = float(np.mean([len(set(a) & set(b)) / args.k for a, b in zip(truth.indices, ids)]))
        peak = peak_bytes(lambda: exact_topk(train, queries, args.k, metric)) / 2**20
        ratio = ours_t / faiss_t if index is not None else float("nan")
        print(f"{metric.value:8s} {ours_t:8.3f} {faiss_t:8.3f} {ratio:6.2f} {agree:13.5f} {peak:9.1f}")

    small = exact_topk(train, queries, 10, Metric.L2)
    scorer = RecallScorer(np.arange(args.rows), train, queries, small, Metric.L2)
    returned = [small.indices[i % args.queries].tolist() for i in range(args.score_calls)]
    start = time.perf_counter()
    for i, ids in enumerate(returned):
        scorer.score(i % args.queries, ids)
    per_call = (time.perf_counter() - start) / args.score_calls
    print(f"RecallScorer.score (k=10, dim={args.dim}): {per_call * 1e6:.1f} us per call "
          f"over {args.score_calls} calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
