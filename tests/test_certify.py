"""Certification bundles: stages sealed with sha256s, an archive, verification that catches any tampering,
and no token in any artifact. Stages are fakes writing synthetic results."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Callable

import pytest

from reports.bundle import secret_values, verify
from vdb_harness.jobs.certify import Stage, certify
from vdb_harness.cli import main
from reports.synthetic import conformance_result, load_result
from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.results import write_result

TOKEN = "root:Milvus-s3cr3t-token"


def _stage(result: dict, code: int = 0, extra: Callable[[Path], None] | None = None) -> Callable[[Path], int]:
    def run(stage_dir: Path) -> int:
        write_result(result, stage_dir)
        if extra:
            extra(stage_dir)
        return code
    return run


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[int, Path, Path]:
    """A passing certification whose load stage leaked the token into a log file."""
    leaky = load_result(1)
    leaky["notes"].append(f"connected with token {TOKEN}")
    stages = [Stage("conformance", _stage(conformance_result())),
              Stage("load", _stage(leaky, extra=lambda d: (d / "locust.log").write_text(f"auth={TOKEN}\n"))),
              Stage("capacity", _stage(load_result(2)))]
    return certify(stages, tmp_path / "bundle", profile="release",
                   secrets=secret_values(["MY_TOKEN"], {"MY_TOKEN": TOKEN, "HOME": "/root"}))


def test_bundle_has_manifest_archive_and_no_token(sealed: tuple[int, Path, Path]) -> None:
    code, root, archive = sealed
    assert code == 0 and archive.name == "bundle.tar.gz"
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format"] == "vdb-harness/bundle" and manifest["verdict"] == "pass"
    assert [s["status"] for s in manifest["stages"]] == ["pass", "pass", "pass"]
    assert manifest["client"]["pymilvus"] and manifest["harness"]["version"]
    assert manifest["server"]["versions"] == ["2.5.4"] and manifest["datasets"][0]["fingerprint"] == "f" * 16
    paths = {a["path"] for a in manifest["artifacts"]}
    assert {"result.json", "load/result.json", "load/locust.log", "report/report.html", "report/junit.xml"} <= paths
    assert all(len(a["sha256"]) == 64 for a in manifest["artifacts"])
    assert sorted(manifest["redacted_files"]) == ["load/locust.log", "load/result.json"]
    for f in root.rglob("*"):
        if f.is_file():
            assert TOKEN not in f.read_text(errors="replace"), f
    with tarfile.open(archive) as tar:
        for m in tar.getmembers():
            if m.isfile():
                assert TOKEN.encode() not in tar.extractfile(m).read(), m.name
    assert verify(root).ok and verify(archive).ok


@pytest.mark.parametrize("tamper", ["edit", "delete", "add", "edit_archive"])
def test_verify_detects_tampering(sealed: tuple[int, Path, Path], tamper: str,
                                  capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _code, root, archive = sealed
    target = root
    if tamper == "edit":
        path = root / "load" / "result.json"
        path.write_text(path.read_text().replace('"qps": 4', '"qps": 5', 1))
    elif tamper == "delete":
        (root / "report" / "junit.xml").unlink()
    elif tamper == "add":
        (root / "capacity" / "extra.txt").write_text("hello")
    elif tamper == "edit_archive":
        (root / "report" / "summary.md").write_text("## all good, trust me\n")
        target = tmp_path / "forged.tar.gz"
        with tarfile.open(target, "w:gz") as tar:
            tar.add(root, arcname="bundle")
    assert main(["certify", "--verify", str(target)]) == 1
    out = capsys.readouterr().out
    expected = {"edit": "modified: load/result.json", "delete": "missing: report/junit.xml",
                "add": "unexpected file: capacity/extra.txt", "edit_archive": "modified: report/summary.md"}
    assert expected[tamper] in out and "TAMPERED" in out
    assert main(["certify", "--verify", str(archive)]) == 0  # the original archive is still intact


def test_failing_and_crashing_stages_give_the_verdict(tmp_path: Path) -> None:
    def boom(_d: Path) -> int:
        raise BadInputError("scenario nope: no such file")
    stages = [Stage("conformance", _stage(conformance_result(["search"]), code=1)), Stage("load", boom)]
    code, root, _archive = certify(stages, tmp_path / "b", profile="ci", secrets=[])
    manifest = json.loads((root / "manifest.json").read_text())
    assert code == 1 and manifest["verdict"] == "fail"
    assert manifest["stages"][1] == {"name": "load", "exit_code": 2, "status": "error", "result": None,
                                     "note": "scenario nope: no such file"}
    code, _root, _a = certify([Stage("load", boom)], tmp_path / "c", profile="ci", secrets=[])
    assert code == 2
    with pytest.raises(BadInputError, match="must be new or empty"):
        certify([], tmp_path / "b", profile="ci", secrets=[])


@pytest.mark.parametrize("problem", ["missing", "not_bundle", "version", "garbage_archive", "unsafe_archive"])
def test_verify_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str) -> None:
    path = tmp_path / "x"
    if problem == "not_bundle":
        path.mkdir()
    elif problem == "version":
        path.mkdir()
        (path / "manifest.json").write_text(json.dumps({"format": "vdb-harness/bundle", "version": 9,
                                                        "artifacts": []}))
    elif problem == "garbage_archive":
        path = tmp_path / "x.tar.gz"
        path.write_bytes(b"not a tarball")
    elif problem == "unsafe_archive":
        path = tmp_path / "x.tar.gz"
        (tmp_path / "evil").write_text("x")
        with tarfile.open(path, "w:gz") as tar:
            tar.add(tmp_path / "evil", arcname="../evil")
    assert main(["certify", "--verify", str(path)]) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert str(path) in err and "Traceback" not in err


def test_secret_values_finds_token_like_variables() -> None:
    env = {"MILVUS_TOKEN": "abcdefgh", "X": "short", "DB_PASSWORD": "hunter22", "PATH": "/usr/bin", "MINE": "zzzzzzzz"}
    assert set(secret_values(["MINE"], env)) == {"abcdefgh", "hunter22", "zzzzzzzz"}
