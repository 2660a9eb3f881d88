"""An asyncio event loop in a native thread, driven from gevent greenlets without blocking them.

Async users submit coroutines with :meth:`AsyncBridge.call`; the calling greenlet waits on a gevent
``AsyncResult`` (set from the loop thread, which gevent supports across threads), so other greenlets keep
running. One bridge per process is shared by every async user (:func:`shared_bridge`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Optional

from loadtests import gevent_grpc

_shared: Optional["AsyncBridge"] = None


class AsyncBridge:
    """One event loop running forever in a native thread."""

    def __init__(self) -> None:
        """Create the loop (with the unpatched selector) and start its thread."""
        from gevent import monkey

        gevent_grpc.native_threads_for_grpc_aio()
        selector_cls = monkey.get_original("selectors", "DefaultSelector")
        self.loop = asyncio.SelectorEventLoop(selector_cls())
        gevent_grpc.start_native_thread(self.loop.run_forever)

    def call(self, coroutine: Awaitable[Any], timeout: Optional[float] = None) -> Any:
        """Run ``coroutine`` on the loop; the calling greenlet yields until it is done. Raises what it raised."""
        from gevent.event import AsyncResult

        done = AsyncResult()
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        future.add_done_callback(done.set)
        return done.get(timeout=timeout).result()

    def timed(self, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any],
              timeout: Optional[float] = None) -> tuple[Any, Optional[BaseException], float]:
        """``(result, error, seconds)`` of ``await method(**kwargs)``, timed with perf_counter in the loop itself
        (so the hop between gevent and the loop thread is not counted as server latency)."""
        return self.call(_timed(method, kwargs), timeout=timeout)

    def close(self) -> None:
        """Stop the loop (its thread ends)."""
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _timed(method: Callable[..., Awaitable[Any]],
                 kwargs: dict[str, Any]) -> tuple[Any, Optional[BaseException], float]:
    started = time.perf_counter()
    try:
        result = await method(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every client error is a measured outcome
        return None, exc, time.perf_counter() - started
    return result, None, time.perf_counter() - started


def shared_bridge() -> AsyncBridge:
    """The process' bridge, started on first use."""
    global _shared
    if _shared is None:
        _shared = AsyncBridge()
    return _shared
