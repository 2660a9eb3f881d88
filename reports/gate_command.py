"""Compare candidate results against baseline results and say, metric by metric, whether anything regressed.

Give each side one or more result files (or directories holding result.json). With 5 runs per side (min_runs) the
runs are the samples: a one-sided Mann-Whitney test per metric and a bootstrap confidence interval. With fewer (one
run per side is the common CI use), QPS, p50, p99 and error rate are judged from the variability inside each run:
a circular block bootstrap over its 1-second windows (load.intervals) gives a confidence interval of the change, and
a metric fails only when the whole interval is beyond its limit; recall, and results without interval series, use
the thresholds alone (policy keys intervals = auto|on|off, min_intervals). Load results are compared per task: QPS drop, p99 rise,
recall drop, error-rate rise, against the thresholds of --policy (see reports/policy.py for the file format).
Conformance results fail the gate on any new divergence. With --out DIR, writes DIR/gate.json and DIR/gate.md.

Exit 0 when nothing regressed, 1 on a regression, 2 for bad input (unreadable result, unknown version, bad policy,
nothing comparable).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from reports import inputs
from vdb_harness.kernel import step_summary
from reports.gate import Verdict, run_gate
from reports.policy import load_policy
from vdb_harness.cli_common import EXIT_FAILED, EXIT_OK
from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.results import atomic_write_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness gate``."""
    parser.add_argument("--baseline", nargs="+", required=True, metavar="RESULT", help="baseline result files/dirs")
    parser.add_argument("--candidate", nargs="+", required=True, metavar="RESULT",
                        help="candidate result files/dirs")
    parser.add_argument("--policy", metavar="gate.toml", help="thresholds and statistics (default: built-in)")
    parser.add_argument("--out", metavar="DIR", help="also write DIR/gate.json and DIR/gate.md")


def verdict_markdown(verdict: Verdict) -> str:
    """The verdict as Markdown (a CI job summary or a PR comment)."""
    icon = {"pass": "✅", "fail": "❌", "skip": "➖"}
    head = "❌ **Regression**" if verdict.failed else "✅ **No regression**"
    out = [f"## Regression gate: {head}", "", "| | task | metric | verdict |", "|---|---|---|---|"]
    out += [f"| {icon[l.status]} | {l.task} | {l.metric} | {l.text.replace('|', '/')} |" for l in verdict.lines]
    out += [""] + [f"- {n}" for n in verdict.notes]
    return "\n".join(out).rstrip() + "\n"


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The verdict as plain data (``gate.json``)."""
    def line(l: Any) -> dict[str, Any]:
        c = l.comparison
        return {"status": l.status, "task": l.task, "metric": l.metric, "text": l.text, "limit": l.limit,
                **({"baseline": c.baseline, "candidate": c.candidate, "worse_by": c.worse_by,
                    "ci": list(c.ci) if c.ci else None, "p_value": c.p_value,
                    "n": [c.n_baseline, c.n_candidate], "method": c.method,
                    **({"blocks": list(c.blocks)} if c.blocks else {})} if c else {})}
    return {"verdict": "fail" if verdict.failed else "pass", "lines": [line(l) for l in verdict.lines],
            "notes": verdict.notes}


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness gate``; returns the exit code."""
    policy = load_policy(args.policy)
    baseline, candidate = inputs.load(args.baseline), inputs.load(args.candidate)
    verdict = run_gate(baseline, candidate, policy)
    if verdict.compared == 0:
        raise BadInputError("nothing to compare: the baseline and the candidate share no load task and the "
                            "candidate has no conformance result; " + "; ".join(verdict.notes))
    for line in verdict.lines:
        print(line.render())
    for note in verdict.notes:
        print(f"note: {note}")
    print(f"gate: {'REGRESSION' if verdict.failed else 'PASS'} "
          f"({sum(l.status == 'fail' for l in verdict.lines)} of {verdict.compared} checks failed)")
    step_summary.append(verdict_markdown(verdict))
    if args.out:
        out = Path(args.out)
        atomic_write_text(out / "gate.json", json.dumps(verdict_json(verdict), indent=2) + "\n")
        atomic_write_text(out / "gate.md", verdict_markdown(verdict))
    return EXIT_FAILED if verdict.failed else EXIT_OK
