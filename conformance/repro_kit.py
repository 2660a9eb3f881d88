"""The kit a reproducer script runs on, and the file layout of a reproducer directory.

A directory of reproducers holds the scripts (``reproduce_<name>.py``: the recorded call and its arguments, as
literal pymilvus source) and, beside them, the kit package ``vdb_repro/``: the harness's own modules that set up,
call, probe and judge (:data:`KIT_MODULES`). Those modules import only the standard library, pymilvus (with the
grpc and protobuf it brings) and each other (relatively), so the directory runs on any machine with pymilvus,
without this harness; and a script decides exactly as the suite did, because it runs the suite's code.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from vdb_harness.kernel.results import atomic_write_text

#: The kit's package name inside a reproducer directory.
KIT = "vdb_repro"
#: The harness modules the kit is made of (each in ``conformance/``).
KIT_MODULES = ("starting_state", "normalize", "compare", "probes", "replay", "lifecycle_replay")
_INIT = ('"""The reproducer kit of vdb-harness: its own set-up, call, probe and comparison code (standard library and\n'
         'pymilvus only). The reproduce_*.py scripts beside this package run on it."""\n')
def write_kit(directory: Path, link: bool = False) -> Path:
    """Put the kit package into ``directory`` (copies of the modules; with ``link``, relative symlinks to them, for
    a directory inside this source tree such as ``docs/reproducers``); returns the package's path."""
    package = Path(directory) / KIT
    package.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for name in KIT_MODULES:
        source, target = here / f"{name}.py", package / f"{name}.py"
        if _holds(target, source, link):  # a folder gets its kit once, not once per reproducer written into it
            continue
        if target.is_symlink() or target.exists():
            target.unlink()
        if link:
            target.symlink_to(os.path.relpath(source, package))
        else:
            shutil.copyfile(source, target)
    init = package / "__init__.py"
    if not init.exists() or init.read_text(encoding="utf-8") != _INIT:
        atomic_write_text(init, _INIT)
    return package


def _holds(target: Path, source: Path, link: bool) -> bool:
    """``target`` is already the kit module ``source``: a link to it, or (``link`` off) a byte-equal copy."""
    if target.is_symlink():
        return link and target.resolve() == source
    return not link and target.is_file() and target.read_bytes() == source.read_bytes()


def script_text(about: str, kit_import: str, body: str, imports: str = "") -> str:
    """A reproducer script: ``about`` as its comment header, ``imports``, ``from vdb_repro.<kit_import>``, then
    ``body``. Python puts a script's own directory first on ``sys.path``, so ``python reproduce_x.py`` finds the kit
    beside it from any working directory."""
    header = "".join(f"# {line}".rstrip() + "\n" for line in about.splitlines())
    return f"{header}{imports}from {KIT}.{kit_import}\n{body}"


def write_script(out_dir: Path, file_name: str, text: str) -> Path:
    """Save a script as ``reproducers/<file_name>`` under ``out_dir``, with the kit beside it; returns its path."""
    path = Path(out_dir) / "reproducers" / file_name
    write_kit(path.parent)
    atomic_write_text(path, text)
    return path
