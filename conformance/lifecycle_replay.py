"""The lifecycle checks a reproducer script can run by itself: what ``close()`` of one client does to the other
clients of the same URI, and how long each client waits on a port that accepts connections and never answers.
The suite's own checks (:mod:`conformance.lifecycle`) run these very functions.

Part of the reproducer kit (:mod:`conformance.reproducer`): standard library and pymilvus only, the kit's modules
imported relatively.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import sys
import time
from typing import Any, Callable

from .normalize import error_record

#: What a correct client does: the other client and a client created after the close keep working; the closed
#: client refuses further calls.
EXPECTED = {"closed_client": "raises", "other_client": "ok", "client_created_after": "ok"}
#: The silent-server check: the clients' own timeout and the call's, in seconds.
CLIENT_TIMEOUT, CALL_TIMEOUT = 2.0, 1.0


def error_text(exc: BaseException) -> str:
    """``raises <class>: <message>`` of an exception, as the harness normalises it."""
    record = error_record(exc)
    return f"raises {record['class']}: {str(record.get('message'))[:160]}"


def outcome_of(call: Callable[[], Any]) -> str:
    """``"ok"`` when ``call()`` returns, else its :func:`error_text`."""
    try:
        call()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - what the call did is the observation
        return error_text(exc)


def _kind(seen: str) -> str:
    return "ok" if seen == "ok" else "raises"


def sync_close_lifecycle(client_kwargs: dict[str, Any], timeout: float) -> dict[str, str]:
    """Two MilvusClients made with ``client_kwargs``; close the first: what the closed one, the other one and a
    third created afterwards do on their next call (``"ok"`` or ``"raises <class>: <message>"``)."""
    from pymilvus import MilvusClient

    first, other = MilvusClient(**client_kwargs), MilvusClient(**client_kwargs)
    later = None
    try:
        first.list_collections(timeout=timeout)
        other.list_collections(timeout=timeout)
        first.close()
        seen = {"closed_client": outcome_of(lambda: first.list_collections(timeout=timeout)),
                "other_client": outcome_of(lambda: other.list_collections(timeout=timeout))}
        try:
            later = MilvusClient(**client_kwargs)
            seen["client_created_after"] = outcome_of(lambda: later.list_collections(timeout=timeout))
        except Exception as exc:  # noqa: BLE001
            seen["client_created_after"] = error_text(exc)
        return seen
    finally:
        for client in (other, later):
            if client is not None:
                outcome_of(client.close)


async def _async_close_lifecycle(client_kwargs: dict[str, Any], timeout: float) -> dict[str, str]:
    from pymilvus import AsyncMilvusClient

    async def seen(call: Callable[[], Any]) -> str:
        try:
            result = call()
            if inspect.isawaitable(result):
                await result
            return "ok"
        except Exception as exc:  # noqa: BLE001
            return error_text(exc)

    first, other = AsyncMilvusClient(**client_kwargs), AsyncMilvusClient(**client_kwargs)
    later = None
    try:
        await first.list_collections(timeout=timeout)  # connect both before the close (async clients connect lazily)
        await other.list_collections(timeout=timeout)
        await first.close()
        out = {"closed_client": await seen(lambda: first.list_collections(timeout=timeout)),
               "other_client": await seen(lambda: other.list_collections(timeout=timeout))}
        later = AsyncMilvusClient(**client_kwargs)
        out["client_created_after"] = await seen(lambda: later.list_collections(timeout=timeout))
        return out
    finally:
        for client in (other, later):
            if client is not None:
                await seen(client.close)


def async_close_lifecycle(client_kwargs: dict[str, Any], timeout: float) -> dict[str, str]:
    """The same as :func:`sync_close_lifecycle` with AsyncMilvusClients on one fresh event loop."""
    return asyncio.run(asyncio.wait_for(_async_close_lifecycle(client_kwargs, timeout), timeout * 6 + 10))


def lifecycle_verdict(sync: dict[str, str], asyn: dict[str, str]) -> tuple[str, str]:
    """``("pass" | "diverges" | "finding", detail)``: a divergence when the two clients differ in what a close
    does (ok vs raises, or the error text), a finding when both do the same wrong thing."""
    for key in EXPECTED:
        if _kind(sync[key]) != _kind(asyn[key]) or sync[key] != asyn[key]:
            return "diverges", (f"close(): {key.replace('_', ' ')}: MilvusClient {sync[key]}, "
                                f"AsyncMilvusClient {asyn[key]}")
    wrong = [key for key, want in EXPECTED.items() if _kind(sync[key]) != want]
    if wrong:
        return "finding", ("close() of one client, on both MilvusClient and AsyncMilvusClient: "
                           + "; ".join(f"{k.replace('_', ' ')} {sync[k]} (expected: {EXPECTED[k]})" for k in wrong))
    return "pass", ""


def timed(call: Callable[[], Any]) -> tuple[str, float]:
    """(``"ok"`` or the error text, seconds taken) of ``call()``."""
    start = time.monotonic()
    seen = outcome_of(call)
    return seen, time.monotonic() - start


def silent_server_seen(make_sync: Callable[[], Any], make_async: Callable[[], Any],
                       guard: float) -> tuple[tuple[str, float], tuple[str, float]]:
    """``list_collections(timeout=CALL_TIMEOUT)`` through a client from ``make_sync`` and one from ``make_async``
    (made on the call's event loop, which ``guard`` seconds stop): (outcome, seconds) of each."""
    async def async_call() -> None:
        client = make_async()
        try:
            await client.list_collections(timeout=CALL_TIMEOUT)
        finally:
            await client.close()

    sync = timed(lambda: make_sync().list_collections(timeout=CALL_TIMEOUT))
    asyn = timed(lambda: asyncio.run(asyncio.wait_for(async_call(), guard)))
    return sync, asyn


def silent_server_outcome(seen: str, took: float, bound: float) -> dict[str, Any]:
    """One side of the silent-server check as an outcome for the registry: ``ok`` when the call gave up within
    ``bound``; otherwise an error record saying it did not (its class is what the call finally raised)."""
    if seen != "ok" and took < bound:
        return {"ok": True}
    cls = "answered" if seen == "ok" else seen.removeprefix("raises ").split(":", 1)[0]
    return {"ok": False, "error": {"class": cls, "code": None,
                                   "message": f"no timeout within {bound:.0f} s: {seen} after {took:.1f} s"}}


def close_main(default_uri: str, timeout: float = 10.0) -> int:
    """The close() check against the URI in ``sys.argv[1]`` (else ``default_uri``), with clients made as a user
    makes them (``MilvusClient(uri=...)``); prints what each client did and returns 1 when the two clients
    differ, 0 when they behave alike."""
    import pymilvus

    uri = sys.argv[1] if len(sys.argv) > 1 else default_uri
    print("pymilvus", pymilvus.__version__)
    sync = sync_close_lifecycle({"uri": uri}, timeout)
    asyn = async_close_lifecycle({"uri": uri}, timeout)
    for key in EXPECTED:
        print(f"{key.replace('_', ' ')}: MilvusClient {sync[key]}; AsyncMilvusClient {asyn[key]}")
    status, detail = lifecycle_verdict(sync, asyn)
    print(f"the clients DIVERGE: {detail}" if status == "diverges" else f"the clients agree ({status}) {detail}")
    return 1 if status == "diverges" else 0


def silent_server_main(bound: float) -> int:
    """The silent-server check on a loopback port of its own that accepts connections and never answers, with
    clients made as a user makes them; returns 1 while a client waits past ``bound`` seconds (or answers), 0
    when both give up in time."""
    import pymilvus
    from pymilvus import AsyncMilvusClient, MilvusClient

    print("pymilvus", pymilvus.__version__)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        seen = silent_server_seen(lambda: MilvusClient(uri=uri, timeout=CLIENT_TIMEOUT),
                                  lambda: AsyncMilvusClient(uri=uri, timeout=CLIENT_TIMEOUT), bound + 8)
    late = []
    for name, (outcome, took) in zip(("MilvusClient", "AsyncMilvusClient"), seen):
        print(f"{name} {outcome} after {took:.1f} s")
        if not silent_server_outcome(outcome, took, bound)["ok"]:
            late.append(f"{name} {outcome} after {took:.1f} s")
    if late:
        print(f"(a TimeoutError after {bound + 8:.0f} s is this script's guard: the client ignored its timeout)")
    print("the clients DIVERGE: " + "; ".join(late) if late else "both clients honour the timeout")
    return 1 if late else 0
