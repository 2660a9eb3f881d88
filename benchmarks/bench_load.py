"""Load-path overheads, measured side by side on the same embedded server (prints ratios; not a test).

Variants, each run in its own child process for ``--seconds`` with ``--users`` concurrent users (interleaved
rounds, the median of ``--rounds`` is compared):

  raw          a plain pymilvus loop: one MilvusClient per thread, N native threads, no Locust, no gevent
  ours         loadtests' MilvusSyncUser (gRPC under gevent) with per-request recall scoring
  ours-norec   the same without recall scoring
  ours-async   loadtests' MilvusAsyncUser (AsyncMilvusClient on an asyncio loop in a native thread)
  contrib      Locust's own locust.contrib.milvus.MilvusUser doing the same searches

Every variant is measured the same way: its users are started, run for ``WARMUP_S`` (clients connected, imports
done, caches warm), then successful requests and the process' CPU time (``time.process_time``: client work only,
the server is another process) are counted over a steady-state window of ``--seconds``. Startup and teardown are
outside the window for every variant alike.

Ratios printed: ours / raw (goal >= 0.95), recall cost 1 - ours / ours-norec (goal <= 3 %), async / sync, and
ours / contrib (goal >= 1.0), from QPS and from client CPU per request. Usage:
python benchmarks/bench_load.py [--users 4] [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: A light collection (a few ms per search), so client-side overhead is visible next to the server's work.
SCENARIO_TOML = """
name = "bench_load"
[dataset]
kind = "generated"
generator = "gaussian"
rows = 5000
queries = 200
seed = 1
[collection]
name = "bench_load"
fields = [{ name = "id", type = "INT64", primary = true }, { name = "vector", type = "FLOAT_VECTOR", dim = 32 }]
[[indexes]]
field = "vector"
index_type = "FLAT"
metric = "L2"
[workload]
top_k = 10
[[workload.tasks]]
kind = "dense_search"
"""
SCENARIO = str(Path(tempfile.gettempdir()) / "vdb_harness_bench_load.toml")
#: Seconds every variant runs before its measured window opens.
WARMUP_S = 1.5
VARIANTS = ("raw", "ours", "ours-norec", "ours-async", "contrib")


def child(variant: str, uri: str, users: int, seconds: float) -> dict:
    """Run one variant in this (fresh) process; returns successful requests and wall seconds."""
    from scenarios.loader import load_scenario, resolve_scenario_path

    path = resolve_scenario_path(SCENARIO)
    scenario = load_scenario(path)
    if variant == "raw":
        return _raw(scenario, path, uri, users, seconds)
    if variant == "contrib":
        return _contrib(scenario, path, uri, users, seconds)
    from loadtests import gevent_grpc

    gevent_grpc.enable()
    from loadtests.plan import load_plan
    from loadtests.runner import run_local
    from loadtests.shapes import StagesShape
    from scenarios.targets import Connection

    plan = load_plan(scenario, path.parent, with_recall=variant != "ours-norec")
    ctx = plan.context(Connection(uri=uri, timeout=30), score_recall=variant != "ours-norec")
    marks: list[tuple[float, float, int, int]] = []  # (wall, cpu, ok, failures) when the window opens / closes

    def mark() -> None:
        recs = ctx.recorder.tasks.values()
        marks.append((time.perf_counter(), time.process_time(), sum(r.requests - r.failures for r in recs),
                      sum(r.failures for r in recs)))

    def on_tick(_ctx, _runner, elapsed: float) -> None:  # noqa: ANN001 - run_local's hook, ~4 times a second
        if not marks and elapsed >= WARMUP_S:
            mark()
        elif len(marks) == 1 and time.perf_counter() - marks[0][0] >= seconds:
            mark()

    run_local(ctx, "async" if variant == "ours-async" else "sync",
              StagesShape([(WARMUP_S + seconds + 1.0, users)], float(users) * 100), on_tick=on_tick)
    if len(marks) < 2:
        raise RuntimeError(f"the phase ended before its measured window closed ({len(marks)} marks)")
    (w0, c0, ok0, f0), (w1, c1, ok1, f1) = marks[:2]
    return {"ok": ok1 - ok0, "failures": f1 - f0, "seconds": w1 - w0, "cpu_s": c1 - c0,
            "recall_memo": ctx.recall.memo_entries()}


def _queries(scenario, path) -> list:
    from scenarios.datasets.build import build_dataset

    data = build_dataset(scenario, path.parent)
    import numpy as np

    return np.asarray(data.queries["vector"], dtype=np.float32).tolist()


def _raw(scenario, path, uri: str, users: int, seconds: float) -> dict:
    import threading

    from pymilvus import MilvusClient

    queries = _queries(scenario, path)
    counts = [0] * users
    stop = threading.Event()

    def loop(i: int) -> None:
        client = MilvusClient(uri=uri, timeout=30)
        n = i
        while not stop.is_set():
            client.search(scenario.collection.name, [queries[n % len(queries)]], limit=10, anns_field="vector",
                          consistency_level=scenario.workload.consistency_level, timeout=30)
            counts[i] += 1
            n += users
        client.close()

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    time.sleep(WARMUP_S)
    ok0, wall0, cpu0 = sum(counts), time.perf_counter(), time.process_time()
    time.sleep(seconds)
    ok1, wall1, cpu1 = sum(counts), time.perf_counter(), time.process_time()
    stop.set()
    for t in threads:
        t.join()
    return {"ok": ok1 - ok0, "failures": 0, "seconds": wall1 - wall0, "cpu_s": cpu1 - cpu0}


def _contrib(scenario, path, uri: str, users: int, seconds: float) -> dict:
    from locust.contrib.milvus import MilvusUser  # patches gevent and gRPC on import, as that module does

    from locust import constant, task
    from locust.env import Environment

    queries = _queries(scenario, path)
    name = scenario.collection.name

    class ContribUser(MilvusUser):
        wait_time = constant(0)

        def __init__(self, environment):  # noqa: ANN001 - Locust's signature
            super().__init__(environment, uri=uri, token="", collection_name=name, timeout=30)
            self.n = id(self) % len(queries)

        @task
        def search_once(self) -> None:
            self.n += 1
            self.search([queries[self.n % len(queries)]], "vector", 10)

    counts = {"ok": 0, "failures": 0}

    def on_request(exception=None, **_kw) -> None:  # noqa: ANN001
        counts["failures" if exception else "ok"] += 1

    import gevent

    import locust

    env = Environment(user_classes=[ContribUser])
    locust.events.request.add_listener(on_request)  # that user fires the global event, not its environment's
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users * 100)
    gevent.sleep(WARMUP_S)
    counts.update(ok=0, failures=0)
    started, cpu0 = time.perf_counter(), time.process_time()
    gevent.sleep(seconds)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    snapshot = dict(counts)
    runner.quit()
    return {**snapshot, "seconds": elapsed, "cpu_s": cpu}


def main() -> None:
    """Start the server, prepare the collection, run every variant ``rounds`` times interleaved, print ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "URI"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.users, args.seconds)))
        return

    from scenarios.embedded import EmbeddedMilvus

    Path(SCENARIO).write_text(SCENARIO_TOML)
    with EmbeddedMilvus() as server:
        prep = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", SCENARIO, "--target", server.uri,
                               "--prepare-only", "--out", str(Path("/tmp") / "bench_load_prep")],
                              capture_output=True, text=True, timeout=600)
        if prep.returncode != 0:
            sys.exit(f"prepare failed: {prep.stderr[-2000:]}")
        qps: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(args.rounds):
            for variant in VARIANTS:
                out = subprocess.run([sys.executable, __file__, "--users", str(args.users), "--seconds",
                                      str(args.seconds), "--child", variant, server.uri],
                                     capture_output=True, text=True, timeout=600)
                if out.returncode != 0:
                    sys.exit(f"{variant} failed: {out.stderr[-2000:]}")
                res = json.loads(out.stdout.strip().splitlines()[-1])
                qps[variant].append(res["ok"] / res["seconds"])
                cpu_us[variant].append(res["cpu_s"] / max(res["ok"], 1) * 1e6)
                memo = f", recall memo {res['recall_memo']} answers" if res.get("recall_memo") else ""
                print(f"round {r + 1} {variant:11s} {qps[variant][-1]:8.1f} QPS  {cpu_us[variant][-1]:7.0f} us "
                      f"client CPU/request  ({res['failures']} failures{memo})", flush=True)
    med = {v: statistics.median(q) for v, q in qps.items()}
    cpu = {v: statistics.median(q) for v, q in cpu_us.items()}
    print(f"\n{args.users} users, {args.seconds:.0f} s per run, median of {args.rounds} rounds, "
          f"scenario bench_load (5k x 32, FLAT) on embedded Milvus Lite")
    print(f"ours (Locust sync user) / raw pymilvus threads : {med['ours'] / med['raw']:.3f}   (goal >= 0.95)")
    print(f"recall scoring cost (1 - on/off)               : {1 - med['ours'] / med['ours-norec']:+.3%}  "
          f"(goal <= 3 %)")
    print(f"async user / sync user                         : {med['ours-async'] / med['ours']:.3f}")
    print(f"ours / locust.contrib.milvus.MilvusUser        : {med['ours'] / med['contrib']:.3f}   (goal >= 1.0)")
    print("client CPU per request (us, median): " + ", ".join(f"{v} {cpu[v]:.0f}" for v in VARIANTS))
    print(f"client CPU ratios (other / ours, > 1 = ours cheaper): raw {cpu['raw'] / cpu['ours']:.3f}, "
          f"contrib {cpu['contrib'] / cpu['ours']:.3f}, async {cpu['ours-async'] / cpu['ours']:.3f}; "
          f"recall cost {cpu['ours'] / cpu['ours-norec'] - 1:+.1%} CPU")
    print("(on a small shared machine the server competes with the client for CPU: QPS ratios carry that noise;"
          " client CPU per request is the steadier measure of the harness' own cost)")


if __name__ == "__main__":
    main()
