"""The result file: atomic writes, version checks, and errors that name the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.results import atomic_write_text, new_result, read_result, write_result


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    result = new_result("run", scenario={"name": "x"})
    result["status"] = "pass"
    result["run"] = {"nan": float("nan"), "inf": float("inf"), "n": 3}
    path = write_result(result, tmp_path / "out")
    back = read_result(path)
    assert back["kind"] == "run" and back["status"] == "pass" and back["finished_at"]
    assert back["run"] == {"nan": None, "inf": None, "n": 3}
    assert read_result(tmp_path / "out")["run_id"] == result["run_id"]  # a directory means its result.json
    assert back["environment"]["packages"]["pymilvus"] != "not installed"


def test_unknown_version_and_format_are_refused(tmp_path: Path) -> None:
    path = write_result(new_result("load"), tmp_path)
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(BadInputError, match=r"result\.json: result format version 99 is not supported"):
        read_result(path)
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(BadInputError, match="not a vdb-harness result file"):
        read_result(path)


def test_truncated_and_missing_files_are_named(tmp_path: Path) -> None:
    path = write_result(new_result("load"), tmp_path)
    path.write_text(path.read_text()[:50])
    with pytest.raises(BadInputError, match=rf"{path}: not a valid result file \(corrupt or truncated"):
        read_result(path)
    with pytest.raises(BadInputError, match="no such result file"):
        read_result(tmp_path / "nope.json")


def test_interrupted_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "result.json"
    atomic_write_text(target, "old and complete\n")

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new" * 1000)
    assert target.read_text() == "old and complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temp file left behind
