"""Certify a release: conformance suite, load scenarios and a capacity run, sealed as a verifiable bundle.

Writes OUT/ (each stage's results, a report, result.json and manifest.json listing every artifact's sha256 with
the client, server and harness versions and dataset fingerprints) and OUT.tar.gz. Secrets (the --token-env
variable and any *TOKEN*/*PASSWORD*/*SECRET* variable) are redacted from every artifact before hashing.
`--verify BUNDLE` (a directory or .tar.gz) re-hashes a bundle and reports any edited, missing or extra file.

Exit 0 certified (or intact), 1 a stage failed (or the bundle was tampered with), 2 bad input / a stage could
not run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from reports.bundle import secret_values
from vdb_harness.jobs.certify import Stage, certify, verify_bundle
from vdb_harness.cli_common import add_target_flags, out_dir_from_args

#: profile -> (conformance flags, load scenarios, capacity scenario)
PROFILES: dict[str, tuple[list[str], list[str], str]] = {
    "release": (["--profile", "nightly"], ["seed_tutorial"], "seed_tutorial"),
    "ci": (["--profile", "ci"], ["seed_tutorial"], "seed_tutorial"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness certify``."""
    parser.add_argument("--verify", metavar="BUNDLE", help="verify an existing bundle (directory or .tar.gz)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="release", help="what to run (default release)")
    parser.add_argument("--scenario", action="append", metavar="SCENARIO",
                        help="load scenario (repeatable; default: the profile's)")
    parser.add_argument("--capacity-scenario", metavar="SCENARIO", help="scenario for the capacity stage")
    add_target_flags(parser)
    parser.add_argument("--out", metavar="DIR", help="bundle directory (default: results/certify-<time>)")


def _target_argv(args: argparse.Namespace) -> list[str]:
    flags = {"--target": "target", "--token-env": "token_env", "--db": "db_name", "--backend": "backend",
             "--backend-python": "backend_python", "--data-dir": "data_dir", "--timeout": "timeout"}
    out: list[str] = []
    for flag, attr in flags.items():
        value = getattr(args, attr, None)
        if value is not None:
            out += [flag, str(value)]
    return out


def _refuse_lacking(args: argparse.Namespace) -> None:
    """Before any stage runs: refuse (exit 2) when the chosen engine lacks a feature of a load or capacity
    scenario (a stage failing half-way would leave an incomplete bundle)."""
    from scenarios import engines
    from vdb_harness.cli_common import target_from_args
    from scenarios.loader import load_scenario

    _conf, scenarios, cap_scenario = PROFILES[args.profile]
    for name in [*(args.scenario or scenarios), args.capacity_scenario or cap_scenario]:
        scenario = load_scenario(name)
        engines.refuse_lacking(scenario, target_from_args(args, scenario))


def _subcommand(argv: list[str]) -> Callable[[Path], int]:
    """A stage that runs another vdb-harness subcommand, in its own process (the load stage patches its process
    for gevent), with ``--out`` set to the stage directory; returns its exit code."""
    def run(stage_dir: Path) -> int:
        import subprocess
        import sys

        return subprocess.call([sys.executable, "-m", "vdb_harness.cli", *argv, "--out", str(stage_dir)])
    return run


def stages_for(args: argparse.Namespace) -> list[Stage]:
    """The profile's stages with the command line's target flags."""
    conf_flags, scenarios, cap_scenario = PROFILES[args.profile]
    target = _target_argv(args)
    stages = [Stage("conformance", _subcommand(["conformance", *conf_flags, *target]))]
    for i, scenario in enumerate(args.scenario or scenarios):
        stages.append(Stage(f"load-{i + 1}-{Path(scenario).stem}", _subcommand(["load", scenario, *target])))
    stages.append(Stage("capacity", _subcommand(["capacity", args.capacity_scenario or cap_scenario, *target])))
    return stages


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness certify``; returns the exit code."""
    if args.verify:
        return verify_bundle(Path(args.verify))
    _refuse_lacking(args)
    out = out_dir_from_args(args, "certify")
    code, bundle_dir, archive = certify(stages_for(args), out, profile=args.profile,
                                        secrets=secret_values([args.token_env] if args.token_env else []))
    print(f"bundle: {bundle_dir}\narchive: {archive}\ncertification: "
          f"{ {0: 'CERTIFIED', 1: 'FAILED'}.get(code, 'INCOMPLETE (a stage could not run)') }")
    return code
