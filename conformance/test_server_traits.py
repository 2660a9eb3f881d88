"""The server-trait tables (conformance.servers) stay true: what a family is said to lack, it still lacks.

A fixed server turns a test here red, so a left-out feature or an "unsupported" verdict cannot outlive its reason.
Each listed crash is set off on a throwaway server of the same kind, never on the session's.
"""

from __future__ import annotations

import os

import pytest
from pymilvus import MilvusClient

from conformance.registry import Need
from conformance.servers import CRASH_TRIGGERS, CRASHES, LACKING_NEEDS
from conformance.world import build, cleanup, new_namespaces
from scenarios.embedded import EmbeddedMilvus

pytestmark = pytest.mark.server


def _lacking_needs() -> list[tuple[str, Need]]:
    return [(family, need) for family, needs in LACKING_NEEDS.items() for need in needs]


@pytest.mark.parametrize("family,need", _lacking_needs(), ids=lambda v: getattr(v, "value", v))
def test_a_need_said_lacking_is_refused(runner, family: str, need: Need) -> None:  # type: ignore[no-untyped-def]
    """Building ``need`` on a server of ``family`` fails with UNIMPLEMENTED."""
    if runner.family != family:
        pytest.skip(f"the session's server is {runner.family}, not {family}")
    ns, _ = new_namespaces(shared=True)
    try:
        with pytest.raises(Exception, match="UNIMPLEMENTED"):
            build(runner.sync, ns, (Need.COLLECTION, need), runner.timeout)
    finally:
        cleanup(runner.sync, [ns.prefix], runner.timeout)


def _crashes() -> list[tuple[str, str]]:
    return [(family, crash) for family, crashes in CRASHES.items() for crash in crashes]


@pytest.mark.parametrize("family,crash", _crashes())
def test_a_listed_crash_still_kills_the_server(milvus, runner, family: str, crash: str) -> None:  # type: ignore[no-untyped-def]
    """Each crash listed for the session's family still ends a throwaway server of the same kind: everything
    before the trigger's last call works, that call fails, and the server is gone within 10 s."""
    if runner.family != family:
        pytest.skip(f"the session's server is {runner.family}, not {family}")
    if milvus.embedded is None:
        pytest.skip("needs an embedded server to start a throwaway one of the same kind")
    with EmbeddedMilvus(python=os.environ.get("VDB_HARNESS_BACKEND_PYTHON") or None) as server:
        client = MilvusClient(uri=server.uri, timeout=10)
        kill = CRASH_TRIGGERS[crash](client, 10)
        with pytest.raises(Exception):
            kill()
        died = server.gone_within(10)
        client.close()
    assert died, f"{family} no longer crashes on {crash} ({CRASHES[family][crash]}): update conformance/servers.py"
