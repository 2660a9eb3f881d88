"""The harness' own latency record: an HDR histogram per task, error counts by code, and a per-second series.

Locust rounds its percentiles to about two significant digits; this recorder keeps microsecond HDR histograms
(3 significant digits) so p99 and p99.9 are exact to 0.1 %. Memory is constant however long the run: one HDR
histogram per task, and a series of at most :data:`MAX_WINDOWS` windows (adjacent windows are merged, doubling
the window width, when a run outgrows it).

A recorder is mergeable (:meth:`Recorder.merge`) and serialisable (:meth:`Recorder.snapshot` /
:meth:`Recorder.from_snapshot`), so Locust workers can ship their deltas to the master, which sums them: a
distributed result equals the sum of its parts.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from hdrh.histogram import HdrHistogram

#: HDR range in microseconds: 1 us .. 1 hour, 3 significant digits.
HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS = 1, 3_600_000_000, 3
#: The series never holds more windows than this (older windows are merged pairwise).
MAX_WINDOWS = 1800
#: Per-window latency buckets: geometric (HDR-like log buckets), from 10 us, 16 per octave (ratio 2**(1/16), about
#: 4.4 % wide), enough for an hour. The result file's interval series (:meth:`Recorder.intervals`) stores them.
BUCKET_BASE_US = 10.0
BUCKETS_PER_OCTAVE = 16
_BUCKET_BASE_US = BUCKET_BASE_US
_BUCKETS_PER_OCTAVE = BUCKETS_PER_OCTAVE
_NUM_BUCKETS = 1 + BUCKETS_PER_OCTAVE * 29  # 10 us * 2**29 > 1 hour
_LOG_SCALE = _BUCKETS_PER_OCTAVE / math.log(2.0)
#: Percentiles reported for every task.
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99_9": 99.9}
#: Error codes (``loadtests.users.error_code``) that mean "the server could not be reached", as opposed to a
#: server that answered with an error: gRPC UNAVAILABLE, pymilvus' "Fail connecting to server" (code 2), and
#: the socket errors. A window where every request failed with one of these is part of an outage.
CONNECTION_CODES = frozenset({"grpc:UNAVAILABLE", "milvus:2", "MilvusUnavailableException", "ConnectionError",
                              "ConnectionRefusedError", "ConnectionResetError", "BrokenPipeError"})


def is_connection_error(code: Optional[str]) -> bool:
    """Whether an error code means the server was unreachable (see :data:`CONNECTION_CODES`)."""
    return code in CONNECTION_CODES


def new_histogram() -> HdrHistogram:
    """An empty microsecond HDR histogram with the recorder's range."""
    return HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)


def _bucket(us: float) -> int:
    if us <= _BUCKET_BASE_US:
        return 0
    return min(_NUM_BUCKETS - 1, 1 + int(math.log(us / _BUCKET_BASE_US) * _LOG_SCALE))


def _bucket_upper_ms(index: int) -> float:
    return _BUCKET_BASE_US * 2.0 ** (index / _BUCKETS_PER_OCTAVE) / 1000.0


@dataclass
class Window:
    """One time window of one task: request and failure counts, failures that were connection errors, and
    coarse latency buckets (mergeable by sum)."""

    requests: int = 0
    failures: int = 0
    buckets: dict[int, int] = field(default_factory=dict)
    conn_failures: int = 0

    def add(self, other: "Window") -> None:
        """Sum ``other`` into this window."""
        self.requests += other.requests
        self.failures += other.failures
        self.conn_failures += other.conn_failures
        for b, n in other.buckets.items():
            self.buckets[b] = self.buckets.get(b, 0) + n

    def percentile_ms(self, pct: float) -> Optional[float]:
        """Upper edge (ms) of the bucket holding the ``pct`` percentile (within one bucket, ~4.4 %)."""
        total = sum(self.buckets.values())
        if not total:
            return None
        rank, seen = math.ceil(total * pct / 100.0), 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                return round(_bucket_upper_ms(b), 4)
        return None


class TaskRecord:
    """Everything recorded for one task label: HDR latency of successes, counts, errors by code."""

    __slots__ = ("histogram", "requests", "failures", "errors", "first_ts", "last_ts")

    def __init__(self) -> None:
        self.histogram = new_histogram()
        self.requests = 0
        self.failures = 0
        self.errors: dict[str, int] = {}
        self.first_ts: Optional[float] = None
        self.last_ts: Optional[float] = None

    def merge(self, other: "TaskRecord") -> None:
        """Sum ``other`` into this record."""
        self.histogram.add(other.histogram)
        self.requests += other.requests
        self.failures += other.failures
        for code, n in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + n
        if other.first_ts is not None:
            self.first_ts = other.first_ts if self.first_ts is None else min(self.first_ts, other.first_ts)
            self.last_ts = other.last_ts if self.last_ts is None else max(self.last_ts, other.last_ts or 0.0)

    def latency_ms(self) -> dict[str, Optional[float]]:
        """p50, p90, p95, p99, p99.9, max and mean of successful requests, in milliseconds (None when empty)."""
        h = self.histogram
        if h.get_total_count() == 0:
            return {**{k: None for k in PERCENTILES}, "max": None, "mean": None}
        out: dict[str, Optional[float]] = {k: h.get_value_at_percentile(p) / 1000.0 for k, p in PERCENTILES.items()}
        out["max"] = h.get_max_value() / 1000.0
        out["mean"] = round(h.get_mean_value() / 1000.0, 4)
        return out

    def snapshot(self) -> dict[str, Any]:
        """Plain, JSON/msgpack-able data (the histogram as its compressed HDR encoding)."""
        return {"hdr": base64.b64encode(self.histogram.encode()).decode("ascii") if self.histogram.get_total_count()
                else "", "requests": self.requests, "failures": self.failures, "errors": dict(self.errors),
                "first_ts": self.first_ts, "last_ts": self.last_ts}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> "TaskRecord":
        """The inverse of :meth:`snapshot`."""
        rec = cls()
        if data.get("hdr"):
            rec.histogram.decode_and_add(base64.b64decode(data["hdr"]))
        rec.requests, rec.failures = int(data["requests"]), int(data["failures"])
        rec.errors = {str(k): int(v) for k, v in data.get("errors", {}).items()}
        rec.first_ts, rec.last_ts = data.get("first_ts"), data.get("last_ts")
        return rec


class Recorder:
    """Per-task latency, errors and a per-second series for one run (or one worker's share of it).

    ``record`` is the only call on the request path: a few dict lookups and one HDR record.
    """

    def __init__(self, window_s: float = 1.0, max_windows: int = MAX_WINDOWS) -> None:
        """``window_s``: series resolution in seconds (doubles when the run outgrows ``max_windows``)."""
        self.tasks: dict[str, TaskRecord] = {}
        self.kinds: dict[str, str] = {}
        self.window_s = float(window_s)
        self.max_windows = max_windows
        #: (window index since the epoch at ``window_s`` resolution, task label) -> Window
        self.series: dict[tuple[int, str], Window] = {}

    def record(self, task: str, ts: float, latency_s: float, error_code: Optional[str] = None) -> None:
        """One finished request of ``task`` that started at epoch ``ts`` and took ``latency_s`` seconds."""
        rec = self.tasks.get(task)
        if rec is None:
            rec = self.tasks[task] = TaskRecord()
        rec.requests += 1
        if rec.first_ts is None:
            rec.first_ts = ts
        end = ts + latency_s
        if rec.last_ts is None or end > rec.last_ts:
            rec.last_ts = end
        key = (int(end // self.window_s), task)
        win = self.series.get(key)
        if win is None:
            win = self.series[key] = Window()
            if len(self.series) > self.max_windows * max(1, len(self.tasks)):
                self._coarsen()
                key = (int(end // self.window_s), task)
                win = self.series.setdefault(key, Window())
        win.requests += 1
        if error_code is not None:
            rec.failures += 1
            rec.errors[error_code] = rec.errors.get(error_code, 0) + 1
            win.failures += 1
            if error_code in CONNECTION_CODES:
                win.conn_failures += 1
            return
        us = latency_s * 1e6
        rec.histogram.record_value(min(max(int(us + 0.5), HDR_LOWEST_US), HDR_HIGHEST_US))
        b = _bucket(us)
        win.buckets[b] = win.buckets.get(b, 0) + 1

    def set_kind(self, task: str, kind: str) -> None:
        """Remember the task kind (dense_search, insert...) of a label for the result file."""
        self.kinds[task] = kind

    def _coarsen(self) -> None:
        """Double the window width, merging pairs of windows, so the series stays within ``max_windows``."""
        self.window_s *= 2.0
        merged: dict[tuple[int, str], Window] = {}
        for (index, task), win in self.series.items():
            merged.setdefault((index // 2, task), Window()).add(win)
        self.series = merged

    def merge(self, other: "Recorder") -> None:
        """Sum ``other`` (e.g. a worker's delta) into this recorder."""
        for task, rec in other.tasks.items():
            self.tasks.setdefault(task, TaskRecord()).merge(rec)
        self.kinds.update(other.kinds)
        while other.window_s > self.window_s:
            self._coarsen()
        factor = max(1, int(round(self.window_s / other.window_s)))
        for (index, task), win in other.series.items():
            self.series.setdefault((index // factor, task), Window()).add(win)
        if len(self.series) > self.max_windows * max(1, len(self.tasks)):
            self._coarsen()

    def reset(self) -> None:
        """Forget everything (a worker does this after shipping its delta)."""
        self.tasks.clear()
        self.series.clear()

    def snapshot(self) -> dict[str, Any]:
        """Plain data for ``report_to_master`` / the result file."""
        return {"window_s": self.window_s, "kinds": dict(self.kinds),
                "tasks": {t: r.snapshot() for t, r in self.tasks.items()},
                "series": [[i, t, w.requests, w.failures, [[b, n] for b, n in w.buckets.items()], w.conn_failures]
                           for (i, t), w in self.series.items()]}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> "Recorder":
        """The inverse of :meth:`snapshot`."""
        rec = cls(window_s=float(data["window_s"]))
        rec.kinds = dict(data.get("kinds", {}))
        rec.tasks = {t: TaskRecord.from_snapshot(s) for t, s in data["tasks"].items()}
        for i, t, requests, failures, buckets, *rest in data["series"]:  # rest: conn_failures (absent before)
            rec.series[(int(i), str(t))] = Window(int(requests), int(failures), {int(b): int(n) for b, n in buckets},
                                                  int(rest[0]) if rest else 0)
        return rec

    def total_requests(self) -> int:
        """Requests recorded over every task."""
        return sum(r.requests for r in self.tasks.values())

    def timeseries(self, start_ts: float, users_at: Optional[Any] = None) -> list[dict[str, Any]]:
        """Rows ``{t, task, requests, failures, p50_ms, p99_ms, users}``; ``t`` = seconds since ``start_ts`` at the
        window's end. ``users_at(ts)`` gives the user count then (optional)."""
        rows = []
        for (index, task), win in sorted(self.series.items()):
            end = (index + 1) * self.window_s
            rows.append({"t": round(end - start_ts, 3), "task": task, "requests": win.requests,
                         "failures": win.failures, "p50_ms": win.percentile_ms(50.0),
                         "p99_ms": win.percentile_ms(99.0),
                         "users": users_at(end) if users_at is not None else None})
        return rows

    def intervals(self, start_ts: float, end_ts: float) -> dict[str, Any]:
        """The per-window series of the run ``[start_ts, end_ts]`` for the gate's interval bootstrap (the result
        file's ``load.intervals``; see ``docs/result-format.md``).

        Windows are consecutive, ``window_s`` wide; the first ends ``t0`` seconds after ``start_ts``. Per task, one
        value per window (empty windows as zeros): ``requests``, ``failures`` and ``latency``, each window's latency
        histogram of successful requests as ``[first_bucket, count, count, ...]`` (consecutive bucket counts from
        the first non-empty bucket to the last; ``[]`` when empty). Bucket ``i >= 1`` holds latencies in
        ``(base_us * 2**((i-1)/per_octave), base_us * 2**(i/per_octave)]`` microseconds, bucket 0 up to ``base_us``.
        ``start_partial`` / ``end_partial``: the first / last window only partly overlaps the run.
        """
        w = self.window_s
        lo, hi = int(start_ts // w), int(end_ts // w)
        if hi * w >= end_ts and hi > lo:  # the window starting exactly at end_ts holds nothing of the run
            hi -= 1
        tasks: dict[str, Any] = {}
        for task in sorted({t for (_i, t) in self.series}):
            req, fail, lat = [], [], []
            for index in range(lo, hi + 1):
                win = self.series.get((index, task)) or Window()
                req.append(win.requests)
                fail.append(win.failures)
                if win.buckets:
                    first, last = min(win.buckets), max(win.buckets)
                    lat.append([first] + [win.buckets.get(b, 0) for b in range(first, last + 1)])
                else:
                    lat.append([])
            tasks[task] = {"requests": req, "failures": fail, "latency": lat}
        return {"window_s": w, "t0": round((lo + 1) * w - start_ts, 3), "windows": hi - lo + 1,
                "start_partial": bool(lo * w < start_ts), "end_partial": bool((hi + 1) * w > end_ts),
                "buckets": {"base_us": BUCKET_BASE_US, "per_octave": BUCKETS_PER_OCTAVE}, "tasks": tasks}

    def outages(self, start_ts: float) -> list[dict[str, Optional[float]]]:
        """Spans ``{start, end}`` (seconds since ``start_ts``) where every request that finished failed with a
        connection error (:data:`CONNECTION_CODES`), at the series' window resolution. A span starts at the first
        such window and ends where the next window with a success starts; windows with no requests (or only other
        errors) in between do not end it; ``end`` is None when no request succeeded afterwards."""
        per: dict[int, list[int]] = {}
        for (index, _task), win in self.series.items():
            agg = per.setdefault(index, [0, 0, 0])
            agg[0] += win.requests
            agg[1] += win.failures
            agg[2] += win.conn_failures
        spans: list[dict[str, Optional[float]]] = []
        current: Optional[dict[str, Optional[float]]] = None
        for index in sorted(per):
            requests, failures, conn = per[index]
            begin = round(max(0.0, index * self.window_s - start_ts), 3)
            if current is None and requests and conn == requests:
                current = {"start": begin, "end": None}
                spans.append(current)
            elif current is not None and requests > failures:
                current["end"] = begin
                current = None
        return spans

    def recent(self, now: float, seconds: float = 5.0) -> dict[str, Window]:
        """The last ``seconds`` of the series summed per task (for the live view)."""
        lo = int((now - seconds) // self.window_s)
        hi = int(now // self.window_s)
        out: dict[str, Window] = {}
        for (index, task), win in self.series.items():
            if lo <= index < hi:
                out.setdefault(task, Window()).add(win)
        return out


def merged(recorders: Iterable[Recorder]) -> Recorder:
    """A new recorder holding the sum of ``recorders``."""
    total = Recorder()
    for rec in recorders:
        total.merge(rec)
    return total
