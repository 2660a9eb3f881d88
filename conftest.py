"""Shared pytest fixtures: a real Milvus server for every test that needs one.

By default a session-wide embedded Milvus Lite server is started on a free loopback port and stopped at the end.
Set ``VDB_HARNESS_TARGET=http://127.0.0.1:19530`` (and optionally ``VDB_HARNESS_TOKEN_ENV``) to run the same
tests against a server you started, ``VDB_HARNESS_BACKEND_PYTHON`` to serve another milvus-lite version, and
``VDB_HARNESS_BACKEND=standalone`` to serve the PyPI ``milvus`` package's Milvus standalone instead of Milvus Lite.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

from scenarios.model import TargetSpec
from scenarios.targets import Connection, open_target


LOOPBACK_HOSTS = ("127.", "localhost", "[::1]")


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
