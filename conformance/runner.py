"""Both clients side by side: a sync ``MilvusClient`` and an ``AsyncMilvusClient`` living in one long-lived event
loop on a background thread (one async client per loop), so pytest and Hypothesis stay synchronous."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import threading
from typing import Any, Awaitable, Callable, Optional

from conformance.replay import POSITIONAL
from conformance.servers import adopt, server_family
from vdb_harness.kernel.errors import InfrastructureError
from scenarios.targets import Connection

#: Error texts that mean "the server is gone", not "the server said no".
_INFRA_HINTS = ("UNAVAILABLE", "Connection refused", "failed to connect", "Fail connecting", "DEADLINE_EXCEEDED",
                "Socket closed", "connection reset")

AsyncWrapper = Callable[[Any], Any]
_ALIASES = itertools.count(1)


def isolation_kwargs() -> dict[str, Any]:
    """Client keyword arguments that give a new client a connection of its own, so closing another client of the
    same URI cannot disconnect it: ``dedicated=True`` where pymilvus pools connections in a ConnectionManager
    (3.x), else a distinct connection ``alias`` (2.x, whose ``close()`` disconnects every client of one alias)."""
    try:
        import pymilvus.client.connection_manager  # noqa: F401 - present from pymilvus 3.0 on
    except ImportError:
        return {"alias": f"vdbh-{os.getpid()}-{next(_ALIASES)}"}
    return {"dedicated": True}


def _isolated(cls: Any, conn: Connection) -> Any:
    """``cls(...)`` with :func:`isolation_kwargs`. pymilvus 2.5.x gives every client a fresh uuid alias of its own
    and passes it positionally, so an ``alias`` keyword there is a TypeError ('got multiple values for argument
    alias'): such a client is isolated already and is made without it."""
    extra = isolation_kwargs()
    try:
        return cls(**conn.client_kwargs(), **extra)
    except TypeError as exc:
        if "alias" in extra and "alias" in str(exc):
            return cls(**conn.client_kwargs())
        raise


def isolated_sync_client(conn: Connection) -> Any:
    """A new MilvusClient on ``conn`` that no other client's ``close()`` can disconnect."""
    from pymilvus import MilvusClient

    return _isolated(MilvusClient, conn)


def isolated_async_client(conn: Connection) -> Any:
    """A new AsyncMilvusClient on ``conn`` that no other client's ``close()`` can disconnect (create it inside the
    event loop that will use it)."""
    from pymilvus import AsyncMilvusClient

    return _isolated(AsyncMilvusClient, conn)


class Runner:
    """A sync client and an async client on ``conn``; :meth:`call_sync` / :meth:`call_async` make one call each."""

    def __init__(self, conn: Connection, *, timeout: Optional[float] = None,
                 wrap_async: Optional[AsyncWrapper] = None, traits: bool = True) -> None:
        """Open both clients. ``wrap_async`` wraps the async client (mutation tests inject faults with it).
        ``traits``: measure the server's data traits and make them the current ones (the suite's runners do; a
        runner for a throwaway server that a lifecycle check only calls needs none)."""
        self.conn = conn
        self.family = server_family(conn)
        adopt(self.family)  # leave out what this server cannot take (see conformance.servers)
        self.timeout = float(timeout or min(conn.timeout, 10.0))
        self.wrap_async = wrap_async
        self.sync = isolated_sync_client(conn)
        if traits:
            from conformance import data_traits

            data_traits.measure(self.sync, conn.uri, self.timeout)  # what the server does with data (cached per server)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="conformance-loop", daemon=True)
        self._thread.start()
        self.asyn = self.new_async_client()

    def new_sync_client(self) -> Any:
        """A new MilvusClient of its own (isolated: closing it, or any other client, leaves the others connected)."""
        return isolated_sync_client(self.conn)

    def new_async_client(self) -> Any:
        """A new AsyncMilvusClient created inside the runner's loop (wrapped like the main one; isolated like
        :meth:`new_sync_client`)."""
        async def make() -> Any:
            return isolated_async_client(self.conn)

        client = self.in_loop(make)
        return self.wrap_async(client) if self.wrap_async else client

    def in_loop(self, factory: Callable[[], Awaitable[Any]], timeout: Optional[float] = None) -> Any:
        """Run the coroutine ``factory()`` in the runner's loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(factory(), self._loop)
        try:
            return future.result((timeout or self.timeout) + 15.0)
        except TimeoutError:
            future.cancel()
            raise InfrastructureError(f"an async call did not finish within {self.timeout + 15:.0f} s "
                                      "despite its timeout (event loop stuck?)") from None

    def call_sync(self, method: str, kwargs: dict[str, Any], client: Any = None) -> Any:
        """``client.method(**kwargs)`` on the sync client (or ``client``)."""
        kwargs = dict(kwargs)
        args = kwargs.pop(POSITIONAL, [])
        result = getattr(client or self.sync, method)(*args, **kwargs)
        if inspect.isgenerator(result):  # streaming calls (dump_messages)
            result = [item for _, item in zip(range(100), result)]
        return result

    def call_async(self, method: str, kwargs: dict[str, Any], client: Any = None) -> Any:
        """``await client.method(**kwargs)`` on the async client (or ``client``), in the runner's loop."""
        target = client or self.asyn

        kwargs = dict(kwargs)
        args = kwargs.pop(POSITIONAL, [])

        async def go() -> Any:
            result = getattr(target, method)(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            if inspect.isasyncgen(result):  # streaming calls (dump_messages)
                items = []
                async for item in result:
                    items.append(item)
                    if len(items) >= 100:
                        break
                result = items
            return result

        return self.in_loop(go)

    def gather_async(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """The calls issued together with ``asyncio.gather`` on the async client; results or exceptions, in order."""
        async def go() -> list[Any]:
            async def one(method: str, kwargs: dict[str, Any]) -> Any:
                result = getattr(self.asyn, method)(**kwargs)
                return await result if inspect.isawaitable(result) else result

            return await asyncio.gather(*(one(m, k) for m, k in calls), return_exceptions=True)

        return self.in_loop(go, timeout=self.timeout * max(1, len(calls)))

    def close_async_client(self, client: Any) -> None:
        """Close an async client made by :meth:`new_async_client` (errors ignored)."""
        async def go() -> None:
            result = client.close()
            if inspect.isawaitable(result):
                await result

        try:
            self.in_loop(go)
        except Exception:  # noqa: BLE001 - closing twice or closing a broken client is not a finding
            pass

    def check_server(self, exc: BaseException) -> None:
        """Raise InfrastructureError if ``exc`` looks like a lost server and the server no longer answers."""
        text = f"{type(exc).__name__}: {exc}"
        if not any(hint.lower() in text.lower() for hint in _INFRA_HINTS) and self.server_alive():
            return
        if not self.server_alive():
            raise InfrastructureError(f"the server at {self.conn.uri} stopped answering during conformance "
                                      f"(last error: {text[:200]})")

    def server_alive(self) -> bool:
        """True when the server's port still accepts connections."""
        from scenarios.targets import port_answers

        return port_answers(self.conn.uri, timeout=3)

    def close(self) -> None:
        """Close both clients and stop the loop."""
        self.close_async_client(self.asyn)
        try:
            self.sync.close()
        except Exception:  # noqa: BLE001
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
