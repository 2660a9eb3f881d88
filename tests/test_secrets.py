"""Tokens never leak: a run made with a known fake token leaves no trace of it in any artifact or output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.loader import EXAMPLES_DIR
from scenarios.targets import Connection

FAKE_TOKEN = "root:Sup3r-Secret-T0ken-4242"

SMALL = (EXAMPLES_DIR / "seed_tutorial.toml").read_text().replace("rows = 10000", "rows = 300").replace(
    "insert_batch_size = 10000", "insert_batch_size = 100")


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vdb_harness.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.timeout(600)
def test_no_artifact_or_output_contains_the_token(milvus: Connection, tmp_path: Path) -> None:
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL)
    env = {**os.environ, "VDBH_FAKE_TOKEN": FAKE_TOKEN}
    target = ["--target", milvus.uri, "--token-env", "VDBH_FAKE_TOKEN"]
    runs = [
        _cli(["run", str(scenario), *target, "--out", str(tmp_path / "run")], env),
        _cli(["load", str(scenario), *target, "--users", "2", "--run-time", "2s", "--serial-time", "1s",
              "--no-sweep", "--out", str(tmp_path / "load")], env),
        _cli(["report", str(tmp_path / "run"), str(tmp_path / "load"), "--out", str(tmp_path / "report")], env),
    ]
    for proc in runs:
        assert proc.returncode in (0, 1), proc.stderr[-2000:]
        assert FAKE_TOKEN not in proc.stdout + proc.stderr
    artifacts = [p for p in tmp_path.rglob("*") if p.is_file() and p != scenario]
    assert len(artifacts) >= 5  # two results, three report files at least
    for path in artifacts:
        data = path.read_bytes()
        assert FAKE_TOKEN.encode() not in data, f"the token leaked into {path}"
        assert b"Sup3r-Secret" not in data, f"part of the token leaked into {path}"
