"""The console summary of a load result: one table per phase, the sweep, broken SLOs and recall notes.

Kept apart from ``loadtests.command`` (which gevent-patches its process on import) so reports and tests can
render a load result without patching theirs.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Console
from rich.table import Table


def _fmt(value: Optional[float], spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_summary(console: Console, load: dict[str, Any]) -> None:
    """A load result's phases as tables (requests, QPS, latency percentiles, recall), then sweep points, broken
    SLOs and recall notes."""
    for phase in load["phases"]:
        table = Table(title=f"{phase['name']} phase: {phase['duration_s']:.1f} s, up to {phase['users']} users "
                            f"({phase['stopped_by']})", title_justify="left")
        for col in ("task", "requests", "failures", "QPS", "p50", "p99", "p99.9", "max ms", "recall mean",
                    "p5", "min", "< floor"):
            table.add_column(col, justify="left" if col == "task" else "right")
        for label, t in phase["tasks"].items():
            lat, rec = t["latency_ms"], t["recall"] or {}
            table.add_row(label, f"{t['requests']:,}", f"{t['failures']:,}", _fmt(t["qps"], ",.1f"),
                          _fmt(lat["p50"], ".2f"), _fmt(lat["p99"], ".2f"), _fmt(lat["p99_9"], ".2f"),
                          _fmt(lat["max"], ".2f"), _fmt(rec.get("mean"), ".4f"), _fmt(rec.get("p5"), ".3f"),
                          _fmt(rec.get("min"), ".3f"), str(rec.get("below_floor", "-")))
        console.print(table)
    for point in load.get("sweep", []):
        console.print(f"sweep {point['search_params']} {point['task']}: QPS {_fmt(point['qps'], ',.1f')}, "
                      f"recall {_fmt(point['recall'], '.4f')}, p99 {_fmt(point['p99_ms'], '.2f')} ms")
    for check in load["slo"]["checks"]:
        if not check["ok"]:
            console.print(f"[bold red]SLO broken[/]: {check['name']} {check.get('task') or ''} = "
                          f"{check['value']} (limit {check['limit']})")
    for label, note in load.get("recall_notes", {}).items():
        console.print(f"[yellow]{label}[/]: {note}")
