"""Load-path overheads, measured side by side on the same embedded server (prints ratios; not a test).

Variants, each run in its own child process for ``--seconds`` with ``--users`` concurrent users (interleaved
rounds, the median of ``--rounds`` is compared):

  raw          a plain pymilvus loop: one MilvusClient per thread, N native threads, no Locust, no gevent
  ours         loadtests' MilvusSyncUser (gRPC under gevent) with per-request recall scoring
  ours-norec   the same without recall scoring
  ours-async   loadtests' MilvusAsyncUser (AsyncMilvusClient on an asyncio loop in a native thread)
  contrib      Locust's own locust.contrib.milvus.MilvusUser doing the same searches
  lean         loadtests.lean's user (--client lean): prebuilt requests on the gRPC stub, ids parsed, recall scored
  grpc-floor   the lean user's prebuilt requests sent by N native threads on the stub, nothing parsed or recorded:
               the per-call cost of gRPC itself, under which no Python client can go

Every variant is measured the same way: its users are started, run for ``WARMUP_S`` (clients connected, imports
done, caches warm), then successful requests and the process' CPU time (``time.process_time``: client work only,
the server is another process) are counted over a steady-state window of ``--seconds``. Startup and teardown are
outside the window for every variant alike.

Ratios printed (goals of issue #11, results and analysis in docs/load-path.md): ours / raw QPS (>= 0.95) and client
CPU per request (<= 1.1), recall scoring's share of client CPU timed inside the scorer (<= 3 %; also 1 - ours /
ours-norec), async / sync QPS (>= 1), ours / contrib (>= 1), the lean user's requests per client-CPU-second / raw's
(>= 3) with its recall next to the sync user's and its latency next to an independent perf_counter per RPC
(within 5 %), and the gRPC floor / raw. Usage:
python benchmarks/bench_load.py [--users 4] [--seconds 8] [--rounds 2] [--target embedded|http://HOST:PORT]
[--backend lite]  (the server flags are the CLI's: an embedded server by default, or a running one)
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.scenario_files import scenario_text  # noqa: E402
from vdb_harness.cli_common import add_target_flags, target_from_args  # noqa: E402

#: A light collection (a few ms per search), so client-side overhead is visible next to the server's work.
SCENARIO_TOML = scenario_text("bench_load", rows=5000, queries=200, dim=32, seed=1, workload={"top_k": 10})
SCENARIO = str(Path(tempfile.gettempdir()) / "vdb_harness_bench_load.toml")
#: Seconds every variant runs before its measured window opens.
WARMUP_S = 1.5
VARIANTS = ("raw", "ours", "ours-norec", "ours-async", "contrib", "lean", "grpc-floor")
#: Variant -> the --client its users are.
CLIENT_OF = {"ours": "sync", "ours-norec": "sync", "ours-async": "async", "lean": "lean"}


def child(variant: str, uri: str, users: int, seconds: float) -> dict:
    """Run one variant in this (fresh) process; returns successful requests and wall seconds."""
    from scenarios.loader import load_scenario, resolve_scenario_path

    path = resolve_scenario_path(SCENARIO)
    scenario = load_scenario(path)
    if variant == "raw":
        return _raw(scenario, path, uri, users, seconds)
    if variant == "contrib":
        return _contrib(scenario, path, uri, users, seconds)
    if variant == "grpc-floor":
        return _raw(scenario, path, uri, users, seconds, prebuilt=True)
    from loadtests import gevent_grpc

    gevent_grpc.enable()
    from loadtests.plan import load_plan
    from loadtests.runner import run_local
    from loadtests.shapes import StagesShape
    from scenarios.targets import Connection

    plan = load_plan(scenario, path.parent, with_recall=variant != "ours-norec")
    ctx = plan.context(Connection(uri=uri, timeout=30), score_recall=variant != "ours-norec")
    independent: list[float] = []
    if variant == "lean":  # every RPC timed outside the user's own timing: an independent check
        from loadtests import crosscheck, lean
        from loadtests.users import USER_CLASSES

        USER_CLASSES["lean"] = crosscheck.independently_timed(lean.MilvusLeanUser, independent)
    scoring = [0.0]  # CPU seconds spent in recall scoring (thread_time: scoring runs in the users' thread)
    score = ctx.recall.score

    def timed_score(*args):  # noqa: ANN002, ANN202
        t0 = time.thread_time()
        try:
            return score(*args)
        finally:
            scoring[0] += time.thread_time() - t0

    ctx.recall.score = timed_score  # type: ignore[method-assign]
    marks: list[tuple[float, float, int, int, float]] = []  # (wall, cpu, ok, failures, scoring) at window edges

    def mark() -> None:
        recs = ctx.recorder.tasks.values()
        marks.append((time.perf_counter(), time.process_time(), sum(r.requests - r.failures for r in recs),
                      sum(r.failures for r in recs), scoring[0]))

    def on_tick(_ctx, _runner, elapsed: float) -> None:  # noqa: ANN001 - run_local's hook, ~4 times a second
        if not marks and elapsed >= WARMUP_S:
            mark()
        elif len(marks) == 1 and time.perf_counter() - marks[0][0] >= seconds:
            mark()

    run_local(ctx, CLIENT_OF[variant],
              StagesShape([(WARMUP_S + seconds + 1.0, users)], float(users) * 100), on_tick=on_tick)
    if len(marks) < 2:
        raise RuntimeError(f"the phase ended before its measured window closed ({len(marks)} marks)")
    (w0, c0, ok0, f0, s0), (w1, c1, ok1, f1, s1) = marks[:2]
    out = {"ok": ok1 - ok0, "failures": f1 - f0, "seconds": w1 - w0, "cpu_s": c1 - c0, "scoring_cpu_s": s1 - s0,
           "recall_memo": ctx.recall.memo_entries()}
    label = plan.scenario.workload.tasks[0].label
    if label in ctx.recall.stats and ctx.recall.stats[label].count:
        out["recall"] = ctx.recall.stats[label].summary()["mean"]
    if independent:
        rec = ctx.recorder.tasks[label]
        out["latency_ms"] = {"reported_mean": rec.histogram.get_mean_value() / 1000.0,
                             "reported_p50": rec.histogram.get_value_at_percentile(50.0) / 1000.0,
                             "independent_mean": statistics.fmean(independent),
                             "independent_p50": statistics.median(independent), "n": len(independent),
                             "reported_n": rec.histogram.get_total_count()}
    return out


def _queries(scenario, path) -> list:
    from scenarios.datasets.build import build_dataset

    data = build_dataset(scenario, path.parent)
    import numpy as np

    return np.asarray(data.queries["vector"], dtype=np.float32).tolist()


def _raw(scenario, path, uri: str, users: int, seconds: float, prebuilt: bool = False) -> dict:
    """The plain pymilvus thread loop; ``prebuilt``: the floor under any Python client, the lean user's prebuilt
    requests sent on the stub with nothing parsed or recorded (what gRPC itself costs per call)."""
    import threading

    from pymilvus import MilvusClient

    queries = _queries(scenario, path)
    counts = [0] * users
    stop = threading.Event()
    kwargs = {"collection_name": scenario.collection.name, "limit": 10, "anns_field": "vector",
              "consistency_level": scenario.workload.consistency_level}
    if prebuilt:
        from loadtests.lean_requests import RequestCapture

        capture = RequestCapture(MilvusClient(uri=uri, timeout=30))
        requests = [capture.build("search", {**kwargs, "data": [q]}, 30) for q in queries]

    def loop(i: int) -> None:
        client = MilvusClient(uri=uri, timeout=30)
        n = i
        while not stop.is_set():
            if prebuilt:
                rpc, request, metadata = requests[n % len(queries)]
                getattr(capture.stub, rpc)(request, timeout=30, metadata=metadata)
            else:
                client.search(data=[queries[n % len(queries)]], **kwargs, timeout=30)
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
    add_target_flags(parser)  # --target / --backend / --backend-python: the same flags (and parsing) as the CLI's
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.users, args.seconds)))
        return

    from scenarios.targets import open_target

    Path(SCENARIO).write_text(SCENARIO_TOML)
    with open_target(target_from_args(args)) as server:
        engine = (f"{server.embedded.engine} {server.embedded.backend_version}" if server.embedded
                  else f"the server at {server.uri}")
        prep = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "load", SCENARIO, "--target", server.uri,
                               "--prepare-only", "--out", str(Path("/tmp") / "bench_load_prep")],
                              capture_output=True, text=True, timeout=600)
        if prep.returncode != 0:
            sys.exit(f"prepare failed: {prep.stderr[-2000:]}")
        qps: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu_us: dict[str, list[float]] = {v: [] for v in VARIANTS}
        recall: dict[str, list[float]] = {v: [] for v in VARIANTS}
        lat_pairs: list[dict[str, float]] = []
        scoring_share: dict[str, list[float]] = {v: [] for v in VARIANTS}
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
                if "recall" in res:
                    recall[variant].append(res["recall"])
                if res.get("scoring_cpu_s"):
                    scoring_share[variant].append(res["scoring_cpu_s"] / res["cpu_s"])
                    memo += f", recall scoring {scoring_share[variant][-1]:.2%} of client CPU"
                if "latency_ms" in res:
                    lat = res["latency_ms"]
                    memo += (f", latency mean {lat['reported_mean']:.3f} ms reported / {lat['independent_mean']:.3f} ms "
                             f"perf_counter, p50 {lat['reported_p50']:.3f} / {lat['independent_p50']:.3f}")
                    lat_pairs.append(lat)
                print(f"round {r + 1} {variant:11s} {qps[variant][-1]:8.1f} QPS  {cpu_us[variant][-1]:7.0f} us "
                      f"client CPU/request  ({res['failures']} failures{memo})", flush=True)
    med = {v: statistics.median(q) for v, q in qps.items()}
    cpu = {v: statistics.median(q) for v, q in cpu_us.items()}
    print(f"\n{args.users} users, {args.seconds:.0f} s per run, median of {args.rounds} rounds, "
          f"scenario bench_load (5k x 32, FLAT) on {engine}")
    print(f"ours (Locust sync user) / raw pymilvus threads : {med['ours'] / med['raw']:.3f}   (goal >= 0.95)")
    print(f"recall scoring cost (1 - on/off)               : {1 - med['ours'] / med['ours-norec']:+.3%}  "
          f"(goal <= 3 %; QPS, noisy)")
    print("recall scoring, CPU timed inside the scorer     : " + ", ".join(
        f"{v} {statistics.median(s):.2%}" for v, s in scoring_share.items() if s) + " of client CPU  (goal <= 3 %)")
    print(f"async user / sync user                         : {med['ours-async'] / med['ours']:.3f}   (goal >= 1.0)")
    print(f"client CPU per request, sync user / raw         : {cpu['ours'] / cpu['raw']:.3f}   (goal <= 1.1)")
    print(f"ours / locust.contrib.milvus.MilvusUser        : {med['ours'] / med['contrib']:.3f}   (goal >= 1.0)")
    print("client CPU per request (us, median): " + ", ".join(f"{v} {cpu[v]:.0f}" for v in VARIANTS))
    print(f"client CPU ratios (other / ours, > 1 = ours cheaper): raw {cpu['raw'] / cpu['ours']:.3f}, "
          f"contrib {cpu['contrib'] / cpu['ours']:.3f}, async {cpu['ours-async'] / cpu['ours']:.3f}; "
          f"recall cost {cpu['ours'] / cpu['ours-norec'] - 1:+.1%} CPU")
    per_cpu_s = {v: 1e6 / cpu[v] for v in VARIANTS}  # requests per client-CPU-second
    print(f"gRPC floor (prebuilt requests on the stub, native threads, nothing parsed): {cpu['grpc-floor']:.0f} us "
          f"client CPU/request = {cpu['grpc-floor'] / cpu['raw']:.2f} of raw's (what gRPC's Python stack costs per call; no user built on it goes below)")
    print(f"lean user: requests per client-CPU-second {per_cpu_s['lean']:.0f} vs raw {per_cpu_s['raw']:.0f}: "
          f"{per_cpu_s['lean'] / per_cpu_s['raw']:.2f}x  (goal >= 3x); QPS lean / raw {med['lean'] / med['raw']:.3f}")
    if recall["lean"] and recall["ours"]:
        print(f"recall mean: lean {statistics.fmean(recall['lean']):.6f}, sync user {statistics.fmean(recall['ours']):.6f}")
    if lat_pairs:
        worst = max(max(abs(p["reported_mean"] / p["independent_mean"] - 1), abs(p["reported_p50"] / p["independent_p50"] - 1))
                    for p in lat_pairs)
        print(f"lean latency vs an independent perf_counter around each RPC: worst mean/p50 difference {worst:.2%} "
              "(goal <= 5 %)")
    print("(on a small shared machine the server competes with the client for CPU: QPS ratios carry that noise;"
          " client CPU per request is the steadier measure of the harness' own cost)")


if __name__ == "__main__":
    main()
