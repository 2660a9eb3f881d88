"""The ``vdb-harness`` command line: one subcommand per job (the contract users rely on is ``docs/cli.md``).

Subcommands live with the step of the flow they belong to and are imported only when used, so ``--help`` is
fast. Every failure the harness understands becomes one clear message and exit code 2 (bad input or
infrastructure), 1 (the thing measured failed), or 130 (interrupted); never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
from typing import Optional, Sequence

#: subcommand -> (module with add_arguments/run, one-line help, example)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("vdb_harness.jobs.demo", "the main job: seed conformance + a short load run + a report, on embedded Milvus",
             "vdb-harness demo --out results/demo"),
    "run": ("conformance.run_command", "run a scenario's flow once through the sync and the async client",
            "vdb-harness run seed_tutorial --out results/seed"),
    "serve": ("scenarios.commands.serve", "run the embedded Milvus server in the foreground until Ctrl-C",
              "vdb-harness serve --port 19530 --data-dir ./milvus-data"),
    "conformance": ("conformance.command", "Hypothesis differential suite: AsyncMilvusClient vs MilvusClient",
                    "vdb-harness conformance --profile ci --out results/conf"),
    "load": ("loadtests.command", "a Locust load run with recall and latency",
             "vdb-harness load dense_search --users 8 --run-time 30s --out results/load"),
    "report": ("reports.command", "HTML + Markdown + JUnit XML from result files",
               "vdb-harness report results/load/result.json --out results/report"),
    "gate": ("reports.gate_command", "regression verdict: candidate vs baseline results",
             "vdb-harness gate --baseline base/*/result.json --candidate new/*/result.json"),
    "capacity": ("vdb_harness.jobs.capacity_command", "the highest load that keeps the scenario's SLOs",
                 "vdb-harness capacity dense_search --out results/capacity"),
    "certify": ("vdb_harness.jobs.certify_command", "release certification bundle, and its later verification",
                "vdb-harness certify --out results/cert   |   vdb-harness certify --verify results/cert"),
    "sweep": ("reports.sweep_command", "conformance ci profile across pymilvus releases: which release brought "
              "each divergence", "vdb-harness sweep --releases '2.6.2,>=3.0' --out results/sweep"),
}

DESCRIPTION = """\
vdb-harness: conformance and load testing for vector databases (Milvus first).

The flow: scenario file -> target + dataset + ground truth -> conformance or load run -> result.json -> report/gate.
With no --target, every command starts a real Milvus Lite server on a free loopback port and stops it after.

exit codes: 0 pass, 1 the thing measured failed (divergence, regression, broken SLO),
            2 bad input or infrastructure problem, 130 interrupted.
"""


def build_parser(available: Optional[dict[str, object]] = None) -> argparse.ArgumentParser:
    """The full parser; subcommands whose module cannot be imported are listed as unavailable."""
    parser = argparse.ArgumentParser(prog="vdb-harness", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from vdb_harness.kernel.results import package_version

    parser.add_argument("--version", action="version", version=f"vdb-harness {package_version('vdb-harness')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text, example) in SUBCOMMANDS.items():
        module = (available or {}).get(name)
        epilog = f"example:\n  {example}"
        if module is not None and getattr(module, "__doc__", None):
            epilog = textwrap.dedent(module.__doc__).strip() + "\n\n" + epilog
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if module is not None:
            module.add_arguments(p)
    return parser


def _load(name: str) -> Optional[object]:
    try:
        return importlib.import_module(SUBCOMMANDS[name][0])
    except ModuleNotFoundError as exc:
        if exc.name and SUBCOMMANDS[name][0].startswith(exc.name):
            return None  # not built yet
        raise


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and run the subcommand; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if a in SUBCOMMANDS), None)
    # Only the chosen subcommand is imported: the top-level help needs none, and some (load) patch the process.
    modules = {wanted: _load(wanted)} if wanted else {}
    parser = build_parser(modules)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module = modules.get(args.command)
    if module is None and args.command not in modules:
        module = modules[args.command] = _load(args.command)
    if module is None:
        print(f"vdb-harness {args.command}: not available in this build", file=sys.stderr)
        return 2
    from vdb_harness.kernel.errors import HarnessError

    try:
        return int(module.run(args))
    except HarnessError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted; partial results (if any) were kept")
        return 130


def _error(message: str) -> None:
    try:
        from rich.text import Text

        from vdb_harness.kernel.console import make_console

        make_console(stderr=True).print(Text("error: ", style="bold red") + Text(message))
    except Exception:  # noqa: BLE001 - never let error printing itself fail
        print(f"error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
