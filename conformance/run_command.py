"""Run a scenario's whole flow once with MilvusClient and once with AsyncMilvusClient, side by side.

The flow (the preparation and task calls `vdb-harness load` makes too, from ``scenarios.calls``): create the
collection, create each index, load it, insert the dataset, then each workload task once
(searches use the first `flow_queries` query vectors). The async client issues the inserts and the tasks
concurrently with asyncio.gather. A step the server rejects is reported with the step and server, and the flow
goes on (an index type the server lacks falls back to one it has, and says so).

Writes OUT/result.json (kind "run"). Exit 0 when both clients agree on every step, 1 when they diverge,
2 for bad input or an unreachable server.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance import known, verdicts
from conformance.flow import StepComparison, StepOutcome, compare_runs, run_async, run_sync
from scenarios import engines
from vdb_harness.kernel import step_summary
from vdb_harness.cli_common import (add_out_flag, add_target_flags, out_dir_from_args,
                                  target_from_args)
from vdb_harness.kernel.console import make_console
from scenarios.loader import load_scenario, resolve_scenario_path, scenario_hash
from vdb_harness.kernel.progress import progress_bar, quiet_client_logs
from vdb_harness.kernel.results import new_result, recorded
from scenarios.targets import open_target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness run``."""
    parser.add_argument("scenario", help="scenario file, or the name of a shipped example (e.g. seed_tutorial)")
    parser.add_argument("--strict", action="store_true",
                        help="fail on a divergence the known-divergence registry explains, too")
    add_target_flags(parser)
    add_out_flag(parser)


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness run``; returns the exit code."""
    console = make_console()
    scenario = load_scenario(args.scenario)
    scenario_path = resolve_scenario_path(args.scenario)
    target = target_from_args(args, scenario)
    engines.refuse_lacking(scenario, target)  # before any server starts
    out_dir = out_dir_from_args(args, scenario.name, scenario)
    quiet_client_logs()

    from scenarios.datasets.build import build_dataset

    result = new_result("run", scenario={"name": scenario.name, "sha256": scenario_hash(scenario),
                                         "path": str(scenario_path)})
    def written(path: Path) -> None:
        console.print(f"result: {path}")
        step_summary.append_results([path], f"vdb-harness run {scenario.name}")

    with recorded(result, out_dir, written):
        with open_target(target) as conn:  # first: a dead server or a bad token fails before any long work
            result["target"] = conn.describe()
            with progress_bar(console, "generating dataset") as tick:
                dataset = build_dataset(scenario, scenario_path.parent, progress=tick)
            engines.refuse_lacking(scenario, target, dataset)
            result["dataset"] = {"name": dataset.name, "fingerprint": dataset.fingerprint(), "rows": len(dataset),
                                 "queries": dataset.num_queries}
            section, diverged = run_flow_both(console, conn, scenario, dataset)
            settled = _settle(conn, scenario.name, diverged)
        result["run"] = section
        _record_known(console, result, section, settled, args.strict)
        cases = verdicts.run_cases(section)
        result["status"] = verdicts.overall(cases)
        return verdicts.exit_code([result["status"]], cases)


def _settle(conn: Any, scenario_name: str, diverged: list[StepComparison]) -> known.FlowVerdict:
    """The flow's diverged steps against the registry entries for ``flow:<scenario>`` on this server and pymilvus."""
    from conformance.servers import server_family

    return known.settle(f"flow:{scenario_name}", server_family(conn), diverged)


def _record_known(console: Console, result: dict[str, Any], section: dict[str, Any], settled: known.FlowVerdict,
                  strict: bool) -> None:
    """Mark each step a registry entry explains, and any stale entry, in the ``run`` section (and say so)."""
    section["strict"] = strict
    for step in section["steps"]:
        entry = settled.known_steps.get(step["step"])
        if entry is not None:
            step["known"] = {"entry": entry.name, "reason": entry.reason, "server": entry.server,
                             "pymilvus": entry.pymilvus}
            result["notes"].append(f"known divergence at {step['step']} ({entry.server}, pymilvus {entry.pymilvus}): "
                                   f"{entry.reason}")
            console.print(f"[magenta]known divergence[/] at {escape(step['step'])} "
                          f"(conformance/known_divergences.toml): {escape(entry.reason)}"
                          + ("; fails under --strict" if strict else "; not a failure without --strict"))
    if settled.status == "error":
        section["registry_errors"] = [settled.message]
        console.print(f"[yellow]known-divergence registry[/]: {escape(settled.message)}")


def run_flow_both(console: Console, conn: Any, scenario: Any, dataset: Any
                  ) -> tuple[dict[str, Any], list[StepComparison]]:
    """Run the flow through both clients on ``conn``, print them side by side; return (``run`` section, the diverged
    steps that do not merely follow from another one)."""
    server = _server_label(conn)
    console.print(f"[bold]{scenario.name}[/]: {len(dataset):,} rows on {server}")
    sync = _run_with_progress(console, "MilvusClient", lambda cb: run_sync(conn, scenario, dataset, cb))
    asyn = _run_with_progress(console, "AsyncMilvusClient", lambda cb: run_async(conn, scenario, dataset, cb))
    comparisons = compare_runs(sync, asyn)
    recalls = _flow_recalls(scenario, dataset, sync, asyn)
    _print_side_by_side(console, comparisons, server, recalls)
    diverged = [c for c in comparisons if not c.match and not c.consequence_of]
    if diverged:
        console.print(f"[bold red]{len(diverged)} step(s) diverge[/] between the sync and the async client: "
                      + escape(", ".join(c.step for c in diverged)))
    else:
        console.print("[bold green]sync and async clients agree on every step[/]")
    steps = [_comparison_json(c) | ({"recall": recalls[c.step]} if c.step in recalls else {}) for c in comparisons]
    return {"server": server, "steps": steps}, diverged


def _flow_recalls(scenario: Any, dataset: Any, sync: list[StepOutcome],
                  asyn: list[StepOutcome]) -> dict[str, dict[str, Optional[float]]]:
    """Mean tie-fair recall of each search step's answer, per client, against exact ground truth."""
    from scenarios.truth.scorers import task_scorers, writes_in_mix

    if writes_in_mix(scenario):  # the flow's writes change the answer; the live truth belongs to load runs
        return {}
    scorers, _notes = task_scorers(scenario, dataset)
    out: dict[str, dict[str, Optional[float]]] = {}
    for label, scorer in scorers.items():
        out[label] = {side: _mean_recall(scorer, next((o for o in outcomes if o.step == label), None))
                      for side, outcomes in (("sync", sync), ("async", asyn))}
    return out


def _mean_recall(scorer: Any, outcome: Optional[StepOutcome]) -> Optional[float]:
    if outcome is None or not outcome.ok or not isinstance(outcome.output, list):
        return None
    values = [scorer.score(q, [hit.get("id") for hit in hits if isinstance(hit, dict)])
              for q, hits in enumerate(outcome.output) if isinstance(hits, list)]
    return sum(values) / len(values) if values else None


def _server_label(conn: Any) -> str:
    info = conn.describe()
    if info.get("backend"):
        return f"embedded {info['backend']} {info['backend_version']} ({info['uri']})"
    return str(info["uri"])


def _run_with_progress(console: Console, label: str, flow: Any) -> list[StepOutcome]:
    with progress_bar(console, f"{label} flow", unit="steps") as tick:
        done = [0]

        def on_step(outcome: StepOutcome) -> None:
            done[0] += 1
            tick(done[0], 0)

        return flow(on_step)


def _print_side_by_side(console: Console, comparisons: list[StepComparison], server: str,
                        recalls: dict[str, dict[str, Optional[float]]]) -> None:
    table = Table(title=f"flow on {escape(server)}", show_lines=False)
    table.add_column("step")
    table.add_column("MilvusClient")
    table.add_column("AsyncMilvusClient")
    table.add_column("agree")
    for c in comparisons:
        r = recalls.get(c.step, {})
        agree = ("[green]yes[/]" if c.match else
                 f"[dim]follows from {escape(c.consequence_of)}[/]" if c.consequence_of else f"[red]no[/] {escape(c.why)}")
        table.add_row(escape(c.step), _cell(c.sync, r.get("sync")), _cell(c.asyn, r.get("async")), agree)
    console.print(table)
    rejected = [c for c in comparisons if c.sync and not c.sync.ok and not c.sync.optional]
    for c in rejected:
        then = f"; went on with: {', '.join(c.sync.replaced_by)}" if c.sync.replaced_by else "; went on without it"
        console.print(f"[yellow]server rejected step {escape(repr(c.step))}[/] on {escape(server)}: "
                      f"{escape(c.sync.error + then)}")


def _cell(outcome: StepOutcome | None, recall: Optional[float] = None) -> str:
    if outcome is None:
        return "[dim]-[/]"
    text = escape(outcome.summary(70))
    if not outcome.ok:
        return f"[yellow]{text}[/]"
    shown = "" if recall is None else f" [{'green' if recall >= 0.999 else 'red'}]recall {recall:.3f}[/]"
    return f"{text}{shown} [dim]{outcome.seconds * 1000:.1f} ms[/]"


def _comparison_json(c: StepComparison) -> dict[str, Any]:
    def side(o: StepOutcome | None) -> Any:
        if o is None:
            return None
        return {"ok": o.ok, "seconds": o.seconds, "summary": o.summary(200), "error": o.error or None,
                "error_type": o.error_type or None, "error_code": o.error_code, "replaced_by": o.replaced_by,
                "output": _bounded(o.output)}

    return {"step": c.step, "method": (c.sync or c.asyn).method if (c.sync or c.asyn) else None,
            "match": c.match, "why": c.why or None, "consequence_of": c.consequence_of or None, "sync": side(c.sync), "async": side(c.asyn)}


def _bounded(output: Any, limit: int = 20_000) -> Any:
    """Outputs larger than ``limit`` characters of JSON (bulk inserts) are summarised, not stored whole."""
    import json

    text = json.dumps(output, default=str)
    return output if len(text) <= limit else {"truncated": True, "chars": len(text)}

