"""Async calls issued together with asyncio.gather (as the seed tutorial recommends) give the same results as the
same calls made one by one through the sync client."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import normalize
from conformance.compare import Outcome, difference
from conformance.registry import Compare, Need
from conformance.strategies import query_kwargs, search_kwargs
from conformance.world import build, cleanup, new_namespaces

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def shared_coll(runner):  # type: ignore[no-untyped-def]
    """One loaded collection with rows, read by both clients."""
    ns, _ = new_namespaces(shared=True)
    build(runner.sync, ns, (Need.COLLECTION,), runner.timeout)
    yield ns
    cleanup(runner.sync, [ns.prefix], runner.timeout)


def _outcome(raw: Any, prefix: str) -> Outcome:
    if isinstance(raw, BaseException):
        return Outcome(False, error=normalize.error_record(raw, (prefix,)))
    return Outcome(True, normalize.mask(normalize.plain(raw), (prefix,)))


calls = st.lists(st.one_of(search_kwargs().map(lambda k: ("search", k)), query_kwargs().map(lambda k: ("query", k))),
                 min_size=2, max_size=8)


@settings(deadline=None)
@given(batch=calls)
def test_gather_matches_one_by_one(runner, shared_coll, batch) -> None:  # type: ignore[no-untyped-def]
    """N reads gathered on the async client == the same N reads in order on the sync client."""
    ns = shared_coll
    concrete = [(m, {**ns.resolve(k), "timeout": runner.timeout}) for m, k in batch]
    sync_results = []
    for method, kwargs in concrete:
        try:
            sync_results.append(runner.call_sync(method, kwargs))
        except Exception as exc:  # noqa: BLE001 - errors are compared too
            sync_results.append(exc)
    async_results = runner.gather_async(concrete)
    for i, ((method, kwargs), s, a) in enumerate(zip(batch, sync_results, async_results)):
        mode = Compare.RANKED if method == "search" else Compare.EXACT
        why = difference(mode, _outcome(s, ns.prefix), _outcome(a, ns.prefix))
        assert why is None, f"call {i} of {len(batch)} ({method} {kwargs!r:.300}) under gather: {why}"
