"""The server-trait tables (conformance.servers) stay true: what a family is said to lack, it still lacks.

A fixed server turns a test here red, so a left-out feature or an "unsupported" verdict cannot outlive its reason.
The template-filter crash is checked on a throwaway server of the same kind, never on the session's.
"""

from __future__ import annotations

import os

import pytest

from conformance.registry import Need
from conformance.servers import LACKING_FEATURES, LACKING_NEEDS
from conformance.world import build, cleanup, new_namespaces

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


def test_lite25_still_dies_on_a_template_like_filter(milvus, runner) -> None:  # type: ignore[no-untyped-def]
    """Milvus Lite 2.5.1 segfaults on ``text like {w}`` with filter_params (why its strategies draw no templates)."""
    if "filter_templates" not in LACKING_FEATURES.get(runner.family, {}):
        pytest.skip(f"{runner.family} takes template filters")
    if milvus.embedded is None:
        pytest.skip("needs an embedded server to start a throwaway one of the same kind")
    import time

    from pymilvus import MilvusClient

    from scenarios.embedded import EmbeddedMilvus

    with EmbeddedMilvus(python=os.environ.get("VDB_HARNESS_BACKEND_PYTHON") or None) as server:
        client = MilvusClient(uri=server.uri, timeout=10)
        ns, _ = new_namespaces(shared=True)
        build(client, ns, (Need.COLLECTION,), 10)
        coll = ns.name("coll")
        assert client.query(coll, filter='text like "alpha%"', timeout=10)  # the plain filter works
        with pytest.raises(Exception):
            client.query(coll, filter="text like {w}", filter_params={"w": "alpha%"}, timeout=10)
        deadline = time.monotonic() + 10
        while server.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        server_died = not server.alive()
        client.close()
    assert server_died, "Milvus Lite 2.5 no longer crashes on template filters: drop the trait in conformance/servers.py"
