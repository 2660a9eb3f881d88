"""Synthetic result files with known effects, for tests, demos and the gate's false-alarm/detection study.

Every generator is deterministic in its ``seed``. Effects are exact multipliers/offsets on the true values; noise
is per run (multiplicative lognormal for QPS and latency, normal for recall, binomial for failures), as run-to-run
variation on a real server looks.
"""

from __future__ import annotations

import copy
import functools
import uuid
from typing import Any, Optional, Sequence

import numpy as np

from scenarios.model import SloSpec
from vdb_harness.kernel.results import new_result
from scenarios.slo import slo_checks


@functools.lru_cache(maxsize=None)
def _template(kind: str) -> dict[str, Any]:
    return new_result(kind)  # the environment fingerprint is slow to take: once per process


def _header(kind: str, **sections: Any) -> dict[str, Any]:
    result = copy.deepcopy(_template(kind))
    result["run_id"] = uuid.uuid4().hex
    result.update(sections)
    return result

#: task label -> (kind, qps, p50 ms, p99 ms, recall or None)
BASE_TASKS: dict[str, tuple[str, float, float, float, Optional[float]]] = {
    "dense_search": ("dense_search", 400.0, 9.0, 25.0, 0.97),
    "filtered_search": ("filtered_search", 250.0, 14.0, 40.0, 0.93),
    "insert": ("insert", 80.0, 20.0, 60.0, None),
}


def _recall_block(rng: np.random.Generator, mean: float, count: int, floor: float = 0.8) -> dict[str, Any]:
    per_query = np.clip(rng.beta(mean * 30, (1 - mean) * 30, size=count), 0, 1)
    counts, edges = np.histogram(per_query, bins=20, range=(0.0, 1.0))
    return {"mean": float(per_query.mean()), "p5": float(np.percentile(per_query, 5)), "min": float(per_query.min()),
            "below_floor": int((per_query < floor).sum()), "count": count,
            "histogram": {"edges": edges.round(4).tolist(), "counts": counts.tolist()}}


def interval_series(rng: np.random.Generator, qps: float, p50_ms: float, p99_ms: float, windows: int, *,
                    window_noise: float = 0.1, ar: float = 0.5, error_rate: float = 0.0,
                    tail_burst: Optional[tuple[int, int, float]] = None) -> dict[str, Any]:
    """One task's ``load.intervals.tasks`` entry: ``windows`` 1-second windows whose level follows an AR(1)
    process (coefficient ``ar``, stationary relative spread ``window_noise``) that slows latency and QPS
    together; requests are Poisson, latencies lognormal with the given median and p99 (before the level).
    ``tail_burst = (first, last, factor)`` multiplies the latencies of those windows (a transient stall)."""
    from loadtests.recorder import _bucket

    innov = window_noise * np.sqrt(max(1e-12, 1 - ar * ar))
    level = np.empty(windows)
    level[0] = rng.normal(0, window_noise)
    for i in range(1, windows):
        level[i] = ar * level[i - 1] + rng.normal(0, innov)
    sigma = max(1e-6, np.log(p99_ms / p50_ms) / 2.3263)
    requests, failures, latency = [], [], []
    for i in range(windows):
        f = float(np.exp(level[i]))
        n = int(rng.poisson(qps / f))
        bad = int(rng.binomial(n, error_rate)) if error_rate else 0
        lat_us = p50_ms * 1000.0 * f * np.exp(rng.normal(0, sigma, size=n - bad))
        if tail_burst is not None and tail_burst[0] <= i <= tail_burst[1]:
            lat_us = lat_us * tail_burst[2]
        counts: dict[int, int] = {}
        for b in (_bucket(float(u)) for u in lat_us):
            counts[b] = counts.get(b, 0) + 1
        requests.append(n)
        failures.append(bad)
        if counts:
            lo, hi = min(counts), max(counts)
            latency.append([lo] + [counts.get(b, 0) for b in range(lo, hi + 1)])
        else:
            latency.append([])
    return {"requests": requests, "failures": failures, "latency": latency}


def load_result(seed: int = 0, *, qps_factor: float = 1.0, p99_factor: float = 1.0, recall_shift: float = 0.0,
                error_rate: float = 0.0, noise: float = 0.03, duration_s: float = 30.0,
                tasks: Sequence[str] = tuple(BASE_TASKS), scenario: str = "synthetic",
                details: bool = True, intervals: bool = False, window_noise: float = 0.1,
                ar: float = 0.5) -> dict[str, Any]:
    """A ``load`` result: true values scaled by the effects, plus seeded per-run noise of relative size ``noise``.
    With ``intervals``, also ``load.intervals`` (1-second windows, see :func:`interval_series`)."""
    rng = np.random.default_rng(seed)
    section: dict[str, Any] = {"profile": {"shape": "fixed", "users": 8, "run_time": f"{duration_s:g}s",
                                           "client": "sync", "processes": 1},
                               "duration_s": duration_s, "tasks": {}, "timeseries": []}
    if intervals:
        from loadtests.recorder import BUCKET_BASE_US, BUCKETS_PER_OCTAVE

        section["intervals"] = {"window_s": 1.0, "t0": 1.0, "windows": int(duration_s), "start_partial": False,
                                "end_partial": False, "tasks": {},
                                "buckets": {"base_us": BUCKET_BASE_US, "per_octave": BUCKETS_PER_OCTAVE}}
    for label in tasks:
        kind, qps, p50, p99, recall = BASE_TASKS[label]
        q = qps * qps_factor * rng.lognormal(0, noise)
        lat = p99 * p99_factor * rng.lognormal(0, noise)
        med = p50 * p99_factor * rng.lognormal(0, noise)
        if intervals:
            section["intervals"]["tasks"][label] = interval_series(
                rng, q, med, lat, int(duration_s), window_noise=window_noise, ar=ar, error_rate=error_rate)
        requests = max(1, int(round(q * duration_s / max(1e-9, 1 - error_rate))))
        failures = int(rng.binomial(requests, error_rate)) if error_rate else 0
        section["tasks"][label] = {
            "kind": kind, "requests": requests, "failures": failures,
            "errors_by_code": {"gRPC UNAVAILABLE": failures} if failures else {},
            "qps": float(q),
            "latency_ms": {"p50": med, "p90": med * 1.6, "p95": med * 1.9, "p99": lat, "p99_9": lat * 1.5,
                           "max": lat * 2.5, "mean": med * 1.1},
            "recall": (_recall_block(rng, min(0.999, recall + recall_shift + rng.normal(0, noise / 10)), 500)
                       if recall is not None else None),
            "recall_note": None if recall is not None else "writes have no recall"}
        if details:
            for t in range(1, int(duration_s) + 1):
                wobble = rng.lognormal(0, noise * 2)
                section["timeseries"].append({
                    "t": float(t), "task": label, "requests": int(q * wobble), "failures": int(failures / duration_s),
                    "p50_ms": med * wobble, "p99_ms": lat * wobble * (1.4 if t in (11, 12) else 1.0), "users": 8})
    if details:
        section["concurrency"] = [{"users": u, "qps": float(min(u, 12) * 60 * qps_factor * rng.lognormal(0, noise)),
                                   "p99_ms": float(8 * p99_factor * (1 + (u / 10) ** 2)), "error_rate": 0.0}
                                  for u in (1, 2, 4, 8, 16, 32)]
        section["sweep"] = [{"search_params": {"ef": ef}, "task": "dense_search",
                             "qps": float(2400 / np.sqrt(ef) * qps_factor), "recall": float(1 - 0.6 / np.sqrt(ef)),
                             "p99_ms": float(2 + ef / 20)}
                            for ef in (8, 16, 32, 64, 128, 256)]
        section["sweep"].append({"search_params": {"ef": 48, "note": "dominated"}, "task": "dense_search",
                                 "qps": 200.0, "recall": 0.85, "p99_ms": 30.0})
        section["outages"] = []
        section["phases"] = [{"name": "serial", "users": 1, "duration_s": 5.0, "tasks": {}},
                             {"name": "concurrent", "users": 8, "duration_s": duration_s, "tasks": {}}]
    section["slo"] = slo_checks(SloSpec(p99_ms=100.0), section["tasks"], duration_s)
    result = _header("load", scenario={"name": scenario, "sha256": "0" * 64},
                        dataset={"name": "gaussian", "fingerprint": "f" * 16, "rows": 10000, "queries": 100},
                        target={"uri": "http://127.0.0.1:19530", "server_version": "2.5.4", "backend": "lite"})
    result["load"] = section
    result["status"] = "pass" if section["slo"]["ok"] else "fail"
    return result


def conformance_result(diverging: Sequence[str] = (), *, errors: Sequence[str] = (), server: str = "2.5.4",
                       pymilvus: str = "2.6.2") -> dict[str, Any]:
    """A ``conformance`` result over a fixed method list; ``diverging``/``errors`` name methods that fail."""
    methods = ["create_collection", "insert", "upsert", "delete", "search", "hybrid_search", "query", "get",
               "flush", "create_index", "list_collections"]
    matrix = []
    for m in methods:
        status = ("diverges" if m in diverging else "error" if m in errors else
                  "unsupported" if m == "flush" else "known-divergence" if m == "list_collections" else "pass")
        matrix.append({"method": m, "server": server, "pymilvus": pymilvus, "status": status,
                       "detail": None if status == "pass" else f"{m}: {status} (synthetic)",
                       "reproducer": f"repro/test_{m}.py" if status == "diverges" else None})
    summary = {s: sum(1 for r in matrix if r["status"] == s)
               for s in ("pass", "diverges", "unsupported", "known-divergence", "error")}
    result = _header("conformance", target={"uri": "embedded", "server_version": server})
    result["conformance"] = {"matrix": matrix, "summary": summary,
                             "asymmetries": [{"method": "flush", "detail": "AsyncMilvusClient has no flush()"}]}
    result["status"] = "fail" if diverging or errors else "pass"
    return result


def run_set(n: int, seed: int, **effects: Any) -> list[dict[str, Any]]:
    """``n`` repeated ``load`` results (seeds ``seed*1000 + i``) with the same effects."""
    return [load_result(seed * 1000 + i, **effects) for i in range(n)]
