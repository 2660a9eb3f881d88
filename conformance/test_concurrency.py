"""Async calls issued together with asyncio.gather (as the seed tutorial recommends) give the same results as the
same calls made one by one through the sync client; writes included; cancellation and close() mid-flight."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import concurrency, normalize
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


@pytest.fixture
def twin_colls(runner):  # type: ignore[no-untyped-def]
    """A fresh loaded collection with rows per side (sync, async), dropped afterwards."""
    ns_s, ns_a = new_namespaces()
    for ns in (ns_s, ns_a):
        build(runner.sync, ns, (Need.COLLECTION,), runner.timeout)
    yield ns_s, ns_a
    cleanup(runner.sync, [ns_s.prefix, ns_a.prefix], runner.timeout)


@pytest.fixture
def one_coll(runner):  # type: ignore[no-untyped-def]
    """A fresh loaded collection with rows, written by the async client only, dropped afterwards."""
    ns, _ = new_namespaces(shared=True)
    build(runner.sync, ns, (Need.COLLECTION,), runner.timeout)
    yield ns
    cleanup(runner.sync, [ns.prefix], runner.timeout)


#: Disjoint id sets, so the order of the gathered writes cannot change the final state: new ids for inserts,
#: existing ids (0..ROWS-1) split between upserts and deletes.
def _disjoint_writes(inserts: int, upserts: int, deletes: int) -> list[concurrency.Write]:
    writes = [concurrency.write_call("insert", [1000 + 10 * i, 1001 + 10 * i]) for i in range(inserts)]
    writes += [concurrency.write_call("upsert", [2 * i], version=1) for i in range(upserts)]
    writes += [concurrency.write_call("delete", [2 * i + 1]) for i in range(deletes)]
    return writes


def test_gathered_writes_match_the_same_writes_in_order(runner, twin_colls) -> None:  # type: ignore[no-untyped-def]
    """Inserts, upserts and deletes on disjoint ids gathered on the async client leave the same rows (and return
    the same results) as the same calls made one by one through the sync client."""
    ns_s, ns_a = twin_colls
    problem = concurrency.gathered_writes_problem(runner, _disjoint_writes(4, 3, 3), ns_s, ns_a)
    assert problem is None, problem


def test_gathered_upserts_of_one_id_leave_one_written_version(runner, one_coll) -> None:  # type: ignore[no-untyped-def]
    """Here ORDER CAN MATTER: upserts of one id gathered may land in any order, so any written version may win;
    the row must be exactly one of them."""
    problem = concurrency.same_id_upserts_problem(runner, one_coll, pk=5, versions=4)
    assert problem is None, problem


@pytest.mark.parametrize("how", ["wait_for", "cancel"])
@pytest.mark.parametrize("method", ["insert", "query"])
def test_a_cancelled_call_leaves_the_client_usable_and_the_server_consistent(runner, one_coll, how: str,
                                                                             method: str) -> None:  # type: ignore[no-untyped-def]
    """A call cancelled mid-flight (asyncio.wait_for timeout, task.cancel()): the same client then answers like the
    sync client, and a cancelled insert landed entirely or not at all."""
    ns = one_coll
    if method == "insert":
        _, kwargs, touched = concurrency.write_call("insert", list(range(500, 520)))
    else:
        kwargs, touched = {"filter": "id >= 0", "output_fields": ["*"], "limit": 50}, frozenset()
    problem = concurrency.cancelled_call_problem(runner, ns, how, method, kwargs, touched)
    assert problem is None, problem


def test_close_with_calls_in_flight(runner, one_coll) -> None:  # type: ignore[no-untyped-def]
    """close() while queries are in flight: close returns, each query answers right or raises, none hangs, the
    closed client refuses later calls, and the suite's other async client is unaffected."""
    problem = concurrency.close_in_flight_problem(runner, one_coll)
    assert problem is None, problem
