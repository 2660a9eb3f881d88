"""Flags shared by every subcommand that talks to a server or writes results (see README.md and
``vdb-harness --help``).

Each subcommand module (``scenarios.commands.serve``, ``conformance.command``, ``conformance.run_command``,
``loadtests.command``, ``reports.command``, ``reports.gate_command``, ``vdb_harness.jobs.*_command``,
``vdb_harness.jobs.demo``) exposes ``add_arguments(parser)`` and ``run(args) -> int``; these helpers keep their flags identical.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path
from typing import Optional

from scenarios.model import Scenario, TargetSpec
from scenarios.targets import apply_overrides

#: Exit codes, the contract CI scripts rely on.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def add_target_flags(parser: argparse.ArgumentParser) -> None:
    """``--target``, ``--token-env``, ``--db``, ``--backend-python``, ``--data-dir``, ``--timeout``."""
    group = parser.add_argument_group("target (the command line overrides the scenario)")
    group.add_argument("--target", metavar="embedded|URI",
                       help="'embedded' (default: start Milvus Lite on a free loopback port) or http(s)://host:port")
    group.add_argument("--token-env", metavar="NAME",
                       help="environment variable holding the token (a token is never given on the command line)")
    group.add_argument("--db", dest="db_name", metavar="NAME", help="database name (default: 'default')")
    group.add_argument("--backend", choices=["lite", "lite25", "standalone"],
                       help="embedded only: lite = Milvus Lite 3 (default; pure Python, a few QPS), lite25 = Milvus "
                            "Lite 2.5.1 (the C++ engine, ~1000 QPS; a virtualenv is created on first use), "
                            "standalone = the PyPI 'milvus' package's Milvus standalone")
    group.add_argument("--backend-python", metavar="PYTHON",
                       help="embedded only: interpreter whose milvus-lite serves (selects the backend version)")
    group.add_argument("--data-dir", metavar="DIR",
                       help="embedded only: keep the server's data in DIR (default: a temp dir, removed after)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="per-call client timeout (default 30)")


def add_out_flag(parser: argparse.ArgumentParser) -> None:
    """``--out DIR``: where ``result.json`` and artifacts go."""
    parser.add_argument("--out", metavar="DIR",
                        help="directory for result.json and artifacts (default: results/<scenario>-<time>)")


def target_from_args(args: argparse.Namespace, scenario: Optional[Scenario] = None) -> TargetSpec:
    """The scenario's target (or the default one) with the command-line flags applied."""
    base = scenario.target if scenario is not None else TargetSpec()
    return apply_overrides(base, target=getattr(args, "target", None), token_env=getattr(args, "token_env", None),
                           db_name=getattr(args, "db_name", None), backend=getattr(args, "backend", None),
                           backend_python=getattr(args, "backend_python", None),
                           data_dir=getattr(args, "data_dir", None), timeout=getattr(args, "timeout", None))


def out_dir_from_args(args: argparse.Namespace, label: str, scenario: Optional[Scenario] = None) -> Path:
    """``--out`` if given, else ``<scenario outputs.dir>/<label>-<UTC timestamp>``."""
    if getattr(args, "out", None):
        return Path(args.out)
    root = Path(scenario.outputs.dir) if scenario is not None else Path("results")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{label}-{stamp}"
