"""Milvus load users for plain Locust: ``locust -f loadtests/locustfile.py --vdb-scenario SCENARIO --host URI``.

The web UI, CSV and HTML reports work as with any Locust file; distributed runs use Locust's own engine
(``--master`` / ``--worker``, ``--processes N``). The collection must already be prepared (``vdb-harness load``
prepares it; or run ``vdb-harness load SCENARIO --prepare-only --target URI``). Options:

  --vdb-scenario FILE|NAME   the scenario (required)
  --vdb-client sync|async    MilvusClient (default) or AsyncMilvusClient
  --vdb-search-params JSON   override every search task's search params (a sweep point)
  --vdb-no-recall            do not score recall (measures its cost)
  --vdb-max-requests N       this process stops after N requests
  --vdb-timeout S            per-call client timeout (default 30)
"""

from __future__ import annotations

import json
import os
from typing import Any

from loadtests import gevent_grpc

gevent_grpc.enable()

from locust import events  # noqa: E402

from loadtests.users import MilvusAsyncUser, MilvusSyncUser  # noqa: E402


class MilvusSyncLoadUser(MilvusSyncUser):
    """The scenario's workload through MilvusClient."""

    abstract = False


class MilvusAsyncLoadUser(MilvusAsyncUser):
    """The scenario's workload through AsyncMilvusClient."""

    abstract = False


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("vdb-harness")
    group.add_argument("--vdb-scenario", default=os.environ.get("VDB_HARNESS_SCENARIO"), help="scenario file or name")
    group.add_argument("--vdb-client", choices=["sync", "async"], default="sync")
    group.add_argument("--vdb-search-params", default=None, help="JSON search params for every search task")
    group.add_argument("--vdb-no-recall", action="store_true", default=False)
    group.add_argument("--vdb-max-requests", type=int, default=None)
    group.add_argument("--vdb-timeout", type=float, default=30.0)
    group.add_argument("--vdb-db", default="default")
    group.add_argument("--vdb-token-env", default=None)


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    from locust.runners import MasterRunner

    options = environment.parsed_options
    chosen = MilvusAsyncLoadUser if options.vdb_client == "async" else MilvusSyncLoadUser
    environment.user_classes[:] = [chosen]
    environment.user_classes_by_name = {chosen.__name__: chosen}
    if isinstance(environment.runner, MasterRunner):
        return  # a plain `locust --master` only dispatches; the workers build the plans
    if not options.vdb_scenario:
        raise SystemExit("loadtests/locustfile.py needs --vdb-scenario FILE (or VDB_HARNESS_SCENARIO)")
    if not environment.host:
        raise SystemExit("loadtests/locustfile.py needs --host http://HOST:PORT of the Milvus server")
    from loadtests.plan import load_plan
    from scenarios.loader import load_scenario, resolve_scenario_path
    from scenarios.progress import quiet_client_logs
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
    ctx.attach(environment)
    chosen.context = ctx
