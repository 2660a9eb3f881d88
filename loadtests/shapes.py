"""Load shapes from the scenario's ``[load]`` section, as Locust ``LoadTestShape`` objects (each ends by itself).

``fixed``: ``users`` for ``run_time``. ``ladder``: each of ``steps`` users for ``step_time``. ``spike``:
``users``, then ``spike_users`` for ``spike_time`` in the middle of ``run_time``, then ``users`` again.
``arrival`` (open model): ``users`` users each paced by Locust's ``constant_throughput`` so that together they
offer ``rate`` requests/s (the users are a pool; if they cannot keep up, the achieved rate says so).
"""

from __future__ import annotations

from typing import Any, Optional

from locust import LoadTestShape, constant_throughput

from loadtests.stages import stages_for
from scenarios.model import LoadSpec


class StagesShape(LoadTestShape):
    """Users over time as a list of ``(until_seconds, users)`` stages; ``None`` (stop) after the last."""

    def __init__(self, stages: list[tuple[float, int]], spawn_rate: float) -> None:
        super().__init__()
        self.stages = stages
        self.spawn_rate = spawn_rate

    def tick(self) -> Optional[tuple[int, float]]:
        """Locust asks this every second: the users wanted now, or None to stop."""
        t = self.get_run_time()
        for until, users in self.stages:
            if t < until:
                return users, self.spawn_rate
        return None

    @property
    def duration(self) -> float:
        """Seconds until the shape stops."""
        return self.stages[-1][0] if self.stages else 0.0

    def users_at(self, t: float) -> int:
        """Users the shape wants ``t`` seconds in."""
        for until, users in self.stages:
            if t < until:
                return users
        return 0


def shape_for(load: LoadSpec, users: Optional[int] = None, run_time: Optional[str] = None,
              spawn_rate: Optional[float] = None) -> StagesShape:
    """The Locust shape for a scenario's load section."""
    return StagesShape(stages_for(load, users, run_time), spawn_rate or load.spawn_rate)


def wait_time_for(load: LoadSpec, users: Optional[int] = None) -> Any:
    """Locust wait time: pacing for the ``arrival`` shape (rate split over the users), else None (no wait)."""
    if load.shape != "arrival":
        return None
    return constant_throughput(load.rate / float(users or load.users))
