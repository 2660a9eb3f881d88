"""Managed virtualenvs: ``~/.cache/vdb-harness/venvs/<key>``, created on first use and reused afterwards.

A venv is keyed by its pinned requirement set and the Python that runs it (implementation and major.minor), so the
same pins on the same Python always give the same directory. Creation is atomic: the venv is built in a temporary
sibling directory and renamed into place only once ``pip install`` succeeded and the marker file is written; a failed
creation (no network, a requirement that needs another Python, a Python that does not exist) raises
:class:`VenvError` (exit 2) naming the problem and leaves nothing behind. ``VDB_HARNESS_CACHE`` moves the cache root.

Usage::

    python = ensure_venv(["milvus-lite==2.5.1", "setuptools<81"], label="Milvus Lite 2.5.1")
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.processes import pid_alive

MARKER = "vdb-harness-venv.json"
Progress = Callable[[str], None]


class VenvError(BadInputError):
    """A managed virtualenv could not be created (the message names the requirement, the Python and pip's reason)."""


def cache_root() -> Path:
    """Where managed venvs live: ``$VDB_HARNESS_CACHE/venvs`` or ``~/.cache/vdb-harness/venvs``."""
    base = os.environ.get("VDB_HARNESS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vdb-harness")
    return Path(base) / "venvs"


def python_tag(python: str) -> str:
    """``cpython-3.11`` for the interpreter ``python``; a missing or broken interpreter is a :class:`VenvError`."""
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.implementation.name, *sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VenvError(f"cannot run the Python {python!r} for a managed virtualenv: {exc}") from None
    if out.returncode != 0 or len(out.stdout.split()) != 3:
        raise VenvError(f"{python!r} is not a working Python interpreter: {(out.stderr or out.stdout).strip()[-300:]}")
    name, major, minor = out.stdout.split()
    return f"{name}-{major}.{minor}"


def venv_key(requirements: Sequence[str], tag: str) -> str:
    """The directory name for ``requirements`` on the Python ``tag`` (order and duplicates do not matter)."""
    pins = sorted({r.strip() for r in requirements if r.strip()})
    digest = hashlib.sha256(json.dumps([tag, pins]).encode()).hexdigest()[:16]
    return f"{tag}-{digest}"


def venv_python(venv: Path) -> Path:
    """The interpreter inside a venv directory."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def find_venv(requirements: Sequence[str], python: Optional[str] = None) -> Optional[Path]:
    """The ready venv for these requirements on ``python`` (default: this interpreter), or None if not created yet."""
    venv = cache_root() / venv_key(requirements, python_tag(python or sys.executable))
    return venv if (venv / MARKER).is_file() and venv_python(venv).exists() else None


def _say(progress: Optional[Progress], message: str) -> None:
    (progress or (lambda m: print(m, file=sys.stderr, flush=True)))(message)


def ensure_venv(requirements: Sequence[str], *, python: Optional[str] = None, label: str = "",
                progress: Optional[Progress] = None, timeout: float = 1800.0, layer_on: Optional[Path] = None,
                pip_options: Sequence[str] = ()) -> Path:
    """The interpreter of the managed venv holding exactly ``requirements`` (created now if it does not exist yet).

    ``python`` is the base interpreter (default: this one); ``label`` names the venv in progress and error messages.
    ``layer_on`` (another managed venv's interpreter) makes this venv see that one's packages behind its own (a
    ``.pth`` file), so only what differs is installed: the release sweep's per-release venvs share one layer of the
    harness' dependencies (layers chain: a layer's own layer is seen too). ``pip_options`` (e.g. ``--no-deps``) are
    part of the key. Raises :class:`VenvError` when the venv cannot be created; nothing half-made is left."""
    if not requirements:
        raise VenvError("a managed virtualenv needs at least one requirement")
    base = python or sys.executable
    tag = python_tag(base)
    root = cache_root()
    key = venv_key(list(requirements) + [f"pip:{o}" for o in pip_options]
                   + ([f"layer:{Path(layer_on).parent.parent.name}"] if layer_on else []), tag)
    final = root / key
    name = label or ", ".join(requirements)
    if (final / MARKER).is_file() and venv_python(final).exists():
        return venv_python(final)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VenvError(f"cannot create the virtualenv cache {root}: {exc}") from None
    if final.exists():  # a directory without the marker is not ours to trust (an older, interrupted layout)
        shutil.rmtree(final, ignore_errors=True)
    remove_stale(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-{os.getpid()}-", dir=root))
    started = time.monotonic()
    _say(progress, f"creating the virtualenv for {name} ({tag}) in {final} - first use only, this takes a while")
    try:
        _run([base, "-m", "venv", str(tmp)], f"create a virtualenv with {base}", progress=None, timeout=300)
        py = venv_python(tmp)
        if layer_on is not None:
            _add_layer(py, Path(layer_on))
        _run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
              *pip_options, *requirements], f"install {' '.join(requirements)} with {tag}", progress=progress, timeout=timeout)
        (tmp / MARKER).write_text(json.dumps({"requirements": sorted(set(requirements)), "python": tag,
                                              "base": base, "created": time.time()}, indent=1))
        _relocate(tmp, final)
        try:
            tmp.rename(final)
        except OSError:
            if not (final / MARKER).is_file():  # not a concurrent creator winning the race: a real failure
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # someone else made the same venv first: use theirs
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _say(progress, f"virtualenv for {name} ready in {time.monotonic() - started:.0f} s")
    return venv_python(final)


def remove_stale(root: Path) -> list[Path]:
    """Remove temporary venvs whose creating process is gone (killed before it could clean up); returns them."""
    removed = []
    for tmp in root.glob(".tmp-*"):
        parts = tmp.name.split("-")
        pid = next((int(p) for p in reversed(parts[:-1]) if p.isdigit()), None)
        if pid is None or pid_alive(pid):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed


def site_packages(python: Path) -> Path:
    """The purelib directory of a venv interpreter."""
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise VenvError(f"cannot ask {python} for its site-packages: {out.stderr.strip()[-300:]}")
    return Path(out.stdout.strip())


def _add_layer(python: Path, layer_python: Path) -> None:
    """Make ``python``'s venv see ``layer_python``'s packages after its own."""
    if not layer_python.exists():
        raise VenvError(f"the layer {layer_python} does not exist")
    # an "import" line runs site.addsitedir, so the layer's own .pth files (namespace packages) are processed too
    layer = str(site_packages(layer_python))
    (site_packages(python) / "_vdb_harness_layer.pth").write_text(f"import site; site.addsitedir({layer!r})\n")


def _relocate(tmp: Path, final: Path) -> None:
    """Rewrite the temp path to the final one in the venv's scripts (shebangs, activate) before the rename."""
    old, new = str(tmp).encode(), str(final).encode()
    bindir = venv_python(tmp).parent
    for f in bindir.iterdir():
        if f.is_symlink() or not f.is_file() or f.stat().st_size > 1_000_000:
            continue
        data = f.read_bytes()
        if old in data:
            f.write_bytes(data.replace(old, new))
    cfg = tmp / "pyvenv.cfg"
    if cfg.is_file():
        cfg.write_bytes(cfg.read_bytes().replace(old, new))


def _run(cmd: list[str], what: str, *, progress: Optional[Progress], timeout: float) -> None:
    """Run ``cmd``; its 'Collecting'/'Successfully' lines go to ``progress``; failure is a :class:`VenvError`."""
    lines: list[str] = []
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    except OSError as exc:
        raise VenvError(f"cannot {what}: {exc}") from None
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.startswith(("Collecting", "Successfully installed", "Installing collected")):
            _say(progress, "  " + line.rstrip()[:160])
        if time.monotonic() > deadline:
            proc.kill()
            break
    code = proc.wait()
    if code != 0:
        reason = _reason(lines)
        raise VenvError(f"cannot {what}: {reason}")


def _reason(lines: list[str]) -> str:
    """pip's own explanation, shortened: the ERROR lines (no network, no matching distribution, Python too old)."""
    errors = [ln.strip() for ln in lines if ln.strip().startswith("ERROR") or "Could not" in ln]
    text = " | ".join(errors[-3:]) or " | ".join(ln for ln in lines[-5:] if ln.strip())
    if any("NewConnectionError" in ln or "Temporary failure in name resolution" in ln or "Network is unreachable"
           in ln for ln in lines):
        text = "no network access to the package index (" + text[:300] + ")"
    return text[:800] or "no output"
