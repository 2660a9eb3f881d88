"""The conformance suite's pytest plugin: the fixtures ``vdb-harness conformance`` and ``pytest --pyargs conformance``
need, from any install (registered as the ``pytest11`` entry point ``conformance.plugin``; a source checkout's root
``conftest.py`` names it in ``pytest_plugins``, and the same name keeps it from being registered twice).

``milvus`` is a real Milvus server for the session: by default an embedded Milvus Lite server started on a free
loopback port and stopped at the end. Set ``VDB_HARNESS_TARGET=http://127.0.0.1:19530`` (and optionally
``VDB_HARNESS_TOKEN_ENV``) to run against a server you started, ``VDB_HARNESS_BACKEND_PYTHON`` to serve another
milvus-lite version, and ``VDB_HARNESS_BACKEND=standalone`` to serve the PyPI ``milvus`` package's Milvus standalone.
The suite's report is written at the end of the session (``VDB_HARNESS_CONFORMANCE_OUT``, default
``results/conformance-pytest``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import settings

from conformance import profiles
from scenarios.model import TargetSpec
from scenarios.targets import Connection, open_target

profiles.register()
settings.load_profile(profiles.active())  # HYPOTHESIS_PROFILE (ci unless set)

LOOPBACK_HOSTS = ("127.", "localhost", "[::1]")
MARKERS = ("server: needs a running Milvus server (the embedded one is started by the fixture)",
           "slow: longer tests, run by tox envs outside the default run")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the suite's markers (an installed suite has no pyproject.toml to declare them)."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def _target_spec() -> TargetSpec:
    target = os.environ.get("VDB_HARNESS_TARGET", "embedded")
    host = target.split("://", 1)[-1]
    if target != "embedded" and not host.startswith(LOOPBACK_HOSTS) and not os.environ.get("VDB_HARNESS_ALLOW_REMOTE"):
        pytest.exit(f"VDB_HARNESS_TARGET={target}: tests send traffic to loopback addresses only "
                    "(set VDB_HARNESS_ALLOW_REMOTE=1 if this server is yours and meant for it)", returncode=2)
    return TargetSpec(target=target,
                      token_env=os.environ.get("VDB_HARNESS_TOKEN_ENV") or None,
                      backend=os.environ.get("VDB_HARNESS_BACKEND", "lite"),
                      backend_python=os.environ.get("VDB_HARNESS_BACKEND_PYTHON") or None,
                      timeout=float(os.environ.get("VDB_HARNESS_TIMEOUT", "30")))


@pytest.fixture(scope="session")
def milvus() -> Iterator[Connection]:
    """A verified connection to the session's real Milvus server (embedded unless VDB_HARNESS_TARGET is set)."""
    with open_target(_target_spec()) as conn:
        yield conn


@pytest.fixture
def collection_name() -> str:
    """A fresh, unique collection name for one test."""
    return f"t_{uuid.uuid4().hex[:12]}"


class Matrix:
    """Verdicts and findings collected during the session."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.verdicts: list = []
        self.findings: list[dict] = []


@pytest.fixture(scope="session")
def conformance_out() -> Path:
    """Where the report and reproducers go."""
    return Path(os.environ.get("VDB_HARNESS_CONFORMANCE_OUT", "results/conformance-pytest"))


@pytest.fixture(scope="session")
def runner(milvus):  # type: ignore[no-untyped-def]
    """A sync and an async client on the session's server."""
    from conformance.runner import Runner

    r = Runner(milvus)
    yield r
    r.close()


@pytest.fixture(scope="session")
def server_family(runner) -> str:  # type: ignore[no-untyped-def]
    """The server family key (lite3, lite25, standalone, milvus), as the runner found it (its traits adopted)."""
    return runner.family


@pytest.fixture(scope="session")
def matrix(milvus, server_family: str, conformance_out: Path) -> Iterator[Matrix]:  # type: ignore[no-untyped-def]
    """The session's verdicts; written as result.json + Markdown + JUnit XML when the session ends (and the
    Markdown appended to the CI job summary when ``GITHUB_STEP_SUMMARY`` is set)."""
    from conformance import known
    from conformance.discovery import discover
    from conformance.report import section, write_all
    from conformance.servers import trait_findings
    from vdb_harness.kernel import step_summary

    import shutil

    shutil.rmtree(conformance_out / "reproducers", ignore_errors=True)  # reproducers of this session only
    m = Matrix(conformance_out)
    yield m
    m.findings += trait_findings(server_family)
    if m.verdicts or m.findings:
        sec = section(m.verdicts, discover(), strict=known.strict(), findings=m.findings)
        path = write_all(conformance_out, sec, milvus.describe(), notes=[f"hypothesis profile {profiles.active()}"])
        print(f"\nconformance report: {path} (+ conformance.md, conformance-junit.xml)")
        summary = conformance_out / "conformance.md"
        if summary.exists():
            step_summary.append(summary.read_text(encoding="utf-8"))
