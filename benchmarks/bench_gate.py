"""False-alarm and detection rates of the single-run gate, measured on REAL single-run pairs (prints them; not a test).

One embedded Milvus Lite server (started here) holds two collections prepared once: the baseline configuration
(``--rows`` gaussian vectors) and a genuinely slower one: ``--regression rows`` (1.5x the rows, same queries) or
``--regression topk`` (top-k 10 -> 100). Then, per trial, three short ``vdb-harness load`` runs, interleaved so time
drift hits both kinds of pair alike: baseline A, regressed B, baseline A'. The gate (the built-in policy: 5 % limits,
interval bootstrap on single runs) is run on

  (A, A')  same configuration   -> any failure is a false alarm
  (A, B)   slower candidate     -> a failure is a detection

and the rates are printed with 95 % Wilson intervals, plus the measured QPS/p99 change of each pair. ``--keep DIR``
keeps the result files; ``--reuse DIR`` re-gates kept results (e.g. with ``--policy``) without running the server.
The default size (30,000 x 32, FLAT) makes the search scan dominate a request on Milvus Lite 3, so 1.5x the rows
is a real slowdown (about -35 % QPS); at 3,000 rows the per-request overhead dominates and 1.5x rows is not
measurably slower, which would make "detection" meaningless.
Usage: python benchmarks/bench_gate.py [--trials 10] [--seconds 30] [--users 4] [--rows 30000]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCENARIO = """
name = "bench_gate"
[dataset]
kind = "generated"
generator = "gaussian"
rows = {rows}
queries = 200
seed = 5
[collection]
name = "{collection}"
fields = [{{ name = "id", type = "INT64", primary = true }}, {{ name = "vector", type = "FLOAT_VECTOR", dim = 32 }}]
[[indexes]]
field = "vector"
index_type = "FLAT"
metric = "L2"
[workload]
top_k = {top_k}
consistency_level = "Bounded"
insert_batch_size = 5000
[[workload.tasks]]
kind = "dense_search"
[load]
users = {users}
spawn_rate = 100
run_time = "{seconds}s"
"""


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a rate k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vdb_harness.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def run_load(scenario: Path, uri: str, out: Path) -> Path:
    """One concurrent-phase-only run on the prepared collection; returns its result file."""
    proc = _cli("load", str(scenario), "--target", uri, "--no-prepare", "--no-sweep", "--serial-time", "0s",
                "--out", str(out))
    if proc.returncode not in (0, 1):
        sys.exit(f"load run failed ({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return out / "result.json"


def gate(base: Path, cand: Path, policy: Any) -> tuple[bool, dict]:
    """The gate on one pair, in this process (what ``vdb-harness gate`` runs); (failed, gate.json data)."""
    from reports import inputs
    from reports.gate import run_gate
    from reports.gate_command import verdict_json

    verdict = run_gate(inputs.load([base]), inputs.load([cand]), policy)
    return verdict.failed, verdict_json(verdict)


def _line(data: dict, metric: str) -> str:
    line = next((l for l in data["lines"] if l["task"] == "dense_search" and l["metric"] == metric), None)
    if not line or line.get("worse_by") is None:
        return f"{metric} n/a"
    ci = line.get("ci")
    return f"{metric} worse by {line['worse_by']:+.1%} " + (f"(CI {ci[0]:+.1%}..{ci[1]:+.1%})" if ci else
                                                           "(thresholds only: too few windows)")


def main() -> None:
    """Prepare, run the interleaved trials (or reuse kept results), gate every pair, print the rates."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--rows", type=int, default=30000)
    parser.add_argument("--regression", choices=["rows", "topk"], default="rows")
    parser.add_argument("--policy", help="gate policy file (default: built-in)")
    parser.add_argument("--confidence", help="comma-separated confidence levels to gate at (default: the policy's)")
    parser.add_argument("--keep", help="keep the result files in this directory")
    parser.add_argument("--reuse", help="re-gate the results kept in this directory (no server)")
    args = parser.parse_args()

    root = Path(args.reuse or args.keep or tempfile.mkdtemp(prefix="bench_gate-"))
    trials: list[tuple[Path, Path, Path]] = []
    if args.reuse:
        for t in sorted(root.glob("trial*")):
            files = (t / "A" / "result.json", t / "B" / "result.json", t / "A2" / "result.json")
            if all(f.exists() for f in files):  # a trial still running (or cut short) is left out
                trials.append(files)
    else:
        from scenarios.embedded import EmbeddedMilvus

        root.mkdir(parents=True, exist_ok=True)
        rows_b = int(args.rows * 1.5) if args.regression == "rows" else args.rows
        topk_b = 100 if args.regression == "topk" else 10
        files = {}
        for key, rows, top_k in (("A", args.rows, 10), ("B", rows_b, topk_b)):
            files[key] = root / f"{key}.toml"
            files[key].write_text(SCENARIO.format(rows=rows, top_k=top_k, users=args.users, seconds=args.seconds,
                                                  collection=f"bench_gate_{key.lower()}"))
        with EmbeddedMilvus() as server:
            for key in ("A", "B"):
                prep = _cli("load", str(files[key]), "--target", server.uri, "--prepare-only",
                            "--out", str(root / f"prep_{key}"))
                if prep.returncode != 0:
                    sys.exit(f"prepare {key} failed: {prep.stdout[-1500:]}{prep.stderr[-1500:]}")
            for i in range(args.trials):
                t0 = time.time()
                d = root / f"trial{i:02d}"
                loads = []
                for key, sub in (("A", "A"), ("B", "B"), ("A", "A2")):
                    loads.append(os.getloadavg()[0])
                    run_load(files[key], server.uri, d / sub)
                trials.append((d / "A" / "result.json", d / "B" / "result.json", d / "A2" / "result.json"))
                print(f"trial {i + 1}/{args.trials} ran in {time.time() - t0:.0f} s; machine load average "
                      f"(1 min) before A, B, A': {', '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} "
                      "CPUs", flush=True)
    from reports.policy import load_policy

    base_policy = load_policy(args.policy)
    levels = [float(x) for x in args.confidence.split(",")] if args.confidence else [base_policy.confidence]
    rates = []
    for level in levels:
        policy = base_policy.model_copy(update={"confidence": level})
        false_alarms = detections = 0
        for i, (a, b, a2) in enumerate(trials):
            fa, same = gate(a, a2, policy)
            det, slow = gate(a, b, policy)
            false_alarms += fa
            detections += det
            if level == levels[0]:
                print(f"trial {i + 1:2d}  same config: {'FAIL' if fa else 'pass'}  {_line(same, 'QPS')}, "
                      f"{_line(same, 'p50 latency')}, {_line(same, 'p99 latency')}", flush=True)
                print(f"          slower    : {'FAIL' if det else 'pass'}  {_line(slow, 'QPS')}, "
                      f"{_line(slow, 'p50 latency')}, {_line(slow, 'p99 latency')}", flush=True)
        rates.append((level, false_alarms, detections))
    n = len(trials)
    what = "1.5x rows" if args.regression == "rows" else "top-k 10 -> 100"
    if args.reuse and trials:  # describe the kept runs, not this invocation's defaults
        import json

        first = json.loads(trials[0][0].read_text())
        profile = first["load"]["profile"]
        args.seconds, args.users = profile["run_time"].rstrip("s"), profile["users"]
        args.rows = first["dataset"]["rows"]
        slow = json.loads(trials[0][1].read_text())
        what = (f"{slow['dataset']['rows'] / args.rows:g}x rows" if slow["dataset"]["rows"] != args.rows
                else "top-k 10 -> 100")
    print(f"\nsingle-run gate on {n} real embedded-server trials ({args.seconds} s runs, {args.users} users, "
          f"{args.rows} x 32 FLAT; regression: {what}; limits 5 %; results in {root})")
    for level, false_alarms, detections in rates:
        lo, hi = wilson(false_alarms, n)
        dlo, dhi = wilson(detections, n)
        print(f"confidence {level:.2f}: false alarms {false_alarms}/{n} = {false_alarms / max(n, 1):.0%} "
              f"(95 % CI {lo:.0%}..{hi:.0%});  detection {detections}/{n} = {detections / max(n, 1):.0%} "
              f"(95 % CI {dlo:.0%}..{dhi:.0%})")


if __name__ == "__main__":
    main()
