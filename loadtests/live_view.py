"""A live terminal view of a running phase: per task, QPS over the last seconds, p99 so far and mean recall."""

from __future__ import annotations

import os
import time
from typing import Any, Optional

from rich.console import Console
from rich.live import Live
from rich.table import Table

from loadtests.context import RunContext
from vdb_harness.kernel.errors import BadInputError

#: Seconds between the plain progress lines printed without a terminal (``VDB_HARNESS_PROGRESS_EVERY`` overrides).
PROGRESS_EVERY_S = 10.0


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


def progress_every() -> float:
    """Seconds between plain progress lines: ``VDB_HARNESS_PROGRESS_EVERY`` or :data:`PROGRESS_EVERY_S`."""
    raw = os.environ.get("VDB_HARNESS_PROGRESS_EVERY")
    if raw is None or raw == "":
        return PROGRESS_EVERY_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise BadInputError(f"VDB_HARNESS_PROGRESS_EVERY={raw!r}: give a number of seconds > 0")
    return value


def progress_line(ctx: RunContext, elapsed: float, users: int) -> str:
    """One plain line for a log: ``progress: 12.0 s, 2 users: dense_search 1,234 ok 0 failed; ...``."""
    tasks = "; ".join(f"{label} {rec.requests - rec.failures:,} ok {rec.failures:,} failed"
                      for label, rec in sorted(ctx.recorder.tasks.items()))
    return f"progress: {elapsed:.1f} s, {users} users: {tasks or 'no requests yet'}"


class LiveView:
    """Context manager: a rich ``Live`` refreshed by :meth:`tick` (silent when the output is not a terminal)."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self._live: Optional[Live] = None
        self._last = 0.0
        self._announced = False
        self._every = progress_every()
        self._next_line = 0.0

    def __enter__(self) -> "LiveView":
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def tick(self, ctx: RunContext, runner: Any, elapsed: float) -> None:
        """Redraw (at most 4 times a second). Without a terminal (CI, a test), print one line at the first tick, so
        a reader of the log knows the phase's load has started (a distributed phase: its workers are connected),
        then a plain :func:`progress_line` every :func:`progress_every` seconds."""
        if self._live is None:
            if not self._announced:
                self._announced = True
                self._next_line = elapsed + self._every
                self.console.print(f"phase started: {self.title}")
                self.console.file.flush()
            elif elapsed >= self._next_line:
                self._next_line = elapsed + self._every
                self.console.print(progress_line(ctx, elapsed, int(getattr(runner, "user_count", 0))),
                                   soft_wrap=True)
                self.console.file.flush()
            return
        if time.monotonic() - self._last < 0.25:
            return
        self._last = time.monotonic()
        self._live.update(render(ctx, self.title, elapsed, int(getattr(runner, "user_count", 0))))

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
