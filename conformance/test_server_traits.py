"""The server-trait tables (conformance.servers) stay true: what a family is said to lack, it still lacks.

A fixed server turns a test here red, so a left-out feature or an "unsupported" verdict cannot outlive its reason.
The template-filter crash is checked on a throwaway server of the same kind, never on the session's.
"""

from __future__ import annotations

import os

import pytest
from pymilvus import DataType, MilvusClient

from conformance.registry import Need
from conformance.servers import CRASHES, LACKING_NEEDS
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


def _crash(crash: str, family: str, milvus) -> None:  # type: ignore[no-untyped-def]
    """Skip unless ``family`` is listed as crashing on ``crash`` and a throwaway server of its kind can start."""
    if crash not in CRASHES.get(family, {}):
        pytest.skip(f"{family} is not listed as crashing on {crash}")
    if milvus.embedded is None:
        pytest.skip("needs an embedded server to start a throwaway one of the same kind")


def _dies(server, action) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``server`` is gone within 10 s after ``action`` (which must fail)."""
    with pytest.raises(Exception):
        action()
    return server.gone_within(10)


def test_lite25_still_dies_on_a_template_like_filter(milvus, runner) -> None:  # type: ignore[no-untyped-def]
    """Milvus Lite 2.5.1 segfaults on ``text like {w}`` with filter_params (why its strategies draw no templates)."""
    _crash("template_like_filter", runner.family, milvus)
    with EmbeddedMilvus(python=os.environ.get("VDB_HARNESS_BACKEND_PYTHON") or None) as server:
        client = MilvusClient(uri=server.uri, timeout=10)
        ns, _ = new_namespaces(shared=True)
        build(client, ns, (Need.COLLECTION,), 10)
        coll = ns.name("coll")
        assert client.query(coll, filter='text like "alpha%"', timeout=10)  # the plain filter works
        died = _dies(server, lambda: client.query(coll, filter="text like {w}", filter_params={"w": "alpha%"},
                                                  timeout=10))
        client.close()
    assert died, "Milvus Lite 2.5 no longer crashes on template filters: update conformance/servers.py"


def test_lite25_still_dies_on_null_in_a_non_nullable_field(milvus, runner) -> None:  # type: ignore[no-untyped-def]
    """Milvus Lite 2.5.1 segfaults when a row gives None for a non-nullable INT64 field."""
    _crash("null_into_non_nullable", runner.family, milvus)
    with EmbeddedMilvus(python=os.environ.get("VDB_HARNESS_BACKEND_PYTHON") or None) as server:
        client = MilvusClient(uri=server.uri, timeout=10)
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
        schema.add_field("n", DataType.INT64)
        client.create_collection("c", schema=schema, timeout=10)
        client.insert("c", [{"id": 1, "vec": [0.1, 0.2], "n": 1}], timeout=10)  # a full row is fine
        died = _dies(server, lambda: client.insert("c", [{"id": 2, "vec": [0.1, 0.2], "n": None}], timeout=10))
        client.close()
    assert died, "Milvus Lite 2.5 no longer crashes on None in a non-nullable field: update conformance/servers.py"
