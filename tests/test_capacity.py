"""Capacity search over a fake server model (our own code, deterministic): ramp, bisection, knee, noise."""

from __future__ import annotations

import numpy as np
import pytest

from vdb_harness.jobs.capacity import StepResult, broken_slos, find_capacity, knee_index, step_from_load, to_section
from reports.synthetic import load_result
from scenarios.model import SloSpec


class FakeServer:
    """An M/M/c-like server: QPS grows with users until ``capacity`` QPS, then latency explodes."""

    def __init__(self, capacity: float = 1000.0, per_user: float = 100.0, base_ms: float = 5.0,
                 noise: float = 0.0, seed: int = 0, fail_above: float | None = None) -> None:
        self.capacity, self.per_user, self.base_ms, self.noise = capacity, per_user, base_ms, noise
        self.rng = np.random.default_rng(seed)
        self.fail_above = fail_above
        self.calls: list[float] = []

    def __call__(self, users: float) -> StepResult:
        self.calls.append(users)
        offered = users * self.per_user
        rho = min(offered / self.capacity, 0.995)
        qps = min(offered, self.capacity * 0.995)
        p99 = self.base_ms / (1 - rho) * (self.rng.lognormal(0, self.noise) if self.noise else 1.0)
        err = 0.05 if self.fail_above is not None and users > self.fail_above else 0.0
        return StepResult(users, qps, p99, err, 0.95)


def test_ramp_then_bisect_finds_the_highest_load_keeping_p99() -> None:
    server = FakeServer()
    cap = find_capacity(server, SloSpec(p99_ms=50.5), start=1, max_load=256, tolerance=0.0)
    # p99 = 5/(1 - u/10) <= 50.5  <=>  u <= 9.0
    assert cap.best is not None and cap.best.result.offered == 9
    assert cap.first_breaking is not None and cap.first_breaking.result.offered == 10
    assert [s.phase for s in cap.steps][:5] == ["ramp"] * 5  # 1, 2, 4, 8, 16
    assert server.calls[:5] == [1, 2, 4, 8, 16] and len(server.calls) <= 9


def test_error_rate_and_recall_floor_break_too() -> None:
    cap = find_capacity(FakeServer(fail_above=5), SloSpec(max_error_rate=0.01), start=1, max_load=64, tolerance=0)
    assert cap.best.result.offered == 5 and cap.first_breaking.broken == ["error_rate"]
    low_recall = lambda u: StepResult(u, u * 10, 1.0, 0.0, 0.8)  # noqa: E731
    cap = find_capacity(low_recall, SloSpec(recall_floor=0.9), start=4, max_load=64)
    assert cap.best is None and all(s.broken == ["recall_floor"] for s in cap.steps)
    assert [s.result.offered for s in cap.steps] == [4, 2, 1]  # stepped down to the minimum, then gave up


def test_never_breaking_stops_at_the_maximum() -> None:
    cap = find_capacity(FakeServer(capacity=1e9), SloSpec(p99_ms=50), start=1, max_load=20)
    assert [s.result.offered for s in cap.steps] == [1, 2, 4, 8, 16, 20]
    assert cap.first_breaking is None and cap.best.result.offered == 20


def test_step_budget_is_kept_and_rate_loads_are_continuous() -> None:
    server = FakeServer(per_user=1.0)
    cap = find_capacity(server, SloSpec(p99_ms=50), start=10, max_load=1e6, integer=False, tolerance=0.01,
                        max_steps=12)
    assert len(cap.steps) == 12
    assert 850 < cap.best.result.offered <= 900  # the true limit is a rate of 900/s


def test_confirm_ignores_one_noisy_break() -> None:
    results = iter([StepResult(1, 10, 10), StepResult(2, 20, 99), StepResult(2, 20, 10), StepResult(4, 40, 99),
                    StepResult(4, 40, 99), StepResult(3, 30, 10)])
    cap = find_capacity(lambda u: next(results), SloSpec(p99_ms=50), start=1, max_load=8, confirm=1)
    assert cap.best.result.offered == 3 and cap.first_breaking.result.offered == 4


def test_knee_of_a_latency_curve() -> None:
    xs = [1, 2, 4, 6, 8, 9, 9.5]
    ys = [5 / (1 - x / 10) for x in xs]
    i = knee_index(xs, ys)
    assert i is not None and xs[i] in (8, 9)
    assert knee_index([1, 2, 3], [1, 2, 3]) is None  # a straight line has no knee
    assert knee_index([1, 2], [1, 5]) is None


def test_section_and_step_from_load() -> None:
    slo = SloSpec(p99_ms=50.0)
    cap = find_capacity(FakeServer(), slo, start=1, max_load=64)
    section = to_section(cap, slo, "users")
    assert section["max_sustainable"]["offered"] == cap.best.result.offered
    assert section["knee"] is not None and section["steps"][0]["phase"] == "ramp"
    step = step_from_load(8, load_result(1, error_rate=0.01)["load"])
    assert step.qps == pytest.approx(730, rel=0.05) and 50 < step.p99_ms < 70  # the slowest task (insert)
    assert step.error_rate == pytest.approx(0.01, abs=0.005) and 0.9 < step.recall < 0.95
    assert broken_slos(StepResult(1, None, None), SloSpec(p99_ms=1, max_error_rate=0.1)) == ["p99_ms", "error_rate"]
