"""Exact ground truth for a 1M x 128 dataset within a bounded memory budget: prints time and peak memory.

    python benchmarks/bench_groundtruth_1m.py [--rows 1000000 --dim 128 --queries 1000 --k 100 --budget-mb 400]

The train split is generated chunk by chunk into a temporary ``.npy`` file and memory-mapped (``--in-memory``
loads it instead), so the harness' own memory is what ``exact_topk`` allocates (its score block is bounded by
``scenarios.truth.exact.WORKING_BYTES``), not the dataset size. A sampler thread reads ``/proc/self/status``
every 50 ms and reports:

- peak anonymous RSS (``RssAnon``): memory the process owns; this is what the budget bounds;
- peak total RSS (``VmHWM``): includes the mapped file's pages, which the kernel can drop at any time.

A few queries are checked against a plain numpy brute force (same top-k distances). Exit 1 when the peak
anonymous RSS growth exceeds ``--budget-mb`` or a checked query disagrees.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._args import size_parser  # noqa: E402
from scenarios.truth.exact import WORKING_BYTES, exact_topk  # noqa: E402
from scenarios.model import Metric  # noqa: E402


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakSampler:
    """Samples RssAnon every ``interval`` s in a thread; ``peak_kb`` is the largest seen."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_kb = _status_kb("RssAnon")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, _status_kb("RssAnon"))

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, _status_kb("RssAnon"))


def write_train(path: Path, rows: int, dim: int, seed: int, chunk: int = 100_000) -> None:
    """Gaussian float32 rows written chunk by chunk into a .npy file (never the whole array in memory)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    rng = np.random.default_rng(seed)
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        out[start:stop] = rng.standard_normal((stop - start, dim), dtype=np.float32)
    out.flush()
    del out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the numbers."""
    ap = size_parser(__doc__, rows=1_000_000, dim=128, queries=1000, k=100)
    ap.add_argument("--metric", choices=[m.value for m in Metric], default="L2")
    ap.add_argument("--budget-mb", type=float, default=400.0,
                    help="fail when exact_topk's peak anonymous memory growth exceeds this (default 400)")
    ap.add_argument("--check", type=int, default=5, help="queries checked against a numpy brute force")
    ap.add_argument("--in-memory", action="store_true", help="load the train split into RAM instead of mmap")
    ap.add_argument("--dir", help="where the temporary train file goes (default: the system temp dir)")
    args = ap.parse_args(argv)

    metric = Metric(args.metric)
    with tempfile.TemporaryDirectory(prefix="vdb-gt1m-", dir=args.dir) as tmp:
        path = Path(tmp) / "train.npy"
        t0 = time.perf_counter()
        write_train(path, args.rows, args.dim, seed=1)
        print(f"train: {args.rows:,} x {args.dim} float32 = {args.rows * args.dim * 4 / 2**20:,.0f} MiB, "
              f"written in {time.perf_counter() - t0:.1f} s ({'in memory' if args.in_memory else 'memory-mapped'})")
        train = np.load(path, mmap_mode=None if args.in_memory else "r")
        queries = np.random.default_rng(2).standard_normal((args.queries, args.dim), dtype=np.float32)
        base_kb = _status_kb("RssAnon")
        done = {"rows": 0}
        with PeakSampler() as sampler:
            t0 = time.perf_counter()
            truth = exact_topk(train, queries, args.k, metric,
                               progress=lambda d, _t: done.__setitem__("rows", d))
            seconds = time.perf_counter() - t0
        growth_mb = (sampler.peak_kb - base_kb) / 1024
        print(f"exact_topk: {args.queries:,} queries, k={args.k}, {metric.value}: {seconds:.1f} s "
              f"({args.queries / seconds:,.1f} queries/s, {args.rows * args.queries / seconds / 1e9:.2f} G pairs/s)")
        print(f"memory: RssAnon before {base_kb / 1024:,.0f} MiB, peak {sampler.peak_kb / 1024:,.0f} MiB "
              f"(growth {growth_mb:,.0f} MiB; budget {args.budget_mb:,.0f} MiB; score block "
              f"{WORKING_BYTES >> 20} MiB); VmHWM (incl. mapped file pages) {_status_kb('VmHWM') / 1024:,.0f} MiB")

        bad = 0
        rng = np.random.default_rng(3)
        for q in rng.choice(args.queries, size=min(args.check, args.queries), replace=False):
            best = None
            for start in range(0, args.rows, 200_000):  # numpy brute force, chunked too
                block = np.asarray(train[start:start + 200_000], dtype=np.float64)
                qv = queries[q].astype(np.float64)
                if metric is Metric.L2:
                    s = ((block - qv) ** 2).sum(axis=1)
                elif metric is Metric.IP:
                    s = -(block @ qv)
                else:
                    s = -(block @ qv) / (np.linalg.norm(block, axis=1) * np.linalg.norm(qv))
                best = s if best is None else np.concatenate([best, s])
            expected = np.sort(best)[: args.k]
            got = np.abs(np.asarray(truth.scores[q], dtype=np.float64))
            if not np.allclose(np.sort(got), np.abs(expected), rtol=1e-4, atol=1e-3):
                bad += 1
                print(f"query {q}: top-{args.k} scores differ from numpy's")
        print(f"check: {min(args.check, args.queries) - bad} of {min(args.check, args.queries)} queries agree "
              f"with a numpy brute force")
        del train
    ok = growth_mb <= args.budget_mb and bad == 0
    print("OK" if ok else "FAILED: " + ("over the memory budget" if growth_mb > args.budget_mb else "wrong answers"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
