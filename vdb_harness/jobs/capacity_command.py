"""Find the highest load a scenario sustains within its SLOs ([slo]: p99_ms, max_error_rate, recall_floor, min_qps).

Raises the offered load (users, or an arrival rate with --unit rate) geometrically from --start, one bounded load
step of --step-time each, until an SLO breaks; then bisects between the last good and the first bad load. Reports
the maximum sustainable QPS, the knee of the latency curve and a plot. With --sweep, repeats the search for each
of the scenario's [load] sweep search_params sets to show the QPS/recall trade-off at the SLO.

Writes OUT/result.json (kind "capacity") and OUT/report.html. Exit 0 when some load kept every SLO, 1 when none
did, 2 for bad input (no [slo] in the scenario, unreachable server).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Optional

from reports import html_report, inputs
from vdb_harness.jobs.capacity import Capacity, StepResult, find_capacity, step_from_load, to_section
from vdb_harness.cli_common import (EXIT_FAILED, EXIT_OK, add_out_flag, add_target_flags, out_dir_from_args,
                                  target_from_args)
from vdb_harness.kernel.errors import BadInputError, InfrastructureError
from scenarios.loader import load_scenario, resolve_scenario_path, scenario_hash
from scenarios.model import parse_duration
from vdb_harness.kernel.results import atomic_write_text, new_result, write_result

#: The load runner's entry point this command drives (owned by loadtests): a context manager
#: ``open_session(scenario_path, target[, client=]) -> session`` whose ``session.step(users=None, rate=None, run_time_s=...,
#: search_params=None) -> dict`` runs one bounded load step and returns its ``load`` section; ``session.describe()``
#: -> {"target": {...}, "dataset": {...}} for the result header.
RUNNER = "loadtests.step.open_session"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness capacity``."""
    parser.add_argument("scenario", help="scenario file (needs an [slo] section) or a shipped example's name")
    parser.add_argument("--unit", choices=["users", "rate"], default="users",
                        help="offered load as concurrent users (closed model) or requests/s (open model)")
    parser.add_argument("--start", type=float, default=None, help="first load (default 1 user / 10 req/s)")
    parser.add_argument("--max", dest="max_load", type=float, default=None,
                        help="highest load tried (default 512 users / 100000 req/s)")
    parser.add_argument("--growth", type=float, default=2.0, help="ramp factor per step (default 2)")
    parser.add_argument("--tolerance", type=float, default=0.1, help="bisection stops within this fraction")
    parser.add_argument("--step-time", default=None, help="duration of one step (default: the scenario's step_time)")
    parser.add_argument("--max-steps", type=int, default=16, help="step budget per search (default 16)")
    parser.add_argument("--confirm", type=int, default=0, help="re-measure a breaking step this many times")
    parser.add_argument("--sweep", action="store_true", help="search once per [load] sweep search_params set")
    parser.add_argument("--client", choices=["sync", "async", "lean"],
                        help="users of each step (default: the scenario's load.client); lean: prebuilt requests on "
                             "the gRPC stub, so the client is not the bottleneck (searches, query, get)")
    add_target_flags(parser)
    add_out_flag(parser)


def _open_runner() -> Callable[..., Any]:
    try:
        from loadtests.step import open_session  # type: ignore[import-not-found]
    except ImportError as exc:
        raise InfrastructureError(f"capacity needs the load runner's {RUNNER}, which this build lacks ({exc})") \
            from None
    return open_session


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness capacity``; returns the exit code."""
    scenario = load_scenario(args.scenario)
    path = resolve_scenario_path(args.scenario)
    slo = scenario.slo
    if all(v is None for v in slo.model_dump().values()):
        raise BadInputError(f"{path}: capacity needs an [slo] section (p99_ms, max_error_rate, recall_floor or "
                            "min_qps) to know when the load is too high")
    try:
        run_time_s = parse_duration(args.step_time or scenario.load.step_time)
    except ValueError as exc:
        raise BadInputError(f"--step-time: {exc}") from None
    rate = args.unit == "rate"
    start = args.start or (10.0 if rate else 1.0)
    max_load = args.max_load or (100_000.0 if rate else 512.0)
    if args.growth <= 1 or start <= 0 or max_load < start:
        raise BadInputError("capacity: need --growth > 1 and 0 < --start <= --max")
    client = getattr(args, "client", None) or scenario.load.client
    if client == "lean":
        from loadtests.lean_requests import check_supported

        check_supported(scenario)
    out_dir = out_dir_from_args(args, f"capacity-{scenario.name}", scenario)
    result = new_result("capacity", scenario={"name": scenario.name, "sha256": scenario_hash(scenario),
                                              "path": str(path)})
    status = "error"
    target = target_from_args(args, scenario)
    from scenarios import engines

    engines.refuse_lacking(scenario, target)  # before any server starts
    try:
        chosen = {"client": args.client} if getattr(args, "client", None) else {}  # else the scenario's own
        with _open_runner()(path, target, **chosen) as session:
            result.update(session.describe())

            def search(params: Optional[dict[str, Any]]) -> Capacity:
                def measure(load: float) -> StepResult:
                    kw = {"rate": load} if rate else {"users": int(load)}
                    section = session.step(run_time_s=run_time_s, search_params=params, **kw)
                    step = step_from_load(load, section)
                    print(f"  {load:g} {args.unit}: {step.qps or 0:,.1f} QPS, p99 "
                          f"{step.p99_ms if step.p99_ms is not None else float('nan'):.1f} ms")
                    return step
                return find_capacity(measure, slo, start=start, max_load=max_load, growth=args.growth,
                                     tolerance=args.tolerance, max_steps=args.max_steps, integer=not rate,
                                     confirm=args.confirm)

            cap = search(None)
            per_params = []
            if args.sweep:
                for params in scenario.load.sweep:
                    print(f"search_params {params}:")
                    c = search(params)
                    best = c.best
                    per_params.append({"search_params": params, "max_qps": best.result.qps if best else None,
                                       "recall": best.result.recall if best else None,
                                       "offered": best.result.offered if best else None})
        result["capacity"] = to_section(cap, slo, args.unit, per_params)
        result["capacity"]["client"] = client  # lean: the server's capacity, measured past pymilvus' own cost
        status = "pass" if cap.best else "fail"
        best = result["capacity"]["max_sustainable"]
        print(f"capacity: {'%.1f QPS at %g %s' % (best['qps'] or 0, best['offered'], args.unit) if best else 'none'}"
              f" within {slo.model_dump(exclude_none=True)}")
        return EXIT_OK if cap.best else EXIT_FAILED
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        result["status"] = status
        written = write_result(result, out_dir)
        if "capacity" in result:
            loaded = [inputs.LoadedResult(written, result)]
            atomic_write_text(out_dir / "report.html", html_report.render(loaded, f"Capacity: {scenario.name}"))
        print(f"result: {written}")
