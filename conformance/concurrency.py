"""Concurrency of one AsyncMilvusClient, compared with the sync client: writes issued together with
``asyncio.gather``, calls cancelled mid-flight, ``close()`` with calls in flight.

Each check returns ``None`` when the async client behaved, else a sentence naming the method that did not; the
tests in ``conformance/test_concurrency.py`` and the mutants in ``tests/mutation/`` both call them.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, Optional

from conformance import known, normalize
from conformance.compare import first_difference
from conformance.runner import Runner
from conformance.world import Namespace, standard_row

#: One write: (method, kwargs without the collection name, the primary keys it touches).
Write = tuple[str, dict[str, Any], frozenset[int]]


def rows_of(runner: Runner, ns: Namespace) -> list[dict[str, Any]]:
    """Every row of ``ns``'s collection (all fields, as stored: see :func:`normalize.stored`), by id, read through
    the sync probe client."""
    rows = runner.call_sync("query", {"collection_name": ns.name("coll"), "filter": "id >= 0",
                                      "output_fields": ["*"], "limit": 1000, "timeout": runner.timeout})
    return sorted(normalize.stored(list(rows)), key=lambda r: r["id"])


def write_call(method: str, ids: list[int], version: int = 0) -> Write:
    """An insert/upsert of standard rows ``ids`` (``version`` changes their text) or a delete of ``ids``."""
    if method == "delete":
        return method, {"ids": list(ids)}, frozenset(ids)
    rows = [{**standard_row(i), "text": f"v{version} {i}"} for i in ids]
    return method, {"data": rows}, frozenset(ids)


async def _await(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


def gathered_writes_problem(runner: Runner, writes: list[Write], ns_sync: Namespace,
                            ns_async: Namespace) -> Optional[str]:
    """``writes`` on pairwise disjoint ids (so their order cannot matter) gathered on the async client against
    ``ns_async``'s collection, and applied one by one through the sync client on ``ns_sync``'s: each call's result
    and the final rows must agree. The first write whose result or rows differ is named."""
    t = {"timeout": runner.timeout}
    sync_results = []
    for method, kwargs, _ in writes:
        try:
            sync_results.append(runner.call_sync(method, {"collection_name": ns_sync.name("coll"), **kwargs, **t}))
        except Exception as exc:  # noqa: BLE001 - errors are compared too
            sync_results.append(exc)
    async_results = runner.gather_async([(m, {"collection_name": ns_async.name("coll"), **k, **t})
                                         for m, k, _ in writes])
    for i, ((method, _, _), s, a) in enumerate(zip(writes, sync_results, async_results)):
        why = first_difference(_plain_outcome(s, ns_sync), _plain_outcome(a, ns_async))
        if why and not _known_difference(runner, method, why, s, a):
            return f"{method} (call {i} of {len(writes)} gathered): result differs: {why}"
    final_s = {r["id"]: r for r in rows_of(runner, ns_sync)}
    final_a = {r["id"]: r for r in rows_of(runner, ns_async)}
    for method, _, ids in writes:
        for pk in sorted(ids):
            why = first_difference(final_s.get(pk), final_a.get(pk), f"row {pk}")
            if why:
                return f"{method} (gathered with {len(writes) - 1} other writes): final state differs: {why}"
    why = first_difference(final_s, final_a, "rows")
    return f"final state differs after gathered writes: {why}" if why else None


def _known_difference(runner: Runner, method: str, why: str, sync_result: Any, async_result: Any) -> bool:
    """True when ``why`` is ``method``'s own known divergence on this server and pymilvus (the registry accepts its
    signature): a difference of every call of the method, reported by the method's own check, not one that
    gathering made. The final rows are still compared."""
    import pymilvus

    def outcome(value: Any) -> dict[str, Any]:
        return {"ok": False, "error": normalize.error_record(value)} if isinstance(value, BaseException) \
            else {"ok": True}

    listed = known.applicable(known.load(), method, runner.family, pymilvus.__version__)
    return known.match(listed, known.signature_of(why, outcome(sync_result), outcome(async_result))) is not None


def _plain_outcome(value: Any, ns: Namespace) -> Any:
    if isinstance(value, BaseException):
        return {"error": normalize.error_record(value, (ns.prefix,))}
    return normalize.mask(normalize.plain(value), (ns.prefix,))


def same_id_upserts_problem(runner: Runner, ns: Namespace, pk: int, versions: int) -> Optional[str]:
    """Upserts of one id gathered: ORDER CAN MATTER here (gather promises no order), so any one of the written
    versions may win; what must hold is that the row is exactly one of them, never a mix or a loss."""
    writes = [write_call("upsert", [pk], v) for v in range(versions)]
    coll = ns.name("coll")
    results = runner.gather_async([(m, {"collection_name": coll, **k, "timeout": runner.timeout})
                                   for m, k, _ in writes])
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        return f"upsert (one of {versions} gathered on id {pk}) raised {normalize.error_record(errors[0])}"
    rows = [r for r in rows_of(runner, ns) if r["id"] == pk]
    allowed = [normalize.stored(w[1]["data"][0]) for w in writes]
    if len(rows) != 1 or not any(first_difference(_without_masked(a), _without_masked(rows[0])) is None
                                 for a in allowed):
        if len(rows) != 1:
            return f"upsert (gathered on one id): {len(rows)} rows have id {pk} afterwards: {rows!r:.300}"
        return f"upsert (gathered on one id): the row is none of the written versions: {rows!r:.300}"
    return None


def _without_masked(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k in ("id", "text", "num", "score", "flag", "meta", "tags")}


def cancelled_call_problem(runner: Runner, ns: Namespace, how: str, method: str, kwargs: dict[str, Any],
                           touched: frozenset[int] = frozenset()) -> Optional[str]:
    """Cancel ``method(**kwargs)`` on the async client mid-flight (``how``: ``"wait_for"`` = an
    ``asyncio.wait_for`` timeout, ``"cancel"`` = ``task.cancel()``), then check that the same client still
    answers like the sync client, and that the write (ids ``touched``) landed entirely or not at all."""
    coll = ns.name("coll")
    call_kwargs = {"collection_name": coll, **kwargs, "timeout": runner.timeout}
    client = runner.asyn

    async def cancel_it() -> str:
        if how == "wait_for":
            try:
                await asyncio.wait_for(_await(getattr(client, method)(**call_kwargs)), timeout=0.0005)
                return "completed"
            except asyncio.TimeoutError:
                return "cancelled"
        task = asyncio.ensure_future(_await(getattr(client, method)(**call_kwargs)))
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
            return "completed"
        except asyncio.CancelledError:
            return "cancelled"

    try:
        runner.in_loop(cancel_it)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the call itself may fail; cancelling must not break anything
        if "Cancelled" in type(exc).__name__:
            return f"{method} cancelled by {how}: the cancellation escaped to the caller"
    after = {"collection_name": coll, "filter": "id >= 0", "output_fields": ["count(*)"],
             "timeout": runner.timeout}
    for attempt in range(20):  # bounded: the cancelled write may still be applied by the server
        try:
            a = normalize.plain(runner.call_async("query", after))
        except Exception as exc:  # noqa: BLE001
            return (f"{method} cancelled by {how}: the client is broken afterwards: query raised "
                    f"{normalize.error_record(exc, (ns.prefix,))}")
        s = normalize.plain(runner.call_sync("query", after))
        present = {r["id"] for r in rows_of(runner, ns)} & touched
        if a == s and present in (set(), set(touched)):
            return None
        time.sleep(0.25)
    if a != s:
        return f"{method} cancelled by {how}: afterwards the same client reads {a!r} where the sync client reads {s!r}"
    return (f"{method} cancelled by {how}: the write landed partly ({len(present)} of {len(touched)} rows): "
            "the server is inconsistent")


def close_in_flight_problem(runner: Runner, ns: Namespace, calls: int = 6) -> Optional[str]:
    """``close()`` on a fresh async client while ``calls`` queries are in flight: close returns, every query
    either answers what the sync client answers or raises (none hangs past its timeout), a call after close
    raises, and the runner's other async client still answers."""
    coll = ns.name("coll")
    query = {"collection_name": coll, "filter": "id >= 0", "output_fields": ["id", "num"], "limit": 100,
             "timeout": runner.timeout}
    expected = normalize.plain(runner.call_sync("query", query))
    client = runner.new_async_client()

    async def go() -> tuple[list[Any], Any, Any]:
        tasks = [asyncio.ensure_future(_await(client.query(**query))) for _ in range(calls)]
        await asyncio.sleep(0)
        closed: Any = None
        try:
            await _await(client.close())
        except Exception as exc:  # noqa: BLE001
            closed = exc
        done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), runner.timeout + 5)
        try:
            later: Any = await _await(client.query(**query))
        except Exception as exc:  # noqa: BLE001
            later = exc
        return done, closed, later

    try:
        done, closed, later = runner.in_loop(go, timeout=runner.timeout * 2)
    except asyncio.TimeoutError:
        return "query: calls in flight when close() was called never finished (no timeout honoured)"
    if closed is not None:
        return f"close with {calls} queries in flight raised {normalize.error_record(closed)}"
    for i, result in enumerate(done):
        if isinstance(result, asyncio.CancelledError):
            return f"query {i} in flight during close() ended in a bare CancelledError"
        if not isinstance(result, BaseException) and normalize.plain(result) != expected:
            return f"query {i} in flight during close() returned a wrong answer: {normalize.plain(result)!r:.200}"
    if not isinstance(later, BaseException):
        return "query after close() still answered: the client was not closed"
    try:
        runner.call_async("query", query)  # a call every AsyncMilvusClient has (2.5.x has no list_collections)
    except Exception as exc:  # noqa: BLE001
        return f"close of one async client broke another: query raised {normalize.error_record(exc)}"
    return None
