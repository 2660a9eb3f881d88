"""Bad input to ``vdb-harness load``, ``report`` and ``gate``: one clear message, exit 2, no traceback.

(Unreachable URIs and closed ports are covered by tests/test_targets.py and tests/test_cli.py.)
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vdb_harness.kernel.results import new_result, write_result
from scenarios.targets import Connection


def _cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vdb_harness.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def _one_message(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return " ".join(proc.stderr.split())  # rich wraps long lines


@pytest.mark.server
@pytest.mark.timeout(90)
def test_load_on_a_database_that_does_not_exist_exits_2(milvus: Connection, tmp_path: Path) -> None:
    text = _one_message(_cli("load", "dense_search", "--target", milvus.uri, "--db", "no_such_db_here",
                             "--out", str(tmp_path / "o")))
    assert "database 'no_such_db_here' does not exist" in text and milvus.uri in text


@pytest.mark.timeout(90)
def test_load_on_a_port_that_is_not_milvus_exits_2(tmp_path: Path) -> None:
    """Something listens (and accepts) but never speaks gRPC: the default 30 s client timeout bounds the wait."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        text = _one_message(_cli("load", "dense_search", "--target", f"http://127.0.0.1:{port}",
                                 "--out", str(tmp_path / "o"), timeout=75))
    assert f"127.0.0.1:{port}: cannot connect" in text


@pytest.mark.server
@pytest.mark.timeout(90)
def test_token_handling_that_milvus_lite_allows_testing(milvus: Connection, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A *wrong* token cannot be shown against Milvus Lite: it has no authentication and accepts any token (or
    none), so there is no server here that refuses one. A wrong token against an authenticating Milvus goes
    through the same path as the wrong database above (``scenarios.targets.verify_connection``: one real call, its
    refusal reported as one message, exit 2). What can be tested: a token variable that is named but not set is
    refused before any traffic, with exit 2; a set one is read from the environment only and accepted by Lite."""
    text = _one_message(_cli("load", "dense_search", "--target", milvus.uri, "--token-env", "VDBH_UNSET_TOKEN_VAR",
                             "--out", str(tmp_path / "o")))
    assert "VDBH_UNSET_TOKEN_VAR is not set" in text
    monkeypatch.setenv("VDBH_FAULTS_TOKEN", "root:not-the-password")
    proc = _cli("load", "dense_search", "--target", milvus.uri, "--token-env", "VDBH_FAULTS_TOKEN",
                "--prepare-only", "--out", str(tmp_path / "p"))
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("command", ["report", "gate"])
def test_report_and_gate_on_a_truncated_result_exit_2_naming_the_file(tmp_path: Path, command: str) -> None:
    good = write_result({**new_result("load"), "status": "pass",
                         "load": {"tasks": {}, "slo": {"checks": [], "ok": True}}}, tmp_path / "good")
    bad = write_result(new_result("load"), tmp_path / "bad")
    bad.write_text(bad.read_text()[:60])
    if command == "report":
        proc = _cli("report", str(bad), "--out", str(tmp_path / "r"))
    else:
        proc = _cli("gate", "--baseline", str(good), "--candidate", str(bad))
    text = _one_message(proc)
    assert str(bad) in text.replace(" ", "")  # rich may wrap the path
    assert "corrupt or truncated" in text
