"""Managed virtualenvs: keyed by requirement set and Python, created once and reused, atomic (a failed creation
leaves nothing), layered venvs see their layer's packages, and every failure is a VenvError (exit 2) naming it.

Offline: the requirements are tiny wheels written by the test, so pip never asks an index."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scenarios import venvs


def _wheel(directory: Path, name: str, body: str = "VALUE = 1\n") -> Path:
    """A minimal pure-Python wheel ``name-1.0`` holding module ``name``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    files = {f"{name}.py": body,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for n, text in files.items():
            zf.writestr(n, text)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VDB_HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # nothing here may reach a package index
    return tmp_path / "cache" / "venvs"


def test_the_key_is_the_requirement_set_and_the_python() -> None:
    tag = venvs.python_tag(sys.executable)
    assert tag == f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
    assert venvs.venv_key(["b==1", "a<2"], tag) == venvs.venv_key(["a<2", "b==1", "a<2"], tag)
    assert venvs.venv_key(["a<2"], tag) != venvs.venv_key(["a<3"], tag)
    assert venvs.venv_key(["a<2"], tag) != venvs.venv_key(["a<2"], "cpython-3.10")


def test_created_once_then_reused(cache: Path, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "w", "vdbtestpkg")
    said: list[str] = []
    python = venvs.ensure_venv([str(wheel)], label="test pkg", progress=said.append)
    assert any("creating the virtualenv for test pkg" in m for m in said) and any("ready in" in m for m in said)
    assert python.parent.parent.parent == cache and (python.parent.parent / venvs.MARKER).is_file()
    out = subprocess.run([str(python), "-c", "import vdbtestpkg; print(vdbtestpkg.VALUE)"], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "1", out.stderr
    assert str(python.parent.parent) in (python.parent.parent / "bin" / "activate").read_text()  # relocated
    again: list[str] = []
    assert venvs.ensure_venv([str(wheel)], progress=again.append) == python and again == []  # reused, silent
    assert venvs.find_venv([str(wheel)]) == python.parent.parent
    assert [p.name for p in cache.iterdir() if p.name.startswith(".tmp")] == []


def test_a_layered_venv_sees_its_layer_behind_its_own_packages(cache: Path, tmp_path: Path) -> None:
    base = venvs.ensure_venv([str(_wheel(tmp_path / "a", "vdblayera", "VALUE = 'layer'\n"))])
    top = venvs.ensure_venv([str(_wheel(tmp_path / "b", "vdblayerb", "VALUE = 'own'\n"))], layer_on=base)
    assert top != base
    out = subprocess.run([str(top), "-c", "import vdblayera, vdblayerb; print(vdblayera.VALUE, vdblayerb.VALUE)"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["layer", "own"], out.stderr
    alone = subprocess.run([str(base), "-c", "import vdblayerb"], capture_output=True, text=True, timeout=60)
    assert alone.returncode != 0  # the layer does not see what is installed on top of it
    shadow = _wheel(tmp_path / "c", "vdblayera", "VALUE = 'shadowed'\n")  # same module, another copy
    third = venvs.ensure_venv([str(shadow)], layer_on=top, pip_options=("--no-deps", "--ignore-installed"))
    out = subprocess.run([str(third), "-c", "import vdblayera, vdblayerb; print(vdblayera.VALUE, vdblayerb.VALUE)"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["shadowed", "own"], out.stderr  # layers chain; the top one wins


def test_a_failed_install_leaves_nothing_and_names_the_problem(cache: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-1.0-py3-none-any.whl"
    with pytest.raises(venvs.VenvError) as err:
        venvs.ensure_venv([str(missing)], label="broken")
    assert err.value.exit_code == 2
    assert "cannot install" in str(err.value) and "no-such" in str(err.value)
    assert list(cache.iterdir()) == []  # no temp dir, no half-made venv


def test_a_python_that_does_not_exist_is_named(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(venvs.VenvError, match="nowhere/python3"):
        venvs.ensure_venv(["x==1"], python=str(tmp_path / "nowhere" / "python3"))
    assert not cache.exists() or list(cache.iterdir()) == []


def test_an_unmarked_dir_is_not_trusted_and_stale_temp_dirs_are_removed(cache: Path, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "w", "vdbtestpkg2")
    key = venvs.venv_key([str(wheel)], venvs.python_tag(sys.executable))
    (cache / key).mkdir(parents=True)  # e.g. left by an older layout: no marker
    dead = cache / f".tmp-{key}-999999999-abc"  # a creator that was killed
    dead.mkdir()
    mine = cache / f".tmp-{key}-{os.getpid()}-xyz"  # a creator still running
    mine.mkdir()
    python = venvs.ensure_venv([str(wheel)])
    assert (python.parent.parent / venvs.MARKER).is_file()
    assert not dead.exists() and mine.exists()
