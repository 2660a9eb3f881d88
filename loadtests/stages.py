"""Users over time for each load shape, as ``(until_seconds, users)`` stages (plain data; no Locust import)."""

from __future__ import annotations

from typing import Optional

from scenarios.model import LoadSpec, parse_duration


def stages_for(load: LoadSpec, users: Optional[int] = None, run_time: Optional[str] = None) -> list[tuple[float, int]]:
    """The stages of the scenario's shape (``users`` / ``run_time`` override the scenario's)."""
    users = users or load.users
    total = parse_duration(run_time or load.run_time)
    if load.shape == "ladder":
        step = parse_duration(load.step_time)
        return [(step * (i + 1), n) for i, n in enumerate(load.steps)]
    if load.shape == "spike":
        spike = min(parse_duration(load.spike_time), total)
        before = (total - spike) / 2
        return [(before, users), (before + spike, load.spike_users), (total, users)]
    return [(total, users)]
