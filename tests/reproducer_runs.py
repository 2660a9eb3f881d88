"""Reproducer scripts as a user meets them: what they may import, and a run outside the checkout with every
harness package unimportable (only the kit beside the script, the standard library and pymilvus)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from conformance.repro_kit import KIT, KIT_MODULES

STDLIB = set(sys.stdlib_module_names)
#: What pymilvus itself installs and the kit's comparison imports (gRPC status codes, protobuf messages).
PYMILVUS_DEPENDENCIES = {"grpc", "google"}
HARNESS = ("conformance", "scenarios", "loadtests", "reports", "tests", "benchmarks", "vdb_harness")


def imported_modules(source: str, relative_ok: bool = False) -> set[str]:
    """Top-level names of every module ``source`` imports (relative imports refused unless ``relative_ok``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert relative_ok, "relative import in a reproducer script"
                continue
            names.add((node.module or "").split(".")[0])
    return names


def assert_standalone(script: str) -> None:
    """The script imports the standard library, pymilvus, numpy, scipy and the kit; the kit's modules import the
    standard library, pymilvus (and its grpc/protobuf) and each other; no harness module is named anywhere."""
    allowed = STDLIB | {"pymilvus", "numpy", "scipy"} | PYMILVUS_DEPENDENCIES
    modules = imported_modules(script)
    assert modules <= allowed | {KIT}, modules
    assert not modules & set(HARNESS)
    here = Path(__file__).resolve().parents[1] / "conformance"
    for name in KIT_MODULES:
        kit_imports = imported_modules((here / f"{name}.py").read_text(encoding="utf-8"), relative_ok=True)
        assert kit_imports <= allowed, (name, kit_imports - allowed)


def run_outside_checkout(path: Path, uri: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the reproducer at ``path`` (its kit beside it) against ``uri`` in a child interpreter in which every
    harness package is unimportable."""
    blocked = ", ".join(repr(m) for m in HARNESS)
    code = (f"import sys, runpy; sys.path.insert(0, {str(path.parent)!r}); "
            f"[sys.modules.__setitem__(m, None) for m in ({blocked})]; "
            f"sys.argv = [{str(path)!r}, {uri!r}]; runpy.run_path({str(path)!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-I", "-c", code], cwd=path.parent, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": ""})


def assert_reproducer_of(path: str, method: str) -> None:
    """``path`` is a reproducer of ``method``: it compiles, hands the kit a call of ``method``, and the kit is
    beside it."""
    script = Path(path).read_text(encoding="utf-8")
    compile(script, path, "exec")
    assert "main(kwargs, " in script and f"method={method!r}" in script, script[-600:]
    assert (Path(path).parent / KIT / "replay.py").is_file(), f"no kit beside {path}"
