"""What the wheel carries: the suite's pytest plugin (registered once, under one name) and every data file the
packages read. `.ci/wheel-check` proves the same end to end from a fresh virtualenv; this catches it in seconds."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = tuple(p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"])


def test_the_suite_plugin_is_an_entry_point_under_its_module_name_and_the_checkout_names_the_same() -> None:
    entry = PYPROJECT["project"]["entry-points"]["pytest11"]
    assert entry == {"conformance.plugin": "conformance.plugin"}
    namespace: dict = {}
    exec((ROOT / "conftest.py").read_text(), namespace)
    assert namespace["pytest_plugins"] == ["conformance.plugin"]  # same name: pytest skips the second registration
    assert not (ROOT / "conformance" / "conftest.py").exists()  # its fixtures live in the plugin now


def test_the_plugin_provides_every_fixture_the_suite_asks_for(pytestconfig: pytest.Config) -> None:
    import conformance.plugin as plugin

    assert pytestconfig.pluginmanager.get_plugin("conformance.plugin") is plugin
    for name in ("milvus", "collection_name", "conformance_out", "runner", "server_family", "matrix"):
        assert hasattr(plugin, name), name


def test_every_data_file_of_the_packages_is_package_data() -> None:
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["*"]
    data = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert data, "the packages read data files (scenario examples, templates, known divergences)"
    missing = [str(p.relative_to(ROOT)) for p in data if not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    assert missing == [], f"not in the wheel (add a pattern to [tool.setuptools.package-data]): {missing}"


def test_the_sweep_fingerprint_covers_every_package_of_the_wheel() -> None:
    from conformance import sweep

    assert sorted(sweep.PACKAGES) == sorted(PACKAGES)
