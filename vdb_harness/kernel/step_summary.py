"""The GitHub Actions job summary: when ``GITHUB_STEP_SUMMARY`` names a file, a command appends its Markdown there.

Commands call :func:`append` (Markdown they already have) or :func:`append_results` (result files, rendered by
:func:`reports.markdown.render`). Without the variable nothing happens; a summary that cannot be written is a
warning on stderr, never a failed run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable, Optional

ENV = "GITHUB_STEP_SUMMARY"


def target() -> Optional[Path]:
    """The job summary file named by ``GITHUB_STEP_SUMMARY`` (None when unset or empty)."""
    raw = os.environ.get(ENV, "").strip()
    return Path(raw) if raw else None


def append(markdown: str) -> Optional[Path]:
    """Append ``markdown`` (as one block) to the job summary; returns the file, or None when there is none."""
    path = target()
    if path is None or not markdown.strip():
        return None
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip("\n") + "\n\n")
    except OSError as exc:
        print(f"warning: {ENV}={path}: cannot append the summary: {exc.strerror or exc}", file=sys.stderr)
        return None
    return path


def append_results(paths: Iterable[str | os.PathLike], title: str = "vdb-harness") -> Optional[Path]:
    """Append the Markdown summary of these result files (see :func:`reports.markdown.render`)."""
    if target() is None:
        return None
    from reports import inputs, markdown

    paths = list(paths)
    try:
        results = inputs.load(paths)
    except Exception as exc:  # noqa: BLE001 - a summary is a courtesy: the run's own outcome stands
        print(f"warning: {ENV}: cannot summarize {list(map(str, paths))}: {exc}", file=sys.stderr)
        return None
    return append(markdown.render(results, title)) if results else None
