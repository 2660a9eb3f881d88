"""The regression gate: verdict logic, exit codes, and its false-alarm and detection rates on synthetic runs.

The rate study draws many seeded synthetic result sets (5 runs per side, 3 % run-to-run noise, 3 tasks x 4 metrics
per gate) with known effects: no change, noise only, and real regressions. Deterministic seeds, no timing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vdb_harness.cli import main
from reports.gate import run_gate
from reports.inputs import LoadedResult
from reports.inputs import load as inputs_load
from reports.policy import Policy
from reports.synthetic import conformance_result, load_result, run_set
from vdb_harness.kernel.results import write_result
from tests import scenario_files

TRIALS = 150
RUNS = 5
NOISE = 0.03
POLICY = Policy(bootstrap_resamples=400)


def _wrap(results: list[dict[str, Any]]) -> list[LoadedResult]:
    return [LoadedResult(Path(f"run{i}/result.json"), r) for i, r in enumerate(results)]


def _rate(noise: float, trials: int = TRIALS, runs: int = RUNS, **effects: Any) -> float:
    fails = 0
    for trial in range(trials):
        base = run_set(runs, 2 * trial, noise=noise, details=False)
        cand = run_set(runs, 2 * trial + 1, noise=noise, details=False, **effects)
        fails += run_gate(_wrap(base), _wrap(cand), POLICY).failed
    return fails / trials


def test_false_alarm_and_detection_rates(capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "no change (identical runs)": _rate(0.0, trials=5),
        "noise only (3 %)": _rate(NOISE),
        "real 10 % QPS drop": _rate(NOISE, qps_factor=0.90),
        "real 10 % p99 rise": _rate(NOISE, p99_factor=1.10),
        "real 0.02 recall drop": _rate(NOISE, recall_shift=-0.02),
        "real 2 % error rate": _rate(NOISE, error_rate=0.02),
        "small 2 % QPS drop (under the 5 % limit)": _rate(NOISE, qps_factor=0.98),
    }
    with capsys.disabled():
        print(f"\ngate rates over {TRIALS} seeded trials, {RUNS} runs per side, {NOISE:.0%} noise, "
              f"3 tasks x 5 metrics per gate (alpha {POLICY.alpha}):")
        for name, rate in cases.items():
            kind = "false alarms" if name.startswith(("no change", "noise")) else \
                "failed" if name.startswith("small") else "detected"
            print(f"  {name:45} {kind:12} {rate:6.1%}")
    assert cases["no change (identical runs)"] == 0.0
    assert cases["noise only (3 %)"] <= 0.05
    # a real 2 % drop is a gray zone: with 3 % noise the median of 5 runs often looks like > 5 %
    assert cases["small 2 % QPS drop (under the 5 % limit)"] <= 0.25
    for name in ("real 10 % QPS drop", "real 10 % p99 rise", "real 0.02 recall drop", "real 2 % error rate"):
        assert cases[name] >= 0.95, name


def test_verdict_lines_explain_each_metric() -> None:
    base = _wrap(run_set(5, 1))
    cand = _wrap(run_set(5, 2, qps_factor=0.8))
    verdict = run_gate(base, cand, Policy())
    qps = [l for l in verdict.lines if l.metric == "QPS"]
    assert {l.task for l in qps} == {"dense_search", "filtered_search", "insert"}
    assert all(l.status == "fail" and "regression" in l.text and "CI" in l.text and "p=" in l.text for l in qps)
    assert all("\n" not in l.render() for l in verdict.lines)
    recall = [l for l in verdict.lines if l.metric == "recall"]
    assert {l.task for l in recall} == {"dense_search", "filtered_search"}  # insert has no recall


def test_single_runs_use_thresholds_only() -> None:
    verdict = run_gate(_wrap([load_result(1, noise=0)]), _wrap([load_result(2, noise=0, qps_factor=0.9)]), Policy())
    qps = next(l for l in verdict.lines if l.metric == "QPS" and l.task == "dense_search")
    assert qps.status == "fail" and "too few runs" in qps.text
    verdict = run_gate(_wrap([load_result(1, noise=0)]), _wrap([load_result(2, noise=0, qps_factor=0.97)]), Policy())
    assert not verdict.failed


def test_policy_per_task_override_and_disable() -> None:
    policy = Policy.model_validate({"thresholds": {"recall_drop": False}, "tasks": {"insert": {"qps_drop": 0.5}}})
    assert policy.limit("insert", "qps") == 0.5 and policy.limit("dense_search", "qps") == 0.05
    assert policy.limit("dense_search", "recall") is None
    verdict = run_gate(_wrap(run_set(5, 1)), _wrap(run_set(5, 2, qps_factor=0.8, recall_shift=-0.1)), policy)
    assert not any(l.metric == "recall" for l in verdict.lines)
    assert next(l for l in verdict.lines if l.task == "insert" and l.metric == "QPS").status == "pass"


def test_new_conformance_divergence_fails_known_one_does_not() -> None:
    base = _wrap([conformance_result(["search"])])
    same = run_gate(base, _wrap([conformance_result(["search"])]), Policy())
    assert not same.failed
    new = run_gate(base, _wrap([conformance_result(["search", "upsert"], errors=["query"])]), Policy())
    failing = {l.metric for l in new.lines if l.status == "fail"}
    assert failing == {"upsert", "query"}


def _write(tmp: Path, name: str, results: list[dict[str, Any]]) -> list[str]:
    return [str(write_result(r, tmp / f"{name}{i}")) for i, r in enumerate(results)]


def test_cli_exit_codes_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path, "b", run_set(5, 1))
    good = _write(tmp_path, "g", run_set(5, 2))
    bad = _write(tmp_path, "r", run_set(5, 3, p99_factor=1.2))
    assert main(["gate", "--baseline", *base, "--candidate", *good, "--out", str(tmp_path / "g_out")]) == 0
    assert "gate: PASS" in capsys.readouterr().out
    assert main(["gate", "--baseline", *base, "--candidate", *bad, "--out", str(tmp_path / "r_out")]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "FAIL  dense_search  p99 latency" in out
    data = json.loads((tmp_path / "r_out" / "gate.json").read_text())
    assert data["verdict"] == "fail"
    assert "❌ **Regression**" in (tmp_path / "r_out" / "gate.md").read_text()


@pytest.mark.parametrize("problem", ["missing", "corrupt", "version", "policy", "policy_key", "nothing"])
def test_cli_bad_input_is_one_message_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             problem: str) -> None:
    base = _write(tmp_path, "b", [load_result(1)])
    cand = _write(tmp_path, "c", [load_result(2)])
    extra: list[str] = []
    named = cand[0]
    if problem == "missing":
        named = str(tmp_path / "nope.json")
        cand = [named]
    elif problem == "corrupt":
        Path(cand[0]).write_text('{"format": "vdb-harness/result", "vers')
    elif problem == "version":
        data = json.loads(Path(cand[0]).read_text())
        data["version"] = 7
        Path(cand[0]).write_text(json.dumps(data))
    elif problem in ("policy", "policy_key"):
        named = str(tmp_path / "gate.toml")
        Path(named).write_text("alpha = [" if problem == "policy" else "[thresholds]\nqps_dorp = 0.1\n")
        extra = ["--policy", named]
    elif problem == "nothing":
        base = _write(tmp_path, "y", [conformance_result()])  # load on one side, conformance on the other
        named = "nothing to compare"
    assert main(["gate", "--baseline", *base, "--candidate", *cand, *extra]) == 2
    err = capsys.readouterr().err
    assert named in err.replace("\n", "") and "Traceback" not in err
    if problem == "policy_key":
        assert "thresholds.qps_dorp" in err


# ---------------------------------------------------------------- single runs: block bootstrap over windows

import numpy as np  # noqa: E402

from reports.blockboot import block_length, circular_counts, histogram_percentile, interval_change  # noqa: E402
from reports.intervals import task_intervals  # noqa: E402
from reports.metrics import P99, QPS  # noqa: E402
from loadtests.recorder import BUCKET_BASE_US, BUCKETS_PER_OCTAVE, Recorder  # noqa: E402

SINGLE = Policy(bootstrap_resamples=500)


def _single(seed: int, **effects: Any) -> list[LoadedResult]:
    return _wrap([load_result(seed, noise=0.0, intervals=True, details=False, ar=0.3, **effects)])


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal()
    return x


def test_block_length_follows_the_autocorrelation() -> None:
    rng = np.random.default_rng(3)
    n = 400
    floor = round(1.5 * n ** (1 / 3))
    white = [block_length(rng.normal(size=n)) for _ in range(10)]
    sticky = [block_length(_ar1(rng, n, 0.9)) for _ in range(10)]
    assert max(white) <= floor + 1  # no memory: the floor of the rule
    assert min(sticky) > 1.5 * floor  # strong memory: much longer blocks (theory: about 38 here)
    assert block_length([5.0] * 30) == round(1.5 * 30 ** (1 / 3))
    assert block_length(rng.normal(size=9)) <= 3  # never fewer than three blocks per resample


def test_circular_block_resamples_keep_length_and_blocks() -> None:
    counts = circular_counts(20, 4, 300, np.random.default_rng(0))
    assert counts.shape == (300, 20) and (counts.sum(axis=1) == 20).all()
    # a block of 4 from a start s covers s..s+3 (wrapping): every window is used in some resample
    assert (counts.sum(axis=0) > 0).all()


def test_histogram_percentile_is_within_a_bucket_of_the_exact_value() -> None:
    rng = np.random.default_rng(1)
    lat_ms = rng.lognormal(np.log(12.0), 0.6, size=5000)
    rec = Recorder()
    for x in lat_ms:
        rec.record("t", 100.2, x / 1000.0)
    series = rec.intervals(100.0, 101.0)
    raw = series["tasks"]["t"]["latency"][0]
    hist = np.zeros(raw[0] + len(raw) - 1)
    hist[raw[0]:] = raw[1:]
    i = np.arange(hist.size, dtype=float)
    upper = BUCKET_BASE_US * 2 ** (i / BUCKETS_PER_OCTAVE) / 1000
    lower = np.where(i == 0, 0, BUCKET_BASE_US * 2 ** ((i - 1) / BUCKETS_PER_OCTAVE) / 1000)
    width = 2 ** (1 / BUCKETS_PER_OCTAVE) - 1  # about 4.4 %
    for pct in (50.0, 99.0):
        got = float(histogram_percentile(hist, lower, upper, pct)[0])
        assert got == pytest.approx(np.percentile(lat_ms, pct), rel=width)


def test_recorder_intervals_cover_the_run_and_mark_partial_windows() -> None:
    rec = Recorder()
    start = 1000.5
    for k in range(40):  # 4 requests per second for 10 s, one failure per second
        ts = start + k * 0.25
        rec.record("search", ts, 0.01, "milvus:1" if k % 4 == 0 else None)
    data = rec.intervals(start, start + 10.0)
    assert data["start_partial"] and data["end_partial"] and data["t0"] == 0.5
    task = data["tasks"]["search"]
    assert sum(task["requests"]) == 40 and sum(task["failures"]) == 10
    assert len(task["requests"]) == data["windows"] == 11
    assert all(sum(h[1:]) == r - f for h, r, f in zip(task["latency"], task["requests"], task["failures"]))
    result = load_result(0, details=False)
    result["load"]["intervals"] = data
    series = task_intervals(_wrap([result])[0], "search")
    assert series is not None and series.n == 9  # both partial edge windows dropped
    assert int(series.successes.sum()) == sum(task["requests"][1:-1]) - sum(task["failures"][1:-1])


def test_interval_change_measures_a_known_shift() -> None:
    base = task_intervals(_single(1)[0], "dense_search")
    slow = task_intervals(_single(2, qps_factor=0.7)[0], "dense_search")
    b, c, est, (lo, hi), blocks = interval_change(QPS, [base], [slow], resamples=500)
    assert 0.2 < est < 0.4 and lo < est < hi and lo > 0.05  # about 30 % worse, and surely so
    _b, _c, est, (lo, hi), _ = interval_change(P99, [base], [base], resamples=500)
    assert est == 0.0 and lo <= 0.0 <= hi


def _single_rate(trials: int, **effects: Any) -> float:
    return sum(run_gate(_single(2 * t), _single(2 * t + 1, **effects), SINGLE).failed
               for t in range(trials)) / trials


def test_single_run_gate_rates_on_synthetic_series(capsys: pytest.CaptureFixture[str]) -> None:
    """One run per side, 30 one-second windows, AR(0.3) window-level noise of 10 %, Poisson requests, lognormal
    latencies; 3 tasks x 4 interval metrics + recall per gate."""
    trials = 30
    cases = {"same configuration": _single_rate(trials),
             "20 % QPS drop": _single_rate(trials, qps_factor=0.8),
             "25 % latency rise": _single_rate(trials, p99_factor=1.25),
             "2 % error rate": _single_rate(trials, error_rate=0.02)}
    with capsys.disabled():
        print(f"\nsingle-run gate on synthetic interval series, {trials} trials:")
        for name, rate in cases.items():
            print(f"  {name:25} {'false alarms' if name.startswith('same') else 'detected':12} {rate:6.1%}")
    assert cases["same configuration"] <= 0.10
    for name in ("20 % QPS drop", "25 % latency rise", "2 % error rate"):
        assert cases[name] >= 0.95, name


def test_single_runs_use_intervals_and_say_so() -> None:
    verdict = run_gate(_single(5), _single(6, qps_factor=0.6), SINGLE)
    qps = next(l for l in verdict.lines if l.metric == "QPS" and l.task == "dense_search")
    assert qps.status == "fail" and "windows" in qps.text and "block" in qps.text
    assert qps.comparison is not None and qps.comparison.method == "intervals"
    recall = next(l for l in verdict.lines if l.metric == "recall" and l.task == "dense_search")
    assert "too few runs" in recall.text  # recall has no interval series: thresholds only


def test_intervals_policy_off_auto_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    off = run_gate(_single(5), _single(6), Policy(intervals="off"))
    assert all(l.comparison is None or l.comparison.method == "runs" for l in off.lines)
    # auto, series missing on one side: thresholds only, with a note naming the file
    bare = _wrap([load_result(7, noise=0.0, details=False)])
    auto = run_gate(_single(5), bare, SINGLE)
    assert any("no interval series" in n and "run0" in n for n in auto.notes)
    # auto, too few windows: a note
    short = _wrap([load_result(8, noise=0.0, intervals=True, details=False, duration_s=5)])
    assert any("fewer than min_intervals" in n for n in run_gate(_single(5), short, SINGLE).notes)
    # on: a result without the series is bad input, exit 2, naming the file
    base = _write(tmp_path, "b", [load_result(1, noise=0.0, intervals=True, details=False)])
    cand = _write(tmp_path, "c", [load_result(2, noise=0.0, details=False)])
    policy = tmp_path / "gate.toml"
    policy.write_text('intervals = "on"\n')
    assert main(["gate", "--baseline", *base, "--candidate", *cand, "--policy", str(policy)]) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert "intervals = \"on\"" in err and cand[0] in err and "Traceback" not in err
    policy.write_text('intervals = "sometimes"\n')
    assert main(["gate", "--baseline", *base, "--candidate", *base, "--policy", str(policy)]) == 2


def test_multi_run_sides_keep_the_rank_test_and_can_use_intervals() -> None:
    base = _wrap([load_result(10 + i, intervals=True, details=False) for i in range(5)])
    cand = _wrap([load_result(20 + i, intervals=True, details=False, qps_factor=0.8) for i in range(5)])
    auto = run_gate(base, cand, SINGLE)  # enough runs: Mann-Whitney as before
    qps = next(l for l in auto.lines if l.metric == "QPS" and l.task == "dense_search")
    assert qps.comparison.method == "runs" and "p=" in qps.text and qps.status == "fail"
    on = run_gate(base, cand, Policy(intervals="on", bootstrap_resamples=500))
    qps = next(l for l in on.lines if l.metric == "QPS" and l.task == "dense_search")
    assert qps.comparison.method == "intervals" and qps.comparison.n_baseline == 150 and qps.status == "fail"
    same = run_gate(base, _wrap([load_result(30 + i, intervals=True, details=False) for i in range(5)]),
                    Policy(intervals="on", bootstrap_resamples=500))
    assert not same.failed


def test_interval_series_follow_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install jsonschema to check results against the schema")
    from vdb_harness.kernel.results import SCHEMA_PATH

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    rec = Recorder()
    for k in range(50):
        rec.record("search", 10.3 + k * 0.1, 0.002 * (1 + k % 7), None if k % 9 else "milvus:1")
    doc = json.loads(json.dumps(load_result(3, intervals=True, details=False)))
    doc["load"]["intervals"] = json.loads(json.dumps(rec.intervals(10.3, 15.3)))
    assert not list(validator.iter_errors(doc)), [e.message for e in validator.iter_errors(doc)]
    doc["load"]["intervals"]["tasks"]["search"]["latency"][0] = [-1, 2]
    assert list(validator.iter_errors(doc))


GATE_SCENARIO = scenario_files.scenario_text(
    "gate_pair", rows=1500, queries=50, dim=16, seed=2, workload={"top_k": 5},
    load={"users": 2, "spawn_rate": 50, "run_time": "14s"})


@pytest.mark.server
@pytest.mark.slow  # two real runs; on a machine shared with other heavy jobs a same-config pair can truly differ
def test_two_real_single_runs_of_one_configuration_pass_the_gate(milvus: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    scenario = tmp_path / "gate_pair.toml"
    scenario.write_text(GATE_SCENARIO)
    cli = [sys.executable, "-m", "vdb_harness.cli", "load", str(scenario), "--target", milvus.uri]
    prep = subprocess.run([*cli, "--prepare-only", "--out", str(tmp_path / "prep")], capture_output=True, text=True,
                          timeout=300)
    assert prep.returncode == 0, prep.stderr[-2000:]
    for side in ("base", "cand"):
        proc = subprocess.run([*cli, "--no-prepare", "--no-sweep", "--serial-time", "0s", "--out",
                               str(tmp_path / side)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    verdict = run_gate(inputs_load([tmp_path / "base"]), inputs_load([tmp_path / "cand"]), Policy())
    qps = next(l for l in verdict.lines if l.metric == "QPS")
    assert qps.comparison is not None and qps.comparison.method == "intervals"
    assert qps.comparison.n_baseline >= 10
    assert not verdict.failed, "\n".join(l.render() for l in verdict.lines)
