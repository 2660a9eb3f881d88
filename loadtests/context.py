"""What every user of a process shares during a run: the task plans, the recorder, the recall tracker, the bounds.

The context plugs into Locust's event bus like Locust's own stats do: :meth:`RunContext.attach` adds one
``request`` listener that feeds the HDR recorder and the recall tracker from the ``context`` of each request
event, and (on workers) ships the deltas to the master with ``report_to_master`` / a final message.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from loadtests.recall_tracker import RecallTracker
from loadtests.recorder import Recorder
from loadtests.tasks import TaskPlan
from scenarios.targets import Connection

#: Key of our data in a request event's ``context`` (events without it, e.g. other users', are ignored).
CONTEXT_KEY = "vdb"
#: Custom message a worker sends the master with its last delta when it stops.
FINAL_MESSAGE = "vdb_harness_final"


@dataclass
class RunContext:
    """Shared state of one load phase in one process."""

    plans: list[TaskPlan]
    conn: Connection
    recorder: Recorder = field(default_factory=Recorder)
    recall: RecallTracker = field(default_factory=lambda: RecallTracker({}))
    #: Score recall on every search response (off: measure the cost of scoring).
    score_recall: bool = True
    #: Stop issuing once this many requests were made by this process (None: no bound).
    max_requests: Optional[int] = None
    requests_issued: int = 0
    lanes: Any = field(default_factory=lambda: itertools.count())
    runner: Any = None
    _cumulative: list[float] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._cumulative = list(itertools.accumulate(p.weight for p in self.plans))
        for plan in self.plans:
            self.recorder.set_kind(plan.label, plan.kind.value)

    def pick(self) -> TaskPlan:
        """A task drawn with probability proportional to its weight."""
        if len(self.plans) == 1:
            return self.plans[0]
        r = self._rng.random() * self._cumulative[-1]
        return self.plans[bisect.bisect_right(self._cumulative, r)]

    def next_lane(self) -> int:
        """A write lane no other user of any process has (the worker index keeps processes apart)."""
        worker_index = int(getattr(self.runner, "worker_index", 0) or 0)  # known only once the master acked
        return worker_index * 1_000_000 + next(self.lanes)

    def budget_left(self) -> bool:
        """Count one more request; False once ``max_requests`` is used up."""
        self.requests_issued += 1
        return self.max_requests is None or self.requests_issued <= self.max_requests

    # ------------------------------------------------------------------ the event-bus side

    def on_request(self, request_type: str, name: str, response_time: float, response_length: int,
                   exception: Optional[BaseException] = None, context: Optional[dict] = None, **_: Any) -> None:
        """Locust ``request`` listener: HDR latency, errors and recall from our request events."""
        ours = context.get(CONTEXT_KEY) if context else None
        if ours is None:
            return
        started, seconds, code, queries, ids, *rest = ours  # rest: (call, lane) from our users
        self.recorder.record(name, started, seconds, code)
        if not rest:
            if ids is not None and self.score_recall:
                self.recall.score(name, queries, ids)
            return
        # Live truth: the answer is known to have arrived by now (never earlier than it did: the async user's
        # ``started + seconds`` can be, as its call starts later in the loop thread than ``started``)
        now = time.time()
        if ids is not None and self.score_recall:
            self.recall.score(name, queries, ids, started, now, rest[1])
        elif rest[0] is not None and rest[0].token is not None and self.recall.live is not None:
            self.recall.live.acked(rest[0].token, now, code is None)
            rest[0].token = None

    def attach(self, environment: Any) -> None:
        """Listen on ``environment``'s events; on a worker, also ship deltas to the master."""
        environment.events.request.add_listener(self.on_request)
        runner = self.runner = environment.runner
        from locust.runners import WorkerRunner

        if isinstance(runner, WorkerRunner):
            environment.events.report_to_master.add_listener(self._report_to_master)
            environment.events.test_stop.add_listener(lambda **_kw: self._flush_to_master(runner))

    def detach(self, environment: Any) -> None:
        """Stop listening (the next phase attaches its own context)."""
        environment.events.request.remove_listener(self.on_request)

    def take_delta(self) -> dict[str, Any]:
        """This process' recording since the last call, as plain data; the local record is reset."""
        data = {"recorder": self.recorder.snapshot(), "recall": self.recall.snapshot(),
                "recall_series": self.recall.series_snapshot(), "sent_at": time.time()}
        self.recorder.reset()
        self.recall.reset()
        return data

    def _report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        data[CONTEXT_KEY] = self.take_delta()

    def _flush_to_master(self, runner: Any) -> None:
        """Worker stopping: ship Locust's stats and our delta in one report now, before the worker tells the master
        it stopped, so the master has everything before it quits (Locust itself waits only 0.5 s at quit)."""
        send_stats = getattr(runner, "_send_stats", None)  # Locust's own flush; carries report_to_master data
        if callable(send_stats):
            send_stats()
        runner.send_message(FINAL_MESSAGE, self.take_delta())  # marks the final report (empty after the flush)

    def add_delta(self, data: dict[str, Any]) -> None:
        """Master side: merge a worker's delta."""
        self.recorder.merge(Recorder.from_snapshot(data["recorder"]))
        self.recall.merge_snapshot(data["recall"])
        if data.get("recall_series"):
            self.recall.merge_series(data["recall_series"])
