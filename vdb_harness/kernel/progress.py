"""Terminal progress for long steps (dataset generation, ground truth, inserts), and quiet client logs."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

#: ``tick(done, total)``: report progress; ``total`` 0 means unknown.
Tick = Callable[[int, int], None]


@contextmanager
def progress_bar(console: Console, description: str, unit: str = "") -> Iterator[Tick]:
    """A rich progress bar for one step; yields ``tick(done, total)``. Silent when output is not a terminal."""
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn(unit), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        yield tick


def quiet_client_logs() -> None:
    """Silence pymilvus' own error logging (it prints whole tracebacks); the harness reports errors itself."""
    import pymilvus  # noqa: F401 - pymilvus configures its loggers when imported; override after that

    for name in ("pymilvus", "pymilvus.decorators", "pymilvus.milvus_client", "pymilvus.bulk_writer", "grpc"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
