"""A live terminal view of a running phase: per task, QPS over the last seconds, p99 so far and mean recall."""

from __future__ import annotations

import time
from typing import Any, Optional

from rich.console import Console
from rich.live import Live
from rich.table import Table

from loadtests.context import RunContext


def render(ctx: RunContext, title: str, elapsed: float, users: int) -> Table:
    """The table for the current state of ``ctx``."""
    table = Table(title=f"{title}: {elapsed:5.1f} s, {users} users", title_justify="left")
    for col in ("task", "requests", "failures", "QPS (5 s)", "p99 ms", "recall mean"):
        table.add_column(col, justify="left" if col == "task" else "right")
    recent = ctx.recorder.recent(time.time(), 5.0)
    for label, rec in sorted(ctx.recorder.tasks.items()):
        win = recent.get(label)
        qps = (win.requests - win.failures) / 5.0 if win else 0.0
        p99 = rec.latency_ms()["p99"]
        stats = ctx.recall.stats.get(label)
        summary = stats.summary() if stats is not None else None
        table.add_row(label, f"{rec.requests:,}", f"{rec.failures:,}", f"{qps:,.1f}",
                      "-" if p99 is None else f"{p99:.2f}", "-" if summary is None else f"{summary['mean']:.4f}")
    return table


class LiveView:
    """Context manager: a rich ``Live`` refreshed by :meth:`tick` (silent when the output is not a terminal)."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self._live: Optional[Live] = None
        self._last = 0.0
        self._announced = False

    def __enter__(self) -> "LiveView":
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def tick(self, ctx: RunContext, runner: Any, elapsed: float) -> None:
        """Redraw (at most 4 times a second). Without a terminal (CI, a test), print one line at the first tick, so
        a reader of the log knows the phase's load has started (a distributed phase: its workers are connected)."""
        if self._live is None and not self._announced:
            self._announced = True
            self.console.print(f"phase started: {self.title}")
            self.console.file.flush()
        if self._live is None or time.monotonic() - self._last < 0.25:
            return
        self._last = time.monotonic()
        self._live.update(render(ctx, self.title, elapsed, int(getattr(runner, "user_count", 0))))

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
