"""Run the Hypothesis differential suite (AsyncMilvusClient vs MilvusClient) against a target and write
result.json (kind ``conformance``), conformance.md, conformance-junit.xml and reproducers/ into --out.

The suite is pytest's (``pytest conformance/``), run in-process with the chosen profile; the target flags select
the server. Exit 0: every method conforms (known divergences allowed unless --strict); 1: divergences;
2: bad input or an infrastructure problem (the server did not start or died)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from conformance import known, verdicts
from vdb_harness.cli_common import EXIT_BAD_INPUT, add_out_flag, add_target_flags, out_dir_from_args, target_from_args
from vdb_harness.kernel.errors import BadInputError, InfrastructureError
from vdb_harness.kernel.results import read_result, write_result

SUITE_DIR = Path(__file__).resolve().parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness conformance``."""
    parser.add_argument("scenario", nargs="?", help="scenario name or file: its target is the default target "
                                                    "(the suite's own schemas are used either way)")
    parser.add_argument("--profile", choices=["ci", "nightly", "replay"], default="ci",
                        help="Hypothesis profile: ci (deterministic, bounded), nightly (many examples), "
                             "replay (re-run saved failures)")
    parser.add_argument("--strict", action="store_true", help="known divergences fail the run too")
    parser.add_argument("-k", dest="select", metavar="EXPR", help="only methods/tests matching this pytest -k")
    add_target_flags(parser)
    add_out_flag(parser)


def _environment(args: argparse.Namespace, out: Path) -> dict[str, str]:
    scenario = None
    if args.scenario:
        from scenarios.loader import load_scenario

        scenario = load_scenario(args.scenario)
    spec = target_from_args(args, scenario)
    if spec.target != "embedded" and spec.backend != "lite":
        raise BadInputError("--backend applies to the embedded target only")
    if spec.target == "embedded":
        from scenarios import engines

        # the engine's managed virtualenv is made here, with progress, not inside the suite's fixtures
        spec = spec.model_copy(update={"backend_python": engines.server_python(spec.backend, spec.backend_python)})
    env = {"VDB_HARNESS_TARGET": spec.target, "VDB_HARNESS_TIMEOUT": str(spec.timeout),
           "VDB_HARNESS_CONFORMANCE_OUT": str(out), "HYPOTHESIS_PROFILE": args.profile,
           "VDB_HARNESS_CONFORMANCE_STRICT": "1" if args.strict else ""}
    if spec.token_env:
        env["VDB_HARNESS_TOKEN_ENV"] = spec.token_env
    if spec.backend_python:
        env["VDB_HARNESS_BACKEND_PYTHON"] = spec.backend_python
    env["VDB_HARNESS_BACKEND"] = spec.backend
    return env


def run(args: argparse.Namespace) -> int:
    """Run the suite; the exit code follows the result file's status."""
    import pytest

    known.load()  # a malformed registry is bad input (exit 2) before any server starts
    out = out_dir_from_args(args, "conformance")
    env = _environment(args, out)
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        argv = [str(SUITE_DIR), "-q", "-p", "no:cacheprovider", "-p", "conformance.plugin",  # also without autoload
                f"--rootdir={SUITE_DIR.parent}", "-W", "ignore::pytest.PytestAssertRewriteWarning",  # ours, imported
                f"--junitxml={out / 'pytest-junit.xml'}"]
        if args.select:
            argv += ["-k", args.select]
        code = pytest.main(argv)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result_file = out / "result.json"
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED) \
            or not result_file.exists():
        raise InfrastructureError(f"the conformance suite did not run to the end (pytest exit {int(code)}); "
                                  f"see the output above")
    result = read_result(result_file)  # version-checked (conformance/ does not import reports/)
    if result["status"] == "pass" and _pytest_failed(out):  # a failing test outside the method matrix
        result["status"] = "fail"
        result["notes"].append("pytest recorded failures outside the method matrix (state machine, flow, coverage): "
                               f"see {out / 'pytest-junit.xml'}")
        write_result(result, out)
    cases = verdicts.conformance_cases(result["conformance"])
    status = verdicts.overall(cases, result["status"])
    code = verdicts.exit_code([status], cases)
    counts = verdicts.counts(cases)
    print(f"conformance: {status}: " + ", ".join(f"{k}: {v}" for k, v in counts.items() if v)
          + (" (strict: known divergences fail)" if result["conformance"].get("strict") else "")
          + f"; report: {out}/conformance.md")
    errors = [c.name for c in cases if c.fails and c.verdict == verdicts.ERROR]
    if code == EXIT_BAD_INPUT and errors:
        print(f"conformance: infrastructure, setup or registry errors in {', '.join(errors[:10])}")
    return code


def _pytest_failed(out: Path) -> bool:
    """True when pytest's own JUnit file records failures or errors (also outside the method matrix)."""
    import xml.etree.ElementTree as ET

    path = out / "pytest-junit.xml"
    if not path.exists():
        return True
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    return any(int(x.get("failures", 0)) or int(x.get("errors", 0)) for x in suites)
