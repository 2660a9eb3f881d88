"""The report's plots, drawn offline with matplotlib (Agg) and returned as inline SVG text (or None: no data).

Each function takes loaded results and draws one figure; axes follow ``reports.metrics`` (direction, range).
"""

from __future__ import annotations

import io
from typing import Any, Callable, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reports.inputs import LoadedResult, rows, task_metrics  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "vdb-harness", "font.size": 9,
                     "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False})


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _fig(width: float = 7.0, height: float = 3.2) -> tuple[Any, Any]:
    return plt.subplots(figsize=(width, height))


def _many(results: list[LoadedResult]) -> Callable[[LoadedResult, str], str]:
    """A label maker that prefixes the result's name only when several load/capacity results are plotted."""
    several = sum(1 for r in results if r.kind in ("load", "capacity")) > 1
    return (lambda r, s: f"{r.name}: {s}") if several else (lambda r, s: s)


def _legend(ax: Any, handles: Any = None, labels: Any = None) -> None:
    """A legend below the axes, so it never hides the data."""
    args = (handles, labels) if handles is not None else ()
    ax.legend(*args, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)


def _finish(fig: Any, ax: Any, drawn: bool, *, xlim: Optional[tuple[Any, Any]] = None,
            ylim: Optional[tuple[Any, Any]] = (0, None), **labels: str) -> Optional[str]:
    """The figure as SVG with its labels, axis limits and legend; None (and the figure closed) if nothing was drawn."""
    if not drawn:
        plt.close(fig)
        return None
    ax.set(**labels)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    _legend(ax)
    return _svg(fig)


def _timeseries(r: LoadedResult, value: Callable[[dict[str, Any]], Optional[float]]) \
        -> dict[str, list[tuple[float, float]]]:
    """Per task (in name order), the ``(t, value)`` points of ``load.timeseries`` in time order (None skipped)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows(r, "load", "timeseries"):
        v = value(row)
        if v is not None:
            series.setdefault(str(row.get("task")), []).append((row["t"], v))
    return {task: sorted(pts) for task, pts in sorted(series.items())}


def latency_over_time(results: list[LoadedResult]) -> Optional[str]:
    """p50 (dashed) and p99 (solid) latency per task over time, from ``load.timeseries``; outages shaded."""
    fig, ax = _fig()
    label, drawn = _many(results), False
    for r in results:
        p50 = _timeseries(r, lambda row: row.get("p50_ms"))
        for task, p99 in _timeseries(r, lambda row: row.get("p99_ms")).items():
            line, = ax.plot(*zip(*p99), label=label(r, f"{task} p99"))
            drawn = True
            if task in p50:
                ax.plot(*zip(*p50[task]), linestyle="--", color=line.get_color(), alpha=0.7,
                        label=label(r, f"{task} p50"))
        for o in rows(r, "load", "outages"):
            ax.axvspan(o["start"], o.get("end") if o.get("end") is not None else ax.get_xlim()[1],
                       color="red", alpha=0.15)
    return _finish(fig, ax, drawn, xlabel="time since start (s)", ylabel="latency (ms)",
                   title="Latency percentiles over time")


def error_rate(results: list[LoadedResult]) -> Optional[str]:
    """Error rate per task over time (``load.timeseries``), or per task as bars when there is no time series."""
    fig, ax = _fig()
    label, drawn = _many(results), False
    for r in results:
        failed = _timeseries(r, lambda row: 100.0 * row.get("failures", 0) / row["requests"]
                             if row.get("requests") else None)
        for task, pts in failed.items():
            ax.plot(*zip(*pts), label=label(r, task))
            drawn = True
    if drawn:
        ax.set(xlabel="time since start (s)", ylabel="failed requests (%)", title="Error rate over time")
        ax.set_ylim(bottom=0, top=max(1.0, ax.get_ylim()[1]))
        _legend(ax)
        return _svg(fig)
    bars = [(label(r, t), m.error_rate * 100) for r in results for t, m in task_metrics(r).items()
            if m.error_rate is not None]
    if not bars:
        plt.close(fig)
        return None
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color="#c0392b")
    ax.set(ylabel="failed requests (%)", title="Error rate per task")
    ax.set_ylim(0, max(1.0, max(b[1] for b in bars) * 1.2))
    ax.tick_params(axis="x", rotation=20)
    return _svg(fig)


def concurrency(results: list[LoadedResult]) -> Optional[str]:
    """QPS (left axis) and p99 (right axis) against offered load: ``load.concurrency`` and ``capacity.steps``."""
    fig, ax = _fig()
    ax2 = ax.twinx()
    label, drawn, unit = _many(results), False, "users"
    for r in results:
        if r.kind == "capacity":
            pts = sorted((s["offered"], s.get("qps"), s.get("p99_ms")) for s in rows(r, "capacity", "steps")
                         if not s.get("search_params"))
            unit = r.section().get("load_unit", "users")
        else:
            pts = sorted((c["users"], c.get("qps"), c.get("p99_ms")) for c in rows(r, "load", "concurrency"))
        pts = [p for p in pts if p[1] is not None and p[2] is not None]
        if not pts:
            continue
        drawn = True
        x, q, p = zip(*pts)
        ax.plot(x, q, marker="o", label=label(r, "QPS"))
        ax2.plot(x, p, marker="s", linestyle="--", color="#c0392b", label=label(r, "p99 (ms)"))
        cap = r.section("capacity") if r.kind == "capacity" else {}
        limit = (cap.get("slo") or {}).get("p99_ms")
        if limit:
            ax2.axhline(limit, color="#c0392b", alpha=0.4, linewidth=1)
        for key, marker, text in (("knee", "D", "knee"), ("max_sustainable", "*", "max sustainable")):
            point = cap.get(key)
            if point and point.get("qps") is not None:
                ax.plot([point["offered"]], [point["qps"]], marker=marker, markersize=11, color="#27ae60",
                        linestyle="none", label=label(r, text))
    if not drawn:
        plt.close(fig)
        return None
    ax.set(xlabel=f"offered load ({unit})", ylabel="QPS", title="QPS and p99 latency vs concurrency")
    ax2.set_ylabel("p99 latency (ms)")
    ax.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    ax2.grid(False)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    _legend(ax, h1 + h2, l1 + l2)
    return _svg(fig)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (recall, qps) points no other point beats on both, sorted by recall."""
    front = [p for p in points if not any(o[0] >= p[0] and o[1] >= p[1] and o != p for o in points)]
    return sorted(set(front))


def recall_qps(results: list[LoadedResult]) -> Optional[str]:
    """Recall vs QPS for each search-parameter set (``load.sweep``, ``capacity.per_params``); the Pareto front."""
    fig, ax = _fig(6.0, 3.6)
    label, drawn = _many(results), False
    for r in results:
        pts = [(s.get("recall"), s.get("qps"), s.get("search_params")) for s in rows(r, "load", "sweep")]
        pts += [(s.get("recall"), s.get("max_qps"), s.get("search_params")) for s in rows(r, "capacity", "per_params")]
        pts = [p for p in pts if p[0] is not None and p[1] is not None]
        if not pts:
            continue
        drawn = True
        sc = ax.scatter([p[0] for p in pts], [p[1] for p in pts], alpha=0.6, label=label(r, "parameter sets"))
        front = pareto_front([(p[0], p[1]) for p in pts])
        ax.plot(*zip(*front), color=sc.get_facecolor()[0], linewidth=2, label=label(r, "Pareto front"))
        for rec, qps, params in pts:
            if (rec, qps) in front and params:
                ax.annotate(",".join(f"{k}={v}" for k, v in params.items()), (rec, qps), fontsize=6,
                            xytext=(3, 3), textcoords="offset points")
    return _finish(fig, ax, drawn, xlim=(None, 1.0), xlabel="recall (higher is better)",
                   ylabel="QPS (higher is better)", title="Recall vs QPS")


def recall_distribution(results: list[LoadedResult]) -> Optional[str]:
    """Per-query recall distribution per task (histogram when given; else min / p5 / mean markers)."""
    fig, ax = _fig()
    label, drawn = _many(results), False
    for r in results:
        for task, stats in (r.section("load").get("tasks") or {}).items():
            recall = stats.get("recall") if isinstance(stats, dict) else None
            if not isinstance(recall, dict) or recall.get("mean") is None:
                continue
            hist = recall.get("histogram")
            if isinstance(hist, dict) and len(hist.get("edges", [])) == len(hist.get("counts", [])) + 1 \
                    and sum(hist["counts"]):
                total = sum(hist["counts"])
                ax.stairs([c / total for c in hist["counts"]], hist["edges"], label=label(r, task), linewidth=1.5)
            else:
                xs = [v for v in (recall.get("min"), recall.get("p5"), recall["mean"]) if v is not None]
                ax.plot(xs, [0.5] * len(xs), marker="|", markersize=14, label=label(r, f"{task} (min/p5/mean)"))
            drawn = True
    return _finish(fig, ax, drawn, xlim=(0, 1.0), ylim=None, xlabel="per-query recall@k",
                   ylabel="share of queries", title="Recall distribution per task")


def recall_over_time(results: list[LoadedResult]) -> Optional[str]:
    """Mean recall per task over time (``load.recall_timeseries``), the runbook's steps shaded and labelled
    (``load.runbook``) and its search steps' own recall as points."""
    fig, ax = _fig(7.0, 3.4)
    label, drawn = _many(results), False
    for r in results:
        series: dict[str, list[tuple[float, float]]] = {}
        for row in rows(r, "load", "recall_timeseries"):
            if row.get("recall") is not None:
                series.setdefault(str(row.get("task")), []).append((row["t"], row["recall"]))
        for task, pts in sorted(series.items()):
            ax.plot(*zip(*sorted(pts)), label=label(r, f"{task} (load)"), linewidth=1.2)
            drawn = True
        runbook = r.section("load").get("runbook")
        if not isinstance(runbook, dict):
            continue
        offset = float(runbook.get("offset_s") or 0.0)
        points = []
        for i, step in enumerate(runbook.get("steps") or []):
            if not isinstance(step, dict) or step.get("start_s") is None:
                continue
            start = offset + float(step["start_s"])
            end = offset + float(step.get("end_s") or step["start_s"])
            ax.axvspan(start, end, color=("#dde8f5", "#f5ebdd")[i % 2], alpha=0.6, linewidth=0)
            ax.annotate(str(step.get("label", step.get("op"))), (start, 0.02), xycoords=("data", "axes fraction"),
                        fontsize=6, rotation=90, va="bottom")
            recall = step.get("recall")
            if isinstance(recall, dict) and recall.get("mean") is not None:
                points.append(((start + end) / 2, recall["mean"]))
            drawn = True
        if points:
            ax.plot(*zip(*points), linestyle="none", marker="o", color="black", label=label(r, "runbook searches"))
    return _finish(fig, ax, drawn, ylim=(0, 1.02), xlabel="time since start (s)", ylabel="recall@k",
                   title="Recall over time (runbook steps shaded)")


#: (title, function) in the order the report shows them
ALL: tuple[tuple[str, Callable[[list[LoadedResult]], Optional[str]]], ...] = (
    ("Latency over time", latency_over_time),
    ("QPS and p99 vs concurrency", concurrency),
    ("Recall vs QPS", recall_qps),
    ("Recall distribution", recall_distribution),
    ("Recall over time", recall_over_time),
    ("Error rate", error_rate),
)
