"""The command line contract (README.md, ``vdb-harness --help``): help that teaches, exit codes, one clear message,
no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import free_port
from vdb_harness.cli import SUBCOMMANDS, main


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vdb_harness.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_top_level_help_lists_every_subcommand_and_the_exit_codes(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out
    assert "exit codes" in out and "130 interrupted" in out
    import sys

    # the load subcommand patches the process for gevent when imported: the top-level help must not import it
    assert "loadtests.command" not in sys.modules


@pytest.mark.parametrize("name", ["run", "serve"])
def test_subcommand_help_has_an_example(name: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and f"vdb-harness {name}" in out


def test_run_help_shows_the_shared_target_flags(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for flag in ("--target", "--token-env", "--db", "--out"):
        assert flag in out


def test_bad_scenario_exits_2_with_one_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[dataset]\nkind = "generated"\nrows = -1\n')
    proc = _cli("run", str(bad), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "bad.toml" in proc.stderr and "dataset.generated.rows" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unreachable_target_exits_2_with_one_message(tmp_path: Path) -> None:
    port = free_port()
    proc = _cli("run", "seed_tutorial", "--target", f"http://127.0.0.1:{port}", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2, proc.stderr
    assert f"127.0.0.1:{port}: nothing answers" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unset_token_variable_exits_2(tmp_path: Path) -> None:
    proc = _cli("run", "seed_tutorial", "--target", "http://127.0.0.1:19530", "--token-env", "VDBH_NOT_SET_ANYWHERE",
                "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "VDBH_NOT_SET_ANYWHERE is not set" in proc.stderr


def test_no_subcommand_prints_help_and_exits_2() -> None:
    proc = _cli()
    assert proc.returncode == 2 and "usage: vdb-harness" in proc.stdout
