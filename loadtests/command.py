"""Run a scenario's workload as a Locust load test, headless, with recall and HDR latency per task.

Steps: reach the target (the embedded Milvus Lite by default), build the dataset and the exact ground truth,
prepare the collection (create, insert, flush, index, load), then: a serial phase (one user; the scenario's
load.serial_phase or --serial-time), the concurrent phase (the scenario's shape: fixed, ladder, spike or arrival),
and a recall-vs-QPS sweep over load.sweep search params. Every phase ends by itself (shape end, --max-requests,
or a hard deadline). --processes N runs N Locust worker processes on loopback under a master in this process.

Across machines: ``--master --expect-workers N`` runs the same master (the same merge of HDR latency and recall)
but starts no worker; it waits (--expect-workers-timeout) for N workers started elsewhere with ``--worker
--master-host HOST`` (same scenario file, ``--target`` the server's URI as the workers reach it). The serial phase
runs on the master; the concurrent phase runs on the workers; the sweep is skipped (each sweep point would need
the workers again).

Writes OUT/result.json (kind "load"). Exit 0 when every SLO holds, 1 when one is broken, 2 for bad input or
infrastructure, 130 when interrupted (the partial result is still written).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Optional

from loadtests import gevent_grpc

gevent_grpc.enable()  # before any gRPC channel: the target check below opens one

from rich.console import Console  # noqa: E402

from loadtests.summary_table import print_summary  # noqa: E402
from vdb_harness.kernel import step_summary  # noqa: E402
from vdb_harness.cli_common import (EXIT_FAILED, EXIT_OK, add_out_flag, add_target_flags,  # noqa: E402
                                  out_dir_from_args, target_from_args)
from vdb_harness.kernel.console import make_console  # noqa: E402
from vdb_harness.kernel.errors import BadInputError  # noqa: E402
from scenarios.model import LoadSpec, Scenario, parse_duration, with_flags  # noqa: E402

#: Requests a phase may issue when neither the scenario nor --max-requests bounds it.
DEFAULT_MAX_REQUESTS = 2_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness load``."""
    parser.add_argument("scenario", help="scenario file, or the name of a shipped example (e.g. dense_search)")
    parser.add_argument("--users", type=int, help="concurrent users (default: the scenario's load.users)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second")
    parser.add_argument("--run-time", help="concurrent phase duration, e.g. 30s, 2m")
    parser.add_argument("--shape", choices=["fixed", "ladder", "spike", "arrival"], help="override load.shape")
    parser.add_argument("--processes", type=int, help="Locust worker processes on this host (default 1: in-process)")
    dist = parser.add_argument_group("distributed across machines (Locust master and workers)")
    dist.add_argument("--master", action="store_true",
                      help="run the master: prepare, wait for --expect-workers workers, merge what they record")
    dist.add_argument("--expect-workers", type=int, metavar="N", help="with --master: workers to wait for")
    dist.add_argument("--expect-workers-timeout", type=float, metavar="SECONDS", default=120.0,
                      help="with --master: give up (exit 2) when the workers have not all connected by then "
                           "(default 120)")
    dist.add_argument("--master-bind-host", metavar="HOST", default="*",
                      help="with --master: interface to listen on (default: all)")
    dist.add_argument("--master-bind-port", type=int, metavar="PORT", default=5557,
                      help="with --master: port to listen on (default 5557, as Locust)")
    dist.add_argument("--worker", action="store_true",
                      help="run a worker: generate load for the master at --master-host until it stops")
    dist.add_argument("--master-host", metavar="HOST", help="with --worker: the master's host")
    dist.add_argument("--master-port", type=int, metavar="PORT", default=5557,
                      help="with --worker: the master's port (default 5557)")
    parser.add_argument("--client", choices=["sync", "async", "lean"],
                        help="MilvusClient (default) or AsyncMilvusClient users, or lean: prebuilt requests on the "
                             "gRPC stub, a load generator for the server (not a test of pymilvus; searches, query, "
                             "get)")
    parser.add_argument("--max-requests", type=int, help=f"stop a phase after N requests (default: "
                                                         f"load.max_requests or {DEFAULT_MAX_REQUESTS:,})")
    parser.add_argument("--serial-time", help="one-user latency phase before the concurrent one (0s: none)")
    parser.add_argument("--sweep-time", help="duration of each sweep point (default: load.step_time)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the recall-vs-QPS sweep")
    parser.add_argument("--no-recall", action="store_true", help="do not score recall (measures its cost)")
    parser.add_argument("--no-prepare", action="store_true", help="use the collection as it is on the target")
    parser.add_argument("--prepare-only", action="store_true", help="prepare the collection and stop")
    parser.add_argument("--no-index-fallback", action="store_true",
                        help="fail when the server rejects an index type instead of falling back")
    add_target_flags(parser)
    add_out_flag(parser)


def _profile(args: argparse.Namespace, load: LoadSpec) -> LoadSpec:
    values = {"users": args.users, "spawn_rate": args.spawn_rate, "run_time": args.run_time, "shape": args.shape,
              "processes": args.processes, "client": args.client, "max_requests": args.max_requests,
              "serial_phase": args.serial_time}
    return with_flags(load, values, {"serial_phase": "--serial-time"}, whole="load flags")


def _check_distribution_flags(args: argparse.Namespace) -> None:
    """Bad combinations of --master / --worker and their options are bad input (exit 2)."""
    master, worker = getattr(args, "master", False), getattr(args, "worker", False)
    if master and worker:
        raise BadInputError("--master and --worker exclude each other (run one process of each)")
    if worker and not args.master_host:
        raise BadInputError("--worker needs --master-host HOST (where `vdb-harness load --master` runs)")
    if master and args.expect_workers is None:
        raise BadInputError("--master needs --expect-workers N (how many workers to wait for)")
    if args.expect_workers is not None and not master:
        raise BadInputError("--expect-workers is a --master option")
    if args.expect_workers is not None and args.expect_workers < 1:
        raise BadInputError(f"--expect-workers: must be at least 1, got {args.expect_workers}")
    if master and args.expect_workers_timeout <= 0:
        raise BadInputError(f"--expect-workers-timeout: must be positive, got {args.expect_workers_timeout:g}")
    if (master or worker) and args.processes not in (None, 1):
        raise BadInputError("--processes runs local workers; with --master/--worker start one `--worker` "
                            "process per worker instead")
    if args.master_host and not worker:
        raise BadInputError("--master-host is a --worker option")
    for flag in ("master_bind_port", "master_port"):
        port = getattr(args, flag)
        if not 1 <= port <= 65535:
            raise BadInputError(f"--{flag.replace('_', '-')}: not a TCP port: {port}")
    if worker and (args.prepare_only or args.out):
        raise BadInputError("a --worker writes no result and prepares nothing (the master does): drop "
                            f"{'--prepare-only' if args.prepare_only else '--out'}")


def run_worker(args: argparse.Namespace) -> int:
    """``vdb-harness load --worker``: one Locust worker (``loadtests/locustfile.py``) for a remote master; returns
    its exit code. The master decides users and duration; this process generates load and ships its recording."""
    import sys
    import time

    from loadtests.runner import SpawnedProcess, worker_argv, worker_options
    from scenarios.loader import load_scenario, resolve_scenario_path

    scenario_path = resolve_scenario_path(args.scenario).resolve()
    scenario = load_scenario(scenario_path)
    profile = _profile(args, scenario.load)
    target = target_from_args(args, scenario)
    if target.target == "embedded":
        raise BadInputError("--worker needs the server's URI (--target http://HOST:PORT, as this machine reaches "
                            "it): a worker starts no server")
    opts = worker_options(str(scenario_path), profile.client, None, not args.no_recall, target.timeout,
                          profile.max_requests, target.token_env, target.db_name)
    argv = worker_argv(args.master_host, args.master_port, target.target, opts)
    print(f"vdb-harness load worker: {scenario.name} -> {target.target}, master {args.master_host}:"
          f"{args.master_port}", flush=True)
    # posix_spawn, never fork: this process has gRPC loaded under gevent (see SpawnedProcess)
    sys.stdout.flush()
    sys.stderr.flush()
    proc = SpawnedProcess(argv, stderr_fd=2, stdout_fd=1)
    try:
        while proc.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        proc.kill()
        raise
    code = int(proc.returncode or 0)
    if code == -1:  # reaped by gevent's child watcher: the code is unknown, the worker's own log tells
        return 0
    return code if code >= 0 else 1  # killed by a signal


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness load``; returns the exit code."""
    _check_distribution_flags(args)
    if args.worker:
        return run_worker(args)
    from loadtests.plan import load_plan
    from loadtests.prepare import prepare_collection
    from scenarios.loader import load_scenario, resolve_scenario_path, scenario_hash
    from vdb_harness.kernel.progress import progress_bar, quiet_client_logs
    from vdb_harness.kernel.results import new_result, recorded
    from scenarios.schema import describe_indexes
    from scenarios.targets import open_target

    console = make_console()
    scenario_path = resolve_scenario_path(args.scenario).resolve()
    scenario = load_scenario(scenario_path)
    profile = _profile(args, scenario.load)
    if profile.client == "lean":
        from loadtests.lean_requests import check_supported

        check_supported(scenario)
    target = target_from_args(args, scenario)
    from scenarios import engines

    engines.refuse_lacking(scenario, target)  # before any server starts
    out_dir = out_dir_from_args(args, f"{scenario.name}-load", scenario)
    quiet_client_logs()
    result = new_result("load", scenario={"name": scenario.name, "sha256": scenario_hash(scenario),
                                          "path": str(scenario_path)})
    load: dict[str, Any] = {"profile": profile.model_dump(mode="json"), "client": profile.client,
                            "processes": profile.processes, "indexes": describe_indexes(scenario), "phases": []}
    if args.master:
        load["distributed"] = {"master_bind": f"{args.master_bind_host}:{args.master_bind_port}",
                               "expect_workers": args.expect_workers}

    def written(path: Path) -> None:
        console.print(f"result: {path}")
        step_summary.append_results([path], f"vdb-harness load {scenario.name}")

    with recorded(result, out_dir, written):
        try:
            with open_target(target) as conn:
                result["target"] = conn.describe()
                result["target"]["server_version"] = _server_version(conn)
                with progress_bar(console, "dataset and ground truth") as tick:
                    plan = load_plan(scenario, scenario_path.parent, progress=tick,
                                     with_recall=not args.no_recall)
                engines.refuse_lacking(scenario, target, plan.dataset)
                result["dataset"] = {"name": plan.dataset.name, "fingerprint": plan.fingerprint,
                                     "rows": len(plan.dataset), "queries": plan.dataset.num_queries}
                from scenarios.model import check_runbook_pool

                try:
                    check_runbook_pool(scenario.runbook, len(plan.dataset))
                except ValueError as exc:
                    raise BadInputError(f"{scenario_path}: {exc}") from None
                if not args.no_prepare:
                    with progress_bar(console, f"preparing {scenario.collection.name}", unit="rows") as tick:
                        load["prepare"] = prepare_collection(conn, scenario, plan.dataset, tick,
                                                             allow_fallback=not args.no_index_fallback)
                    for entry in load["prepare"]["indexes"]:
                        if entry["rejected"]:
                            console.print(f"[yellow]{entry['rejected']}[/]; fell back to: {entry['fallback']}")
                            result["notes"].append(f"{entry['rejected']}; fell back to: {entry['fallback']}")
                if args.prepare_only:
                    result["status"] = "pass"
                    return EXIT_OK
                _run_phases(console, args, scenario, scenario_path, profile, plan, conn, load, result)
            load["slo"] = _slo(scenario, load)
            result["load"] = load
            result["status"] = "pass" if load["slo"]["ok"] else "fail"
            print_summary(console, load)
            return EXIT_OK if load["slo"]["ok"] else EXIT_FAILED
        finally:
            if "load" not in result and load.get("phases"):  # stopped early: keep the phases that ran
                load.setdefault("tasks", load["phases"][-1]["tasks"])
                result["load"] = load


def _server_version(conn: Any) -> Optional[str]:
    client = conn.sync_client()
    try:
        return str(client.get_server_version(timeout=min(conn.timeout, 10.0)))
    except Exception:  # noqa: BLE001 - informative only
        return None
    finally:
        client.close()


def _run_phases(console: Console, args: argparse.Namespace, scenario: Scenario, scenario_path: Path,
                profile: LoadSpec, plan: Any, conn: Any, load: dict[str, Any], result: dict[str, Any]) -> None:
    """The serial, concurrent and sweep phases. Each phase's data goes into ``load`` as soon as the phase ends, so
    a run stopped by a lost server (ServerLostError), a lost worker or Ctrl-C (KeyboardInterrupt) keeps it."""
    from loadtests.faults import InterruptFlag, ServerWatch
    from loadtests.live_view import LiveView
    from loadtests.result import concurrency_rows, phase_json
    from loadtests.shapes import StagesShape, shape_for, wait_time_for

    floor = scenario.slo.recall_floor
    max_requests = profile.max_requests or DEFAULT_MAX_REQUESTS
    score = not args.no_recall
    grace = parse_duration(profile.server_loss_grace)

    def gone(w: dict[str, Any]) -> str:
        if w["pid"] is None:  # a --worker on another machine: only its heartbeats are seen
            return f"Locust worker {w['worker']} stopped answering (heartbeats lost)"
        return f"Locust worker {w['worker']} (pid {w['pid']}) exited with code {w['exit_code']}"

    def worker_lost(entry: dict[str, Any]) -> None:
        console.print(f"[bold red]{gone(entry)} {entry['at_s']:.1f} s into the phase[/]; its data since its last "
                      f"report is missing; log: {entry['log']}")

    external = bool(getattr(args, "master", False))
    runbooks: list[Any] = []

    def phase(name: str, shape: StagesShape, wait: Any = None, params: Optional[dict] = None,
              processes: int = 1) -> Any:
        ctx = plan.context(conn, search_params=params, score_recall=score,
                           max_requests=math.ceil(max_requests / processes), processes=processes)
        background = None
        if name == "concurrent" and scenario.runbook is not None:
            from loadtests.runbook import RunbookDriver

            driver = RunbookDriver(scenario, plan.dataset, conn, ctx, ctx.plans)
            runbooks.append(driver)
            background = driver.run
        watch = ServerWatch(conn, profile.on_server_loss, grace)
        with LiveView(console, f"{scenario.name} {name}") as view, InterruptFlag() as interrupt:
            if processes > 1 or (external and name != "serial"):
                from loadtests.runner import run_distributed, worker_options

                opts = worker_options(str(scenario_path), profile.client, params, score, conn.timeout,
                                      math.ceil(max_requests / processes), getattr(args, "token_env", None)
                                      or scenario.target.token_env, conn.db_name)
                ctx.max_requests = None  # the master issues nothing; each worker is bounded
                if external:
                    console.print(f"master on {args.master_bind_host}:{args.master_bind_port}: waiting up to "
                                  f"{args.expect_workers_timeout:g} s for {processes} worker(s)")
                    return run_distributed(ctx, profile.client, shape, processes, opts, wait, name, view.tick,
                                           connect_timeout=args.expect_workers_timeout, watch=watch,
                                           interrupt=interrupt, on_worker_lost=worker_lost, external=True,
                                           bind_host=args.master_bind_host, bind_port=args.master_bind_port,
                                           background=background)
                return run_distributed(ctx, profile.client, shape, processes, opts, wait, name, view.tick,
                                       watch=watch, interrupt=interrupt, on_worker_lost=worker_lost,
                                       background=background)
            from loadtests.runner import run_local

            return run_local(ctx, profile.client, shape, wait, name, view.tick, watch=watch, interrupt=interrupt,
                             background=background)

    def main_phase(run: Any, pj: dict[str, Any]) -> None:
        """``run`` becomes the run's headline: tasks, totals, per-second series, outages."""
        for key in ("tasks", "duration_s", "totals", "stopped_by"):
            load[key] = pj[key]
        load["timeseries"] = run.context.recorder.timeseries(run.started,
                                                             lambda end: run.shape.users_at(end - run.started))
        # the shape's own span: after it the users stop, and those windows would read as a QPS drop
        load["intervals"] = run.context.recorder.intervals(run.started, min(run.finished,
                                                                            run.started + run.shape.duration))
        load["outages"] = run.outages
        load["recall_notes"] = dict(run.context.recall.notes)
        load["recall_timeseries"] = run.context.recall.timeseries(run.started)

    def finished(run: Any, pj: dict[str, Any], headline: bool) -> None:
        """Stop the run (keeping ``pj``) when the phase was cut short by a fault or Ctrl-C."""
        if not (run.server_lost or run.interrupted or run.workers_lost):
            return
        if headline or "tasks" not in load:
            main_phase(run, pj)
        if run.outages:
            spans = ", ".join(f"{o['start']:.1f}-{'?' if o['end'] is None else format(o['end'], '.1f')} s"
                              for o in run.outages)
            result["notes"].append(f"{run.name} phase: server outage(s) at {spans} (seconds since the phase start)")
        for w in run.workers_lost:
            result["notes"].append(f"{run.name} phase: {gone(w)} at {w['at_s']:.1f} s; missing: {w['missing']}; Locust "
                                   f"node(s) without a final report: {', '.join(w['nodes_without_final_report']) or 'none'}")
        if run.interrupted:
            raise KeyboardInterrupt
        if run.server_lost:
            from loadtests.faults import ServerLostError

            lost = run.server_lost
            raise ServerLostError(f"{lost['reason']} {lost['at'] - run.started:.1f} s into the {run.name} phase "
                                  f"(load.on_server_loss = {lost['policy']!r}); the partial result was kept")
        from vdb_harness.kernel.errors import InfrastructureError

        raise InfrastructureError(f"{len(run.workers_lost)} Locust worker(s) died during the {run.name} phase: "
                                  "the merged result misses their last data (see the result's notes)")

    serial_s = parse_duration(profile.serial_phase)
    if serial_s > 0:
        serial = phase("serial", StagesShape([(serial_s, 1)], 1.0))
        pj = phase_json(serial, floor)
        load["phases"].append(pj)
        finished(serial, pj, headline=False)
    workers = args.expect_workers if external else profile.processes
    concurrent = phase("concurrent", shape_for(profile), wait_time_for(profile), processes=workers)
    if runbooks:
        load["runbook"] = runbooks[0].section()
        load["runbook"]["offset_s"] = round(max(0.0, runbooks[0].started - concurrent.started), 3) \
            if runbooks[0].started else 0.0
        if not runbooks[0].completed:
            section = load["runbook"]
            why = section["error"] or "the concurrent phase ended first; lengthen load.run_time"
            result["notes"].append(f"runbook incomplete: {section['steps_run']} of {section['steps_total']} steps "
                                   f"ran ({why})")
    main = phase_json(concurrent, floor)
    load["phases"].append(main)
    main_phase(concurrent, main)
    finished(concurrent, main, headline=True)
    if profile.shape == "ladder":
        load["concurrency"] = concurrency_rows(concurrent)
    load["sweep"] = []
    if profile.sweep and not args.no_sweep and external:
        result["notes"].append("sweep skipped: a --master run drives its workers through the concurrent phase "
                               "only (run the sweep with --processes or on one machine)")
    elif profile.sweep and not args.no_sweep:
        point_time = parse_duration(args.sweep_time or profile.step_time)
        for params in profile.sweep:
            run = phase(f"sweep {params}", StagesShape([(point_time, profile.users)], profile.spawn_rate),
                        wait_time_for(profile), params=params, processes=profile.processes)
            pj = phase_json(run, floor)
            if run.server_lost or run.interrupted or run.workers_lost:
                load["phases"].append(pj)
                finished(run, pj, headline=False)
            for label, t in pj["tasks"].items():
                if t["recall"] is not None or (t["kind"] or "").endswith("search"):
                    load["sweep"].append({"search_params": params, "task": label, "qps": t["qps"],
                                          "recall": t["recall"]["mean"] if t["recall"] else None,
                                          "p99_ms": t["latency_ms"]["p99"]})


def _slo(scenario: Scenario, load: dict[str, Any]) -> dict[str, Any]:
    """The scenario's SLO checks, plus one that fails when the server had an outage (``on_server_loss =
    "continue"`` and it came back: the run finished, but it was not available throughout)."""
    from scenarios.slo import slo_checks

    verdict = slo_checks(scenario.slo, load.get("tasks", {}), load.get("duration_s") or 0.0)
    runbook = load.get("runbook")
    if runbook is not None:
        verdict["checks"].append({"name": "runbook", "task": None, "limit": runbook["steps_total"],
                                  "value": runbook["steps_run"], "ok": bool(runbook["completed"]),
                                  "detail": "every runbook step ran" if runbook["completed"] else
                                  f"runbook incomplete: {runbook['error'] or 'the phase ended first'}"})
        if not runbook["completed"]:
            verdict["ok"] = False
    outages = [o for p in load.get("phases", []) for o in p.get("outages", [])]
    if outages:
        down = sum((o["end"] if o["end"] is not None else o["start"]) - o["start"] for o in outages)
        verdict["checks"].append({"name": "outages", "task": None, "limit": 0, "value": len(outages),
                                  "ok": False, "detail": f"server unreachable for {down:.1f} s in total"})
        verdict["ok"] = False
    return verdict
