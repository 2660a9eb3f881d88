"""The release sweep: release selection and order, resume, uninstallable releases, engine fallback, the per-method
table (first release showing a divergence, first release without it), its Markdown/HTML and result file, and the
command's exit codes. Units use a fake runner; one slow test sweeps a real release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import sweep
from reports import sweep_report
from scenarios import venvs
from vdb_harness.kernel.results import read_result

PIP_OUTPUT = """pymilvus (3.0.2)
Available versions: 3.0.2, 3.0.1, 3.0.0, 2.6.17, 2.6.2, 2.6.1, 2.6.0, 2.5.18, 2.5.3, 2.5.0, 2.4.15, 2.6.3rc1, 1.1.2
  INSTALLED: 3.0.2
"""


def test_default_selection_is_every_26_and_30_plus_the_first_and_last_25() -> None:
    versions = sweep.parse_versions(PIP_OUTPUT)
    assert "2.6.3rc1" in versions
    assert sweep.default_selection(versions) == ["2.5.0", "2.5.18", "2.6.0", "2.6.1", "2.6.2", "2.6.17", "3.0.0",
                                                 "3.0.1", "3.0.2"]
    assert sweep.select_releases("2.6.2,>=3.0.1", versions) == ["2.6.2", "3.0.1", "3.0.2"]
    with pytest.raises(Exception, match="selects no release"):
        sweep.select_releases(">=9", versions)
    with pytest.raises(Exception, match="neither a version nor a specifier"):
        sweep.select_releases("latest", versions)


def test_engines_per_release_and_their_pins() -> None:
    assert sweep.engine_order("2.5.0") == ["lite25"] and sweep.engine_order("2.6.0")[0] == "lite"
    reqs = sweep.release_requirements("2.5.3", "lite25")
    assert "pymilvus==2.5.3" in reqs and "milvus-lite==2.5.1" in reqs and "setuptools<81" in reqs
    assert sweep.release_requirements("3.0.2", "lite") == ["pymilvus==3.0.2"]


def test_spread_order_brackets_the_range_first() -> None:
    rel = [f"2.6.{i}" for i in range(9)]
    order = sweep.spread(rel)
    assert sorted(order) == sorted(rel) and len(order) == len(rel)
    assert order[:3] == ["2.6.8", "2.6.0", "2.6.4"]


def _result(methods: dict[str, tuple[str, list[str]]], pymilvus: str) -> dict[str, Any]:
    rows = [{"method": m, "category": "x", "server": "lite3", "pymilvus": pymilvus, "status": status,
             "detail": "setup failed" if status == "error" else "",
             "signatures": {s: {"count": 1, "verdict": "known" if status == "known-divergence" else "new"}
                            for s in sigs}}
            for m, (status, sigs) in methods.items()]
    return {"format": "vdb-harness/result", "version": 1, "kind": "conformance", "status": "pass",
            "environment": {"packages": {"pymilvus": pymilvus}},
            "target": {"server_version": "milvus-lite-python 3.2.2"}, "conformance": {"matrix": rows}}


class FakeRunner:
    """Releases -> methods -> (status, signatures); ``broken`` releases cannot be installed; ``dead`` engines do
    not start (no result)."""

    def __init__(self, table: dict[str, dict[str, tuple[str, list[str]]]], broken: tuple[str, ...] = (),
                 dead: tuple[tuple[str, str], ...] = (), no_async: tuple[str, ...] = ()) -> None:
        self.table, self.broken, self.dead, self.no_async = table, broken, dead, no_async
        self.runs: list[tuple[str, str]] = []

    def install(self, version: str, engine: str) -> str:
        if version in self.broken:
            raise venvs.VenvError(f"cannot install pymilvus=={version}: no matching distribution")
        return f"/fake/{version}/{engine}/python"

    def run(self, python: str, version: str, engine: str, out: Path) -> sweep.RunOutcome:
        self.runs.append((version, engine))
        out.mkdir(parents=True, exist_ok=True)
        if version in self.no_async:
            return sweep.RunOutcome(1, None, "", unsupported=f"pymilvus {version} has no AsyncMilvusClient")
        if (version, engine) in self.dead:
            return sweep.RunOutcome(2, None, "error: the embedded server did not start")
        result = _result(self.table[version], version)
        (out / "result.json").write_text(json.dumps(result))
        return sweep.RunOutcome(0, result, "")


TABLE = {
    "2.6.0": {"search": ("pass", []), "get": ("pass", [])},
    "2.6.1": {"search": ("diverges", ["kind=async-raised"]), "get": ("pass", [])},
    "2.6.2": {"search": ("diverges", ["kind=async-raised"]), "get": ("known-divergence", ["kind=value-differs"])},
    "3.0.0": {"search": ("pass", []), "get": ("known-divergence", ["kind=value-differs"]),
              "new_method": ("unsupported", [])},
}


def test_the_table_says_which_release_brought_and_which_removed_each_divergence(tmp_path: Path) -> None:
    runner = FakeRunner(TABLE)
    entries = sweep.sweep(sweep.spread(sorted(TABLE, key=sweep.Version)), tmp_path, runner, "fp1",
                          progress=lambda m: None)
    table = sweep.table(entries)
    assert table["releases"] == ["2.6.0", "2.6.1", "2.6.2", "3.0.0"]  # version order, whatever the sweep order
    search = next(d for d in table["divergences"] if d["method"] == "search")
    assert (search["first_seen"], search["first_gone"], search["known"]) == ("2.6.1", "3.0.0", False)
    get = next(d for d in table["divergences"] if d["method"] == "get")
    assert (get["first_seen"], get["first_gone"], get["known"]) == ("2.6.2", None, True)

    rows = {r["method"]: r["releases"] for r in table["methods"]}
    assert rows["search"] == {"pass": ["2.6.0", "3.0.0"], "diverges": ["2.6.1", "2.6.2"]}
    assert rows["new_method"] == {"unsupported": ["3.0.0"], "absent": ["2.6.0", "2.6.1", "2.6.2"]}
    md = sweep_report.markdown(table)
    assert "| `search` | kind=async-raised | new | 2.6.1 | 3.0.0 | milvus-lite-python 3.2.2 |" in md
    assert "| `get` | kind=value-differs | known | 2.6.2 | still in the newest on that server |" in md
    assert "2.6.1–2.6.2 [kind=async-raised]" in md
    html = sweep_report.html(table)
    assert "<table>" in html and "kind=async-raised" in html and 'class="diverges"' in html


def test_a_divergence_is_gone_only_on_the_same_server(tmp_path: Path) -> None:
    """2.5.x run on Lite 2.5.1, 2.6.x on Lite 3: a signature that stops at the change of server is not 'gone'."""
    entries = [{"version": "2.5.3", "status": "swept", "server": "milvus-lite-cpp 2.5.1",
                "methods": {"delete": {"status": "known-divergence", "signatures": {"sig": "known"}}}},
               {"version": "2.6.0", "status": "swept", "server": "milvus-lite-python 3.2.2",
                "methods": {"delete": {"status": "pass", "signatures": {}}}},
               {"version": "2.5.18", "status": "swept", "server": "milvus-lite-cpp 2.5.1",
                "methods": {"delete": {"status": "pass", "signatures": {}}}}]
    (div,) = sweep.table(entries)["divergences"]
    assert (div["first_seen"], div["first_gone"], div["server"]) == ("2.5.3", "2.5.18", "milvus-lite-cpp 2.5.1")

def test_resume_skips_what_this_build_swept_and_force_or_a_new_build_reruns(tmp_path: Path) -> None:
    runner = FakeRunner(TABLE)
    releases = ["2.6.0", "2.6.1"]
    sweep.sweep(releases, tmp_path, runner, "fp1", progress=lambda m: None)
    assert len(runner.runs) == 2
    said: list[str] = []
    again = sweep.sweep(releases, tmp_path, runner, "fp1", progress=said.append)
    assert len(runner.runs) == 2 and all(e["status"] == "swept" for e in again)
    assert any("already swept by this harness build" in m for m in said)
    sweep.sweep(releases, tmp_path, runner, "fp1", force=True, progress=lambda m: None)
    assert len(runner.runs) == 4
    sweep.sweep(releases, tmp_path, runner, "fp2", progress=lambda m: None)
    assert len(runner.runs) == 6
    sweep.sweep(releases, tmp_path, runner, "fp2", select="search", progress=lambda m: None)
    assert len(runner.runs) == 8  # another selection is another sweep


def test_an_uninstallable_release_is_reported_and_a_dead_engine_falls_back(tmp_path: Path) -> None:
    runner = FakeRunner(TABLE, broken=("2.6.1",), dead=(("2.6.2", "lite"),))
    said: list[str] = []
    entries = sweep.sweep(["2.6.0", "2.6.1", "2.6.2"], tmp_path, runner, "fp", progress=said.append)
    by = {e["version"]: e for e in entries}
    assert by["2.6.1"]["status"] == "uninstallable" and "no matching distribution" in by["2.6.1"]["notes"][-1]
    assert any("2.6.1: cannot be installed" in m for m in said)
    assert by["2.6.2"]["status"] == "swept" and by["2.6.2"]["engine"] == "lite25"
    assert ("2.6.2", "lite") in runner.runs and ("2.6.2", "lite25") in runner.runs
    kept = tmp_path / "releases" / "2.6.2" / "did-not-finish-on-lite.log"
    assert "did not start" in kept.read_text()  # why the first engine was left
    table = sweep.table(entries)
    assert table["releases"] == ["2.6.0", "2.6.2"]
    assert [e["version"] for e in table["not_swept"]] == ["2.6.1"]
    again = sweep.sweep(["2.6.1"], tmp_path, runner, "fp", progress=lambda m: None)
    assert again[0]["status"] == "uninstallable"  # an uninstallable release is tried again, not resumed


def test_a_run_that_imported_another_pymilvus_is_not_counted(tmp_path: Path) -> None:
    class Shadowed(FakeRunner):
        def run(self, python: str, version: str, engine: str, out: Path) -> sweep.RunOutcome:
            outcome = super().run(python, version, engine, out)
            assert outcome.result is not None
            outcome.result["environment"]["packages"]["pymilvus"] = "3.0.2"
            return outcome

    entry = sweep.sweep(["2.6.1"], tmp_path, Shadowed(TABLE), "fp", progress=lambda m: None)[0]
    assert entry["status"] == "failed" and "imported pymilvus 3.0.2, not 2.6.1" in entry["notes"][-1]
    assert sweep.table([entry])["releases"] == []


def test_a_release_without_an_async_client_is_unsupported_and_resumed(tmp_path: Path) -> None:
    runner = FakeRunner(TABLE, no_async=("2.6.0",))
    entries = sweep.sweep(["2.6.0", "2.6.1"], tmp_path, runner, "fp", progress=lambda m: None)
    assert entries[0]["status"] == "unsupported" and "no AsyncMilvusClient" in entries[0]["notes"][-1]
    assert runner.runs == [("2.6.0", "lite"), ("2.6.1", "lite")]  # no engine fallback for a client without one
    sweep.sweep(["2.6.0"], tmp_path, runner, "fp", progress=lambda m: None)
    assert len(runner.runs) == 2
    table = sweep.table(entries)
    assert table["not_swept"][0]["status"] == "unsupported" and table["releases"] == ["2.6.1"]
    assert "not swept: 2.6.0 (unsupported)" in sweep_report.markdown(table)


def test_the_combined_result_is_a_conformance_result_with_the_sweep_section(tmp_path: Path) -> None:
    entries = sweep.sweep(["2.6.0", "2.6.1"], tmp_path, FakeRunner(TABLE), "fp", progress=lambda m: None)
    result = sweep.combined_result(entries, tmp_path, "fp")
    from vdb_harness.kernel.results import write_result

    read = read_result(write_result(result, tmp_path))
    assert read["kind"] == "conformance" and read["status"] == "fail"  # 2.6.1 diverges
    assert {(r["method"], r["pymilvus"]) for r in read["conformance"]["matrix"]} == {
        ("search", "2.6.0"), ("get", "2.6.0"), ("search", "2.6.1"), ("get", "2.6.1")}
    assert read["sweep"]["releases"] == ["2.6.0", "2.6.1"]


def _command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: FakeRunner, *argv: str) -> int:
    from vdb_harness.cli import main

    monkeypatch.setattr(sweep, "available_releases", lambda python=None: sweep.parse_versions(PIP_OUTPUT))
    monkeypatch.setattr(sweep, "build_wheel", lambda fingerprint, progress=None: tmp_path / "fake.whl")
    monkeypatch.setattr(sweep, "VenvRunner", lambda **kw: runner)
    return main(["sweep", "--out", str(tmp_path / "out"), *argv])


def test_the_command_exits_2_only_when_nothing_could_be_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    table = {"2.6.2": TABLE["2.6.0"], "3.0.2": TABLE["2.6.0"]}
    assert _command(tmp_path, monkeypatch, FakeRunner(table, broken=("2.6.2",)), "--releases", "2.6.2,3.0.2") == 0
    out = capsys.readouterr().out
    assert "[1/2] pymilvus 3.0.2" in out and "2.6.2: cannot be installed" in out
    md = (tmp_path / "out" / "sweep.md").read_text()
    assert "not swept: 2.6.2 (uninstallable)" in md and (tmp_path / "out" / "sweep.html").is_file()
    assert read_result(tmp_path / "out")["sweep"]["releases"] == ["3.0.2"]
    table["2.6.2"] = TABLE["2.6.1"]
    assert _command(tmp_path, monkeypatch, FakeRunner(table), "--releases", "2.6.2") == 1  # 2.6.2 diverges
    both = read_result(tmp_path / "out")["sweep"]
    assert both["releases"] == ["2.6.2", "3.0.2"] and not both.get("partial")  # earlier releases stay in the table
    (tmp_path / "out" / "sweep.md").unlink()
    assert _command(tmp_path, monkeypatch, FakeRunner({}), "--report-only") == 0  # runs nothing, rewrites the table
    again = read_result(tmp_path / "out")["sweep"]
    assert again["releases"] == ["2.6.2", "3.0.2"] and "not yet: 2.5.0, 2.5.18, 2.6.0" in again["partial"]
    assert (tmp_path / "out" / "sweep.md").is_file()
    assert _command(tmp_path / "b", monkeypatch, FakeRunner({}, broken=("2.6.2", "3.0.2")),
                    "--releases", "2.6.2,3.0.2") == 2
    assert "nothing could be swept" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.server
def test_a_real_release_sweeps(tmp_path: Path) -> None:
    """One real release, a few methods: its venv is made (or reused), the installed harness runs the suite against
    Milvus Lite, and every selected method gets a real verdict (no error)."""
    import subprocess
    import sys

    out = tmp_path / "sweep"
    proc = subprocess.run([sys.executable, "-m", "vdb_harness.cli", "sweep", "--releases", "3.0.2", "-k", "get",
                           "--out", str(out)], capture_output=True, text=True, timeout=3000,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    table = read_result(out)["sweep"]
    assert table["releases"] == ["3.0.2"]
    cells = [m["cells"]["3.0.2"]["status"] for m in table["methods"]]
    assert cells and "error" not in cells
