"""Bounded load steps on one prepared collection: what capacity searches and certification runs drive.

``open_session(scenario_path, target)`` reaches the target, builds the dataset and exact ground truth once,
prepares the collection once, and yields a :class:`LoadSession`; each ``session.step(users=...)`` or
``session.step(rate=...)`` runs one bounded Locust phase in this process and returns its ``load`` section.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from loadtests import gevent_grpc

gevent_grpc.enable()  # before any gRPC channel is opened

from loadtests.faults import ServerLostError, ServerWatch  # noqa: E402
from loadtests.plan import load_plan  # noqa: E402
from loadtests.prepare import prepare_collection  # noqa: E402
from loadtests.result import phase_json  # noqa: E402
from loadtests.runner import run_local  # noqa: E402
from loadtests.shapes import StagesShape  # noqa: E402
from scenarios.loader import load_scenario  # noqa: E402
from scenarios.model import Scenario, TargetSpec, parse_duration  # noqa: E402
from scenarios.targets import Connection, open_target  # noqa: E402

#: Requests one step may issue at most, whatever its length (every step also ends with its time).
STEP_MAX_REQUESTS = 5_000_000


class LoadSession:
    """One prepared collection on one target; :meth:`step` runs a bounded phase at a given load."""

    def __init__(self, scenario: Scenario, conn: Connection, plan: Any, prepare: dict[str, Any]) -> None:
        self.scenario, self.conn, self.plan, self.prepare = scenario, conn, plan, prepare
        self.steps = 0

    def describe(self) -> dict[str, Any]:
        """The result header: target and dataset."""
        return {"target": self.conn.describe(),
                "dataset": {"name": self.plan.dataset.name, "fingerprint": self.plan.fingerprint,
                            "rows": len(self.plan.dataset), "queries": self.plan.dataset.num_queries}}

    def step(self, *, users: Optional[int] = None, rate: Optional[float] = None, run_time_s: float = 10.0,
             search_params: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """Run ``users`` closed-model users, or an open-model ``rate`` in requests/s, for ``run_time_s``; return the
        step's ``load`` section (tasks, totals, duration). A lost server raises :class:`ServerLostError`."""
        from locust import constant_throughput

        load = self.scenario.load
        if rate is not None:
            n_users = max(1, min(int(math.ceil(rate / 5.0)), 1000))  # each user paces at most ~5 requests/s
            wait = constant_throughput(rate / n_users)
        else:
            n_users, wait = max(1, int(users or load.users)), None
        self.steps += 1
        ctx = self.plan.context(self.conn, search_params=search_params, score_recall=True,
                                max_requests=STEP_MAX_REQUESTS)
        watch = ServerWatch(self.conn, load.on_server_loss, parse_duration(load.server_loss_grace))
        run = run_local(ctx, load.client, StagesShape([(run_time_s, n_users)], max(load.spawn_rate, n_users)), wait,
                        f"step {self.steps}", None, watch=watch)
        section = phase_json(run, self.scenario.slo.recall_floor)
        section.update(offered={"users": n_users, "rate": rate}, search_params=search_params)
        if run.server_lost:
            raise ServerLostError(f"{run.server_lost['reason']} during capacity step {self.steps}")
        return section


@contextmanager
def open_session(scenario_path: str | Path, target: TargetSpec, client: Optional[str] = None) -> Iterator[LoadSession]:
    """Reach ``target``, build the scenario's dataset and ground truth, prepare its collection; yield a session.
    ``client`` (sync, async, lean) replaces the scenario's ``load.client``."""
    path = Path(scenario_path).resolve()
    scenario = load_scenario(path)
    if client is not None and client != scenario.load.client:
        scenario = scenario.model_copy(update={"load": scenario.load.model_copy(update={"client": client})})
    with open_target(target) as conn:
        plan = load_plan(scenario, path.parent, with_recall=True)
        prepare = prepare_collection(conn, scenario, plan.dataset)
        yield LoadSession(scenario, conn, plan, prepare)
