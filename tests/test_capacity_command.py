"""`vdb-harness capacity` wired to a fake load runner (our code, standing in for loadtests.step.open_session)."""

from __future__ import annotations

import contextlib
import json
import sys
import types
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from vdb_harness.cli import main
from reports.synthetic import load_result
from scenarios.loader import resolve_scenario_path



class FakeSession:
    """QPS = 100/user up to 1000; p99 = 5 ms / (1 - utilisation); recall falls with a smaller ef."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def describe(self) -> dict[str, Any]:
        return {"target": {"uri": "http://127.0.0.1:19530", "server_version": "2.5.4"},
                "dataset": {"name": "seed", "fingerprint": "abc", "rows": 100, "queries": 10}}

    def step(self, *, run_time_s: float, users: Optional[int] = None, rate: Optional[float] = None,
             search_params: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        self.steps.append({"users": users, "rate": rate, "run_time_s": run_time_s, "search_params": search_params})
        ef = (search_params or {}).get("ef", 64)
        capacity = 1000.0 * 64 / ef
        offered = (users or 0) * 100.0 if users else rate or 0.0
        rho = min(offered / capacity, 0.995)
        section = load_result(0, noise=0.0, tasks=("dense_search",), details=False)["load"]
        task = section["tasks"]["dense_search"]
        task["qps"] = min(offered, capacity)
        task["latency_ms"]["p99"] = 5.0 / (1 - rho)
        task["recall"]["mean"] = 1 - 2.0 / ef
        return section


@pytest.fixture
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> FakeSession:
    session = FakeSession()
    module = types.ModuleType("loadtests.step")

    @contextlib.contextmanager
    def open_session(scenario_path: Path, target: Any) -> Iterator[FakeSession]:
        assert scenario_path.exists() and target.target == "embedded"
        yield session

    module.open_session = open_session  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "loadtests.step", module)
    return session


def _scenario(tmp_path: Path, slo: str = "p99_ms = 30.0\n", sweep: str = "") -> str:
    text = resolve_scenario_path("seed_tutorial").read_text()
    head, _, tail = text.partition("[slo]")
    tail = "\n".join(line for line in tail.splitlines()[1:] if line.startswith("["))  # drop the old SLO keys
    text = head.replace("[load]\n", f"[load]\n{sweep}") + "[slo]\n" + slo + tail
    path = tmp_path / "cap.toml"
    path.write_text(text)
    return str(path)


def test_capacity_finds_the_limit_and_writes_result_and_report(tmp_path: Path, fake_runner: FakeSession) -> None:
    out = tmp_path / "out"
    assert main(["capacity", _scenario(tmp_path), "--step-time", "2s", "--tolerance", "0", "--out", str(out)]) == 0
    data = json.loads((out / "result.json").read_text())
    cap = data["capacity"]
    # p99 = 5/(1 - u/10) <= 30  <=>  u <= 8.33: 8 users, 800 QPS
    assert data["kind"] == "capacity" and data["status"] == "pass"
    assert cap["max_sustainable"]["offered"] == 8 and cap["max_sustainable"]["qps"] == pytest.approx(800)
    assert cap["first_breaking"] == {"offered": 9, "broken": ["p99_ms"]}
    assert cap["knee"] is not None and data["target"]["server_version"] == "2.5.4"
    assert all(s["run_time_s"] == 2.0 for s in fake_runner.steps)
    assert "<svg" in (out / "report.html").read_text()
    assert main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0


def test_sweep_searches_each_parameter_set(tmp_path: Path, fake_runner: FakeSession) -> None:
    scenario = _scenario(tmp_path, sweep='sweep = [{ef = 32}, {ef = 128}]\n')
    out = tmp_path / "out"
    assert main(["capacity", scenario, "--sweep", "--step-time", "1s", "--out", str(out)]) == 0
    per = json.loads((out / "result.json").read_text())["capacity"]["per_params"]
    assert [p["search_params"] for p in per] == [{"ef": 32}, {"ef": 128}]
    assert per[0]["max_qps"] > per[1]["max_qps"] and per[0]["recall"] < per[1]["recall"]


def test_no_sustainable_load_exits_1(tmp_path: Path, fake_runner: FakeSession) -> None:
    out = tmp_path / "out"
    assert main(["capacity", _scenario(tmp_path, slo="p99_ms = 1.0\n"), "--step-time", "1s", "--out", str(out)]) == 1
    assert json.loads((out / "result.json").read_text())["status"] == "fail"


def test_rate_unit_and_bad_input(tmp_path: Path, fake_runner: FakeSession, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["capacity", _scenario(tmp_path), "--unit", "rate", "--start", "100", "--step-time", "1s",
                 "--out", str(out)]) == 0
    assert fake_runner.steps[0] == {"users": None, "rate": 100.0, "run_time_s": 1.0, "search_params": None}
    assert main(["capacity", _scenario(tmp_path, slo=""), "--out", str(out)]) == 2
    assert "needs an [slo] section" in capsys.readouterr().err


def test_missing_runner_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "loadtests.step", None)  # import fails
    assert main(["capacity", _scenario(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "loadtests.step.open_session" in err and "Traceback" not in err
