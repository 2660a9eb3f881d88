"""Milvus load users for plain Locust: ``locust -f loadtests/locustfile.py --vdb-scenario SCENARIO --host URI``.

The web UI, CSV and HTML reports work as with any Locust file; distributed runs use Locust's own engine
(``--master`` / ``--worker``, ``--processes N``). The collection must already be prepared (``vdb-harness load``
prepares it; or run ``vdb-harness load SCENARIO --prepare-only --target URI``). Options:

  --vdb-scenario FILE|NAME   the scenario (required)
  --vdb-client sync|async|lean  MilvusClient (default), AsyncMilvusClient, or prebuilt requests on the gRPC stub
  --vdb-search-params JSON   override every search task's search params (a sweep point)
  --vdb-no-recall            do not score recall (measures its cost)
  --vdb-max-requests N       this process stops after N requests
  --vdb-timeout S            per-call client timeout (default 30)
  --vdb-out DIR              write the harness' own summary (HDR latency, recall, errors per task) at the end:
                             DIR/master.json or DIR/local.json, and DIR/worker-<index>.json from each worker
"""

from __future__ import annotations

import json
import os
from typing import Any

from loadtests import gevent_grpc

gevent_grpc.enable()

from locust import events  # noqa: E402

from loadtests.lean import MilvusLeanUser  # noqa: E402
from loadtests.users import MilvusAsyncUser, MilvusSyncUser  # noqa: E402


class MilvusSyncLoadUser(MilvusSyncUser):
    """The scenario's workload through MilvusClient."""

    abstract = False


class MilvusAsyncLoadUser(MilvusAsyncUser):
    """The scenario's workload through AsyncMilvusClient."""

    abstract = False


class MilvusLeanLoadUser(MilvusLeanUser):
    """The scenario's workload as prebuilt requests on the gRPC stub (a load generator for the server)."""

    abstract = False


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("vdb-harness")
    group.add_argument("--vdb-scenario", default=os.environ.get("VDB_HARNESS_SCENARIO"), help="scenario file or name")
    group.add_argument("--vdb-client", choices=["sync", "async", "lean"], default="sync")
    group.add_argument("--vdb-search-params", default=None, help="JSON search params for every search task")
    group.add_argument("--vdb-no-recall", action="store_true", default=False)
    group.add_argument("--vdb-max-requests", type=int, default=None)
    group.add_argument("--vdb-timeout", type=float, default=30.0)
    group.add_argument("--vdb-db", default="default")
    group.add_argument("--vdb-token-env", default=None)
    group.add_argument("--vdb-out", default=None, help="directory for the harness' own per-process summary")


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    from locust.runners import MasterRunner

    options = environment.parsed_options
    chosen = {"async": MilvusAsyncLoadUser, "lean": MilvusLeanLoadUser}.get(options.vdb_client, MilvusSyncLoadUser)
    environment.user_classes[:] = [chosen]
    if isinstance(environment.runner, MasterRunner):
        _merge_on_master(environment)  # the master issues nothing: it sums what the workers ship
        return
    if not options.vdb_scenario:
        raise SystemExit("loadtests/locustfile.py needs --vdb-scenario FILE (or VDB_HARNESS_SCENARIO)")
    if not environment.host:
        raise SystemExit("loadtests/locustfile.py needs --host http://HOST:PORT of the Milvus server")
    from loadtests.plan import load_plan
    from scenarios.loader import load_scenario, resolve_scenario_path
    from vdb_harness.kernel.progress import quiet_client_logs
    from scenarios.targets import Connection, read_token

    quiet_client_logs()
    path = resolve_scenario_path(options.vdb_scenario)
    scenario = load_scenario(path)
    plan = load_plan(scenario, path.parent, with_recall=not options.vdb_no_recall)
    conn = Connection(uri=environment.host, db_name=options.vdb_db, timeout=options.vdb_timeout,
                      token=read_token(options.vdb_token_env))
    params = json.loads(options.vdb_search_params) if options.vdb_search_params else None
    ctx = plan.context(conn, search_params=params, score_recall=not options.vdb_no_recall,
                       max_requests=options.vdb_max_requests)
    if options.vdb_client == "lean":
        from loadtests.lean_requests import check_plans
        from vdb_harness.kernel.errors import BadInputError

        try:
            check_plans(ctx.plans)
        except BadInputError as exc:
            raise SystemExit(str(exc)) from None
    ctx.attach(environment)
    chosen.context = ctx
    from locust.runners import WorkerRunner

    if isinstance(environment.runner, WorkerRunner):
        _answer_stop_and_flush(environment)
    if options.vdb_out:
        _write_at_exit(environment, ctx)


def _summary_path(environment: Any, name: str) -> Any:
    from pathlib import Path

    return Path(environment.parsed_options.vdb_out) / name


def _merge_on_master(environment: Any) -> None:
    from loadtests.context import FINAL_MESSAGE, RunContext
    from scenarios.targets import Connection

    ctx = RunContext(plans=[], conn=Connection(uri=environment.host or ""))
    environment.events.worker_report.add_listener(
        lambda client_id, data: ctx.add_delta(data["vdb"]) if "vdb" in data else None)
    environment.runner.register_message(FINAL_MESSAGE, lambda environment, msg, **_kw: ctx.add_delta(msg.data))
    if environment.parsed_options.vdb_out:
        environment.events.quitting.add_listener(
            lambda **_kw: _write_summary(_summary_path(environment, "master.json"), ctx))
    if getattr(environment.parsed_options, "headless", False):
        acked: set[str] = set()
        environment.runner.register_message(STOPPED_ACK, lambda environment, msg, **_kw: acked.add(msg.node_id))
        environment.events.test_stopping.add_listener(lambda **_kw: _stop_workers_first(environment, acked))


#: Master -> workers: stop your users and flush (a timed headless run); workers answer STOPPED_ACK after the flush.
STOP_AND_FLUSH = "vdb_harness_stop_and_flush"
STOPPED_ACK = "vdb_harness_stopped"


def _stop_workers_first(environment: Any, acked: set[str], timeout_s: float = 30.0) -> None:
    """Headless master: a timed run ends with Locust's quit, which gives workers only 0.5 s for their last report.
    Ask every worker to stop its users first (which flushes Locust's stats and ours) and wait, bounded, for each
    to acknowledge; its last report arrives before its acknowledgement."""
    import time

    import gevent

    runner = environment.runner
    expected = {client.id for client in runner.clients.all}
    runner.send_message(STOP_AND_FLUSH, None)
    deadline = time.monotonic() + timeout_s
    while not expected <= acked and time.monotonic() < deadline:
        gevent.sleep(0.05)


def _answer_stop_and_flush(environment: Any) -> None:
    """Worker: on the master's request, stop the users (test_stop flushes the stats), then acknowledge."""
    def handler(environment: Any, msg: Any, **_kw: Any) -> None:
        runner = environment.runner
        runner.stop()
        runner.send_message(STOPPED_ACK, None)

    environment.runner.register_message(STOP_AND_FLUSH, handler)


def _write_at_exit(environment: Any, ctx: Any) -> None:
    from locust.runners import WorkerRunner

    if isinstance(environment.runner, WorkerRunner):
        # deltas leave with every report; keep a running total of what was shipped for the worker's own file
        from loadtests.recall_tracker import RecallTracker
        from loadtests.recorder import Recorder

        shipped = type(ctx)(plans=[], conn=ctx.conn, recorder=Recorder(), recall=RecallTracker({}))
        take = ctx.take_delta

        def take_and_keep() -> dict:
            data = take()
            shipped.add_delta(data)
            return data

        ctx.take_delta = take_and_keep  # type: ignore[method-assign]
        environment.events.quitting.add_listener(lambda **_kw: _write_summary(
            _summary_path(environment, f"worker-{environment.runner.worker_index}.json"), shipped))
    else:
        environment.events.quitting.add_listener(
            lambda **_kw: _write_summary(_summary_path(environment, "local.json"), ctx))


def _write_summary(path: Any, ctx: Any) -> None:
    import json as _json

    from vdb_harness.kernel.results import atomic_write_text

    summary = {label: {"requests": rec.requests, "failures": rec.failures, "errors_by_code": rec.errors,
                       "hdr_count": rec.histogram.get_total_count(), "latency_ms": rec.latency_ms(),
                       "recall": (ctx.recall.stats[label].summary() if label in ctx.recall.stats else None)}
               for label, rec in ctx.recorder.tasks.items()}
    atomic_write_text(path, _json.dumps({"tasks": summary, "recorder": ctx.recorder.snapshot(),
                                         "recall": ctx.recall.snapshot()}, indent=1))
