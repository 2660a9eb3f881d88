"""The main job, end to end on one embedded Milvus Lite server (or --target):

  1. run      the seed tutorial's flow once through MilvusClient and once through AsyncMilvusClient, compared
  2. load     a short Locust load run of the same scenario (dense, sparse, hybrid, query) with exact recall
  3. report   HTML + Markdown + JUnit XML from both results

Each stage is its own `vdb-harness` process against one shared server, and writes OUT/<stage>/result.json.
Ends with the path of the HTML report and a one-screen summary. Exit 0 when every stage passed, 1 when one
measured a failure (a divergence, a broken SLO), 2 for bad input or infrastructure, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vdb_harness.kernel import step_summary
from conformance import verdicts
from reports.summary import run_divergences, run_steps, status
from vdb_harness.cli_common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, add_out_flag, \
    add_target_flags, out_dir_from_args, target_from_args
from vdb_harness.kernel.console import make_console
from vdb_harness.kernel.errors import BadInputError
from scenarios.targets import open_target

DEFAULT_SCENARIO = "seed_tutorial"


@dataclass
class Stage:
    """One stage of the demo: its name, the subcommand argv (without target flags) and its exit code."""

    name: str
    argv: list[str]
    exit_code: Optional[int] = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness demo``."""
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario to demo (default: seed_tutorial)")
    parser.add_argument("--run-time", default="15s", help="length of the load run's concurrent phase (default 15s)")
    parser.add_argument("--users", type=int, default=4, help="concurrent users of the load run (default 4)")
    add_target_flags(parser)
    add_out_flag(parser)


def _stages(args: argparse.Namespace, out: Path) -> list[Stage]:
    return [
        Stage("run", ["run", args.scenario, "--out", str(out / "run")]),
        Stage("load", ["load", args.scenario, "--users", str(args.users), "--run-time", args.run_time,
                       "--serial-time", "3s", "--out", str(out / "load")]),
        Stage("report", ["report", str(out / "run" / "result.json"), str(out / "load" / "result.json"),
                         "--title", f"vdb-harness demo: {args.scenario}", "--out", str(out / "report")]),
    ]


def _target_flags(uri: str, args: argparse.Namespace) -> list[str]:
    flags = ["--target", uri]
    if args.token_env:
        flags += ["--token-env", args.token_env]
    if args.db_name:
        flags += ["--db", args.db_name]
    if args.timeout:
        flags += ["--timeout", str(args.timeout)]
    return flags


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness demo``; returns the exit code."""
    console = make_console()
    out = out_dir_from_args(args, "demo")
    target = target_from_args(args)
    stages = _stages(args, out)
    # the stages write no job summary of their own: the demo appends one (its stages, then the report's summary)
    child_env = {k: v for k, v in os.environ.items() if k != step_summary.ENV}
    with open_target(target) as conn:
        console.rule(f"vdb-harness demo on {escape(conn.describe()['uri'])}")
        engine_line = _engine_line(conn)
        console.print(escape(engine_line))
        for stage in stages:
            argv = stage.argv if stage.name == "report" else stage.argv + _target_flags(conn.uri, args)
            console.rule(f"[bold]{stage.name}[/]: vdb-harness {escape(' '.join(stage.argv))}")
            try:
                stage.exit_code = subprocess.call([sys.executable, "-m", "vdb_harness.cli", *argv], env=child_env)
            except KeyboardInterrupt:
                stage.exit_code = EXIT_INTERRUPTED
            if stage.exit_code in (EXIT_BAD_INPUT, EXIT_INTERRUPTED):
                break  # a later stage has nothing to stand on
    _summary(console, stages, out)
    console.print(escape(engine_line))
    step_summary.append(summary_markdown(stages, out, engine_line))
    return verdicts.exit_code([verdicts.status_of_exit(s.exit_code) for s in stages if s.exit_code is not None])


def _engine_line(conn: object) -> str:
    """Which engine served the demo and what its numbers mean."""
    described = conn.describe()  # type: ignore[attr-defined]
    if described.get("engine_note"):
        return f"served by {described.get('server_version')}: {described['engine_note']}"
    return f"served by the server at {described.get('uri')}: its numbers are that server's"


def _summary(console: Console, stages: list[Stage], out: Path) -> None:
    table = Table(title="demo summary")
    table.add_column("stage")
    table.add_column("verdict")
    table.add_column("what it measured")
    colour = {"pass": "green", "fail": "red", "error": "yellow", "interrupted": "yellow"}
    for stage in stages:
        status = verdicts.status_of_exit(stage.exit_code) if stage.exit_code is not None else None
        shown = "[dim]not run[/]" if status is None else f"[{colour[status]}]{status}[/]" + (
            f" (exit {stage.exit_code})" if status == "error" and stage.exit_code != EXIT_BAD_INPUT else "")
        table.add_row(stage.name, shown, escape(_measured(stage, out)))
    console.print(table)
    html = out / "report" / "report.html"
    if html.exists():
        console.print(f"HTML report: [bold]{escape(str(html.resolve()))}[/]")


#: How the Markdown summary marks each status decided by conformance.verdicts.
STATUS_MARK = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error", "interrupted": "⏹️ interrupted"}


def _stage_text(stage: Stage) -> str:
    """A stage's verdict for the Markdown summary, from its exit code (as the console table decides it)."""
    if stage.exit_code is None:
        return "not run"
    return STATUS_MARK.get(verdicts.status_of_exit(stage.exit_code), f"exit {stage.exit_code}")


def summary_markdown(stages: list[Stage], out: Path, engine_line: str = "") -> str:
    """The demo as Markdown (a CI job summary): one row per stage, which engine served them, then the report's own
    summary if it was made."""
    cell = lambda text: text.replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["## vdb-harness demo", "", "| stage | verdict | what it measured |", "|---|---|---|"]
    lines += [f"| {s.name} | {_stage_text(s)} | {cell(_measured(s, out))} |"
              for s in stages]
    if engine_line:
        lines += ["", engine_line]
    report = out / "report" / "summary.md"
    if report.exists():
        lines += ["", report.read_text(encoding="utf-8")]
    return "\n".join(lines).rstrip() + "\n"


def _measured(stage: Stage, out: Path) -> str:
    from reports.inputs import load_one, task_metrics

    path = out / stage.name / "result.json"
    if stage.name == "report" or not path.exists():
        return str(out / stage.name) if stage.exit_code == EXIT_OK else ""
    try:
        result = load_one(path)
    except BadInputError as exc:
        return f"unreadable result: {exc}"
    if stage.name == "run":
        diverged = run_divergences(result)
        where = "; ".join(f"{case.label} at {st.get('step')}" for st, case in diverged)
        return f"{len(run_steps(result))} steps, {status(result)}: " + (where or "both clients agree")
    parts = [f"{t.label}: {t.qps or 0:.0f} qps, p99 {t.p99_ms if t.p99_ms is None else round(t.p99_ms, 1)} ms"
             + (f", recall {t.recall:.3f}" if t.recall is not None else "") for t in task_metrics(result).values()]
    return "; ".join(parts) or result.status
