"""The one rich console of the harness' commands: on a terminal, rich's own; in a CI log or a pipe, nothing is cut.

rich sizes a console without a terminal at 80 columns and then squeezes wider tables into "cou…" / "den…" cells.
:func:`make_console` returns a console that prints each renderable at the width it needs (up to
:data:`MAX_LOG_WIDTH`) when the output is not a terminal, and keeps 80 columns for everything narrower (rules).
"""

from __future__ import annotations

from typing import IO, Any, Optional

from rich.console import Console

#: The widest a line may grow in a log (wider tables are folded by rich, as on a terminal that wide).
MAX_LOG_WIDTH = 400


class _LogConsole(Console):
    """A console for logs and pipes: each renderable printed at its natural width (never cut at 80 columns)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:  # noqa: A003 - rich's method name
        """Like :meth:`rich.console.Console.print`, widened for this call to what ``objects`` need."""
        if self.is_terminal or kwargs.get("width") is not None:
            return super().print(*objects, **kwargs)
        wide = self.options.update_width(MAX_LOG_WIDTH)
        need = max((self.measure(o, options=wide).maximum for o in objects), default=0)
        if need <= self.width:
            return super().print(*objects, **kwargs)
        saved = self.width
        self.width = min(need, MAX_LOG_WIDTH)
        try:
            super().print(*objects, **kwargs)
        finally:
            self.width = saved


def make_console(*, stderr: bool = False, file: Optional[IO[str]] = None, **kwargs: Any) -> Console:
    """The console every command prints with (``stderr`` for errors; ``file`` for tests); no highlighting."""
    kwargs.setdefault("highlight", False)
    return _LogConsole(stderr=stderr, file=file, **kwargs)
