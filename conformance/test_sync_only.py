"""Sync-only APIs (``discovery.SYNC_ONLY``): every method only ``MilvusClient`` has is listed with a reason, and where
an async user has a replacement, the sync method's full output is compared with it on the same data: the iterators
against ``AsyncMilvusClient`` paged ``query`` / ``search`` (limit/offset) on the typed collection."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Optional

import pytest
from hypothesis import given, settings, strategies as st

from conformance import normalize, typed, typed_strategies as ts
from conformance.discovery import SYNC_ONLY, discover
from conformance.registry import Need
from conformance.servers import LACKING_FEATURES
from conformance.specs import load_all
from conformance.world import FEATURES, build, cleanup, new_namespaces

pytestmark = pytest.mark.server


def test_every_sync_only_method_is_listed_with_a_reason() -> None:
    """A method only MilvusClient has is an asymmetry the suite states (new ones fail here until listed). A method
    the suite has a spec for is a shared method that this (older) release's AsyncMilvusClient does not have yet
    (pymilvus 2.5.x's has 19 methods): the method matrix reports it, it is no sync-only API."""
    surface = discover()
    unlisted = sorted(set(surface.sync_only) - set(SYNC_ONLY) - set(load_all()))
    assert not unlisted, f"sync-only methods without an entry in conformance.discovery.SYNC_ONLY: {unlisted}"
    for name, entry in SYNC_ONLY.items():
        assert entry.reason, name
        if entry.compared_by:
            test = entry.compared_by.split("::")[-1]
            assert test in globals(), f"{name}: {entry.compared_by} does not exist"


@pytest.fixture(scope="module")
def typed_coll(runner) -> Iterator[tuple[Any, str, str]]:  # type: ignore[no-untyped-def]
    """The typed collection, built once for this module: (runner, collection, partition)."""
    ns, _ = new_namespaces(shared=True)
    build(runner.sync, ns, (Need.TYPED,), runner.timeout)
    try:
        yield runner, ns.name("typed"), ns.name("tpart")
    finally:
        cleanup(runner.sync, [ns.prefix], runner.timeout)


def _drain(iterator: Any, bound: int = 200) -> list[Any]:
    """Every item of a pymilvus iterator (bounded), closed afterwards."""
    out: list[Any] = []
    try:
        for _ in range(bound):
            batch = iterator.next()
            if not batch:
                break
            out.extend(batch)
    finally:
        iterator.close()
    return out


def _both(sync_call: Callable[[], Any], async_call: Callable[[], Any]) -> Optional[tuple[Any, Any]]:
    """(sync output, async output); None when both refuse the call with the same error class (a filter the server
    cannot parse, e.g. an ARRAY element filter on Milvus Lite 2.5.1): a refusal both clients share is agreement."""
    try:
        sync = sync_call()
    except Exception as s_exc:  # noqa: BLE001 - compared with the async side's error
        try:
            async_call()
        except Exception as a_exc:  # noqa: BLE001
            assert type(a_exc).__name__ == type(s_exc).__name__, f"sync raised {s_exc!r}, async {a_exc!r}"
            return None
        raise AssertionError(f"the sync iterator raised {s_exc!r}, the async pages answered") from s_exc
    return sync, async_call()


def _pages(runner: Any, method: str, kwargs: dict[str, Any], size: int, total: int) -> list[Any]:
    """What an async user writes instead of an iterator: ``method`` pages of ``size`` by offset, up to ``total``."""
    out: list[Any] = []
    for offset in range(0, total, size):
        page = runner.call_async(method, {**kwargs, "limit": min(size, total - offset), "offset": offset,
                                          "timeout": runner.timeout})
        page = page[0] if method == "search" else page
        out.extend(page)
        if len(page) < min(size, total - offset):
            break
    return out


@settings(max_examples=6, deadline=None)
@given(batch=st.integers(1, 7), flt=st.one_of(st.just(""), ts.filters()), out=ts.output_fields(),
       part=st.booleans())
def test_query_iterator_equals_async_paged_query(typed_coll, batch: int, flt: str, out: list[str],  # type: ignore[no-untyped-def]
                                                 part: bool) -> None:
    """MilvusClient.query_iterator yields exactly the rows, in order, that AsyncMilvusClient.query pages give."""
    runner, coll, tpart = typed_coll
    parts = {"partition_names": [tpart]} if part and typed.partitions_on() else {}
    common = {"collection_name": coll, "filter": flt or 'pk >= ""', "output_fields": out, **parts}
    both = _both(lambda: _drain(runner.sync.query_iterator(batch_size=batch, timeout=runner.timeout, **common)),
                 lambda: _pages(runner, "query", common, batch, typed.ROWS + 50))
    if both is None:
        return
    sync, asyn = both
    assert normalize.plain(sync) == normalize.plain(asyn), f"query_iterator vs paged query differ for {common}"


def _hit(hit: Any) -> dict[str, Any]:
    """A hit as plain data: id, distance, entity."""
    # pymilvus 3/2.6 hits are dicts; 2.5's Hit is not (its get takes no default): its to_dict() is
    as_dict = dict(hit) if isinstance(hit, dict) or not hasattr(hit, "to_dict") else hit.to_dict()
    return {"id": as_dict.get("pk", as_dict.get("id")), "distance": float(as_dict["distance"]),
            "entity": normalize.plain(dict(as_dict.get("entity") or {}))}


def _key(hit: Any) -> tuple[float, Any]:
    return (round(float(hit["distance"]), 5), hit["id"])


@settings(max_examples=6, deadline=None)
@given(batch=st.integers(2, 6), total=st.integers(1, typed.ROWS), q=st.integers(0, typed.ROWS - 1),
       flt=st.one_of(st.just(""), ts.filters()), out=ts.output_fields())
def test_search_iterator_equals_async_paged_search(typed_coll, batch: int, total: int, q: int, flt: str,  # type: ignore[no-untyped-def]
                                                   out: list[str]) -> None:
    """MilvusClient.search_iterator yields the hits AsyncMilvusClient.search pages give: same distances, and the
    same ids and entities for every hit not tied with the last kept distance (ties may be cut differently)."""
    if not FEATURES["search_iterator"]:
        why = LACKING_FEATURES.get(typed_coll[0].family, {}).get("search_iterator", "")
        pytest.skip(f"search_iterator left out on this server: {why}")
    runner, coll, _ = typed_coll
    common = {"collection_name": coll, "data": [typed.float_vector(q)], "anns_field": "v_float",
              "search_params": {"metric_type": "L2"}, "output_fields": out, "filter": flt}
    both = _both(lambda: _drain(runner.sync.search_iterator(batch_size=batch, limit=total, timeout=runner.timeout,
                                                            **common)),
                 lambda: _pages(runner, "search", common, batch, total))
    if both is None:
        return
    sync, asyn = both
    s_hits = sorted((_hit(h) for h in sync), key=_key)
    a_hits = sorted((_hit(h) for h in asyn), key=_key)
    assert len(s_hits) == len(a_hits), f"{len(s_hits)} iterator hits vs {len(a_hits)} paged hits for {common}"
    for s, a in zip(s_hits, a_hits):
        assert math.isclose(s["distance"], a["distance"], rel_tol=1e-5, abs_tol=1e-6), (s, a)
    last = s_hits[-1]["distance"] if s_hits else None
    untied = [(s, a) for s, a in zip(s_hits, a_hits)
              if not math.isclose(s["distance"], last, rel_tol=1e-5, abs_tol=1e-6)]
    for s, a in untied:
        assert (s["id"], s.get("entity")) == (a["id"], a.get("entity")), f"hit differs: {s} vs {a}"
