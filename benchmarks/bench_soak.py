"""Soak: constant load on the embedded server for --minutes; prints the harness' own RSS as it goes and its growth.

    python benchmarks/bench_soak.py [--minutes 10] [--users 4] [--interval 30] [--client sync]

One Locust phase in this process (``loadtests.runner.run_local``: the same users, recorder and recall scoring as
``vdb-harness load``) against a Milvus Lite server in a child process, for the whole run. Every ``--interval``
seconds it prints the requests so far, the request rate and this process' RSS (``/proc/self/statm``: the server
is another process and not counted). At the end: RSS growth from the end of the warm-up (the first sample after
``--warmup`` seconds) to the end, and that growth per 100k requests. The goal is flat: the recorder's memory is
bounded by its HDR histograms and the capped per-second series, not by the number of requests. Exit 1 when the
growth after warm-up exceeds ``--max-growth-mb``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests import gevent_grpc  # noqa: E402
from tests.scenario_files import scenario_text  # noqa: E402

gevent_grpc.enable()  # before any gRPC channel

SCENARIO = scenario_text("bench_soak", rows=5000, queries=500, dim=32, seed=5, pct=True, workload={"top_k": 10},
                         tasks=[{"kind": "dense_search", "weight": 3},
                             {"kind": "filtered_search", "name": "filtered_20pct", "filter": "pct < 20"},
                             {"kind": "get"}])


def rss_mb() -> float:
    """This process' resident set size in MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print the RSS table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--users", type=int, default=4)
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between RSS samples")
    ap.add_argument("--warmup", type=float, default=30.0, help="growth is measured from the first sample after this")
    ap.add_argument("--client", choices=["sync", "async"], default="sync")
    ap.add_argument("--max-growth-mb", type=float, default=20.0)
    ap.add_argument("--backend", choices=["lite", "lite25", "standalone"], default="lite",
                    help="embedded engine (lite25: Milvus Lite 2.5.1, the C++ engine, many more requests per minute)")
    args = ap.parse_args(argv)

    import tempfile

    from loadtests.plan import load_plan
    from loadtests.prepare import prepare_collection
    from loadtests.runner import run_local
    from loadtests.shapes import StagesShape
    from scenarios.loader import load_scenario
    from scenarios.model import TargetSpec
    from vdb_harness.kernel.progress import quiet_client_logs
    from scenarios.targets import open_target

    quiet_client_logs()
    with tempfile.TemporaryDirectory(prefix="vdb-soak-") as tmp:
        path = Path(tmp) / "soak.toml"
        path.write_text(SCENARIO)
        scenario = load_scenario(path)
        with open_target(TargetSpec(backend=args.backend)) as conn:
            plan = load_plan(scenario, path.parent)
            prepare_collection(conn, scenario, plan.dataset)
            ctx = plan.context(conn, max_requests=10**12)
            seconds = args.minutes * 60.0
            samples: list[tuple[float, int, float]] = []
            next_at = [0.0]
            print(f"soak: {args.minutes:g} min, {args.users} {args.client} users, closed loop, embedded "
                  f"{conn.embedded.engine if conn.embedded else '?'} (pid {conn.embedded.pid if conn.embedded else '?'}); RSS every {args.interval:g} s")
            print(f"{'t (s)':>8} {'requests':>12} {'req/s':>9} {'RSS MiB':>9} {'series windows':>15}")

            def sample(context, _runner, elapsed: float) -> None:
                if elapsed < next_at[0]:
                    return
                next_at[0] = elapsed + args.interval
                gc.collect()
                n = context.recorder.total_requests()
                rate = (n - samples[-1][1]) / max(elapsed - samples[-1][0], 1e-9) if samples else 0.0
                samples.append((elapsed, n, rss_mb()))
                print(f"{elapsed:8.1f} {n:12,} {rate:9,.0f} {samples[-1][2]:9.1f} "
                      f"{len(context.recorder.series):15,}", flush=True)

            run = run_local(ctx, args.client, StagesShape([(seconds, args.users)], 50.0), on_tick=sample)
            gc.collect()
            samples.append((run.duration_s, ctx.recorder.total_requests(), rss_mb()))
            print(f"{samples[-1][0]:8.1f} {samples[-1][1]:12,} {'':>9} {samples[-1][2]:9.1f} (end)")
    warm = next((s for s in samples if s[0] >= args.warmup), samples[0])
    end = samples[-1]
    growth = end[2] - warm[2]
    requests = end[1] - warm[1]
    per_100k = growth / (requests / 100_000) if requests else float("nan")
    failures = sum(r.failures for r in ctx.recorder.tasks.values())
    print(f"requests: {end[1]:,} ({failures:,} failed) in {run.duration_s:.0f} s; stopped by: {run.stopped_by}")
    print(f"RSS: {samples[0][2]:.1f} MiB at start, {warm[2]:.1f} MiB after warm-up ({warm[0]:.0f} s), "
          f"{end[2]:.1f} MiB at the end; growth after warm-up {growth:+.1f} MiB over {requests:,} requests "
          f"= {per_100k:+.2f} MiB per 100k requests")
    ok = growth <= args.max_growth_mb
    print("OK (flat)" if ok else f"FAILED: RSS grew {growth:.1f} MiB (> {args.max_growth_mb:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
