"""The load phase's output without a terminal: one start line, then plain progress lines a CI log (or a test
waiting on progress) can read."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from loadtests.live_view import LiveView, progress_every, progress_line
from loadtests.recorder import Recorder
from vdb_harness.kernel.errors import BadInputError


def _ctx() -> SimpleNamespace:
    recorder = Recorder()
    for i in range(1234):
        recorder.record("dense_search", 1000.0 + i / 100, 0.003)
    recorder.record("dense_search", 1020.0, 0.001, error_code="grpc:UNAVAILABLE")
    recorder.record("hybrid_search_filtered", 1020.0, 0.002)
    return SimpleNamespace(recorder=recorder)


def test_progress_line_counts_ok_and_failed_per_task() -> None:
    assert progress_line(_ctx(), 12.04, 2) == ("progress: 12.0 s, 2 users: dense_search 1,234 ok 1 failed; "
                                               "hybrid_search_filtered 1 ok 0 failed")
    assert progress_line(SimpleNamespace(recorder=Recorder()), 0.5, 0) == "progress: 0.5 s, 0 users: no requests yet"


def test_without_a_terminal_a_start_line_then_a_progress_line_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VDB_HARNESS_PROGRESS_EVERY", "2")
    out = io.StringIO()
    console = Console(file=out, width=80)
    assert not console.is_terminal
    ctx, runner = _ctx(), SimpleNamespace(user_count=2)
    with LiveView(console, "demo concurrent") as view:
        for elapsed in (0.25, 0.5, 2.0, 2.25, 2.5, 4.5):
            view.tick(ctx, runner, elapsed)  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()
    assert lines[0] == "phase started: demo concurrent"
    assert [line.split(",")[0] for line in lines[1:]] == ["progress: 2.2 s", "progress: 4.5 s"]
    assert lines[2] == progress_line(ctx, 4.5, 2) and len(lines[2]) > 80  # never wrapped or cut at 80 columns


@pytest.mark.parametrize("raw", ["0", "-1", "soon"])
def test_a_bad_progress_interval_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("VDB_HARNESS_PROGRESS_EVERY", raw)
    with pytest.raises(BadInputError, match="VDB_HARNESS_PROGRESS_EVERY"):
        progress_every()
    monkeypatch.delenv("VDB_HARNESS_PROGRESS_EVERY")
    assert progress_every() == 10.0
