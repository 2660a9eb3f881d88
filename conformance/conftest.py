"""Fixtures of the conformance suite: the two-client runner, the server family, and the report written at the end
of the session (``VDB_HARNESS_CONFORMANCE_OUT``, default ``results/conformance-pytest``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import settings

from conformance import profiles

profiles.register()
settings.load_profile(profiles.active())  # HYPOTHESIS_PROFILE (ci unless set)


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
    """The session's verdicts; written as result.json + Markdown + JUnit XML when the session ends."""
    from conformance import known
    from conformance.discovery import discover
    from conformance.report import section, write_all
    from conformance.servers import trait_findings

    import shutil

    shutil.rmtree(conformance_out / "reproducers", ignore_errors=True)  # reproducers of this session only
    m = Matrix(conformance_out)
    yield m
    m.findings += trait_findings(server_family)
    if m.verdicts or m.findings:
        sec = section(m.verdicts, discover(), strict=known.strict(), findings=m.findings)
        path = write_all(conformance_out, sec, milvus.describe(), notes=[f"hypothesis profile {profiles.active()}"])
        print(f"\nconformance report: {path} (+ conformance.md, conformance-junit.xml)")
