"""Output in CI logs and job summaries: tables are never cut at 80 columns without a terminal, and with
``GITHUB_STEP_SUMMARY`` set the commands append their Markdown summary to it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.summary_table import print_summary
from vdb_harness.kernel import step_summary
from vdb_harness.cli import main
from reports.synthetic import load_result, run_set
from vdb_harness.kernel.console import make_console
from vdb_harness.kernel.results import write_result


def _load_section() -> dict:
    load = load_result(1)["load"]
    for phase in load["phases"]:
        phase.setdefault("stopped_by", "shape ended")
    return load


def test_without_a_terminal_the_load_table_is_printed_whole() -> None:
    out = io.StringIO()
    console = make_console(file=out)
    assert not console.is_terminal and console.width == 80
    load = _load_section()
    print_summary(console, load)
    text = out.getvalue()
    assert "…" not in text, text
    header = next(line for line in text.splitlines() if "requests" in line)
    for col in ("task", "requests", "failures", "QPS", "p50", "p99", "p99.9", "max ms", "recall mean", "< floor"):
        assert col in header
    for label in load["phases"][0]["tasks"]:
        assert label in text  # task names in full
    assert max(len(line) for line in text.splitlines()) > 80
    console.rule("a rule")  # what is narrow stays 80 columns wide
    assert len(out.getvalue().splitlines()[-1]) == 80 and console.width == 80


def test_on_a_terminal_rich_keeps_its_own_width() -> None:
    console = make_console(file=io.StringIO(), force_terminal=True, width=100)
    assert console.is_terminal and console.width == 100


def test_without_the_variable_nothing_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(step_summary.ENV, raising=False)
    assert step_summary.append("## hello") is None
    monkeypatch.setenv(step_summary.ENV, str(tmp_path / "missing-dir" / "summary.md"))
    assert step_summary.append("## hello") is None  # an unwritable summary is a warning, not a failure


def test_gate_and_report_append_their_markdown_to_the_job_summary(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv(step_summary.ENV, str(summary))
    base = [str(write_result(r, tmp_path / f"b{i}")) for i, r in enumerate(run_set(3, 1))]
    cand = [str(write_result(r, tmp_path / f"c{i}")) for i, r in enumerate(run_set(3, 2))]
    assert main(["gate", "--baseline", *base, "--candidate", *cand]) == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "## Regression gate: ✅ **No regression**" in text
    assert main(["report", *cand, "--title", "nightly", "--out", str(tmp_path / "rep")]) == 0
    text = summary.read_text()
    assert text.endswith((tmp_path / "rep" / "summary.md").read_text().rstrip("\n") + "\n\n")
    assert text.index("Regression gate") < text.index("## nightly")


def test_a_result_file_is_summarized_as_the_report_would(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    summary = tmp_path / "s.md"
    monkeypatch.setenv(step_summary.ENV, str(summary))
    path = write_result(load_result(1), tmp_path / "r")
    assert step_summary.append_results([path], "vdb-harness load x") == summary
    text = summary.read_text()
    assert text.startswith("## vdb-harness load x") and "| task | requests |" in text


@pytest.mark.server
@pytest.mark.timeout(300)
def test_run_appends_its_summary(milvus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary = tmp_path / "s.md"
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "run", "seed_tutorial", "--target", milvus.uri,
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=280,
                          env={**os.environ, step_summary.ENV: str(summary)})
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    text = summary.read_text()
    assert text.startswith("## vdb-harness run seed_tutorial") and "flow steps" in text
    assert "…" not in proc.stdout  # the flow table, captured without a terminal, is whole


def test_demo_summary_names_each_stage_then_the_report(tmp_path: Path) -> None:
    from vdb_harness.jobs.demo import Stage, summary_markdown

    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "summary.md").write_text("## demo report: ✅ all passed\n")
    text = summary_markdown([Stage("run", [], 0), Stage("load", [], 1), Stage("report", [], None)], tmp_path)
    lines = text.splitlines()
    assert lines[0] == "## vdb-harness demo"
    assert [line.split(" | ")[:2] for line in lines[4:7]] == [["| run", "✅ pass"], ["| load", "❌ fail"],
                                                            ["| report", "not run"]]
    assert text.endswith("## demo report: ✅ all passed\n")


@pytest.mark.server
@pytest.mark.timeout(400)
def test_demo_appends_one_summary_not_one_per_stage(milvus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary = tmp_path / "s.md"
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "demo", "--target", milvus.uri, "--run-time", "2s",
                           "--users", "1", "--out", str(tmp_path / "demo")], capture_output=True, text=True,
                          timeout=380, env={**os.environ, step_summary.ENV: str(summary)})
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    text = summary.read_text()
    assert text.startswith("## vdb-harness demo\n") and text.count("## vdb-harness demo\n") == 1
    assert "## vdb-harness run" not in text and "## vdb-harness load" not in text  # the stages wrote none
    assert text.rstrip().endswith((tmp_path / "demo" / "report" / "summary.md").read_text().rstrip())


@pytest.mark.server
@pytest.mark.timeout(300)
def test_conformance_appends_its_report(milvus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary = tmp_path / "s.md"
    out = tmp_path / "conf"
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "conformance", "-k", "list_collections", "--target",
                           milvus.uri, "--out", str(out)], capture_output=True, text=True, timeout=280,
                          env={**os.environ, step_summary.ENV: str(summary)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert summary.read_text() == (out / "conformance.md").read_text().rstrip("\n") + "\n\n"
