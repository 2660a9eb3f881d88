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
        self._tasks: set[asyncio.Task] = set()
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
        (so the hop between gevent and the loop thread is not counted as server latency).

        The request path: one ``call_soon_threadsafe`` into the loop, which starts a task that hands its outcome
        straight to the waiting greenlet. ``run_coroutine_threadsafe`` (as :meth:`call` uses) adds a
        ``concurrent.futures.Future`` chained to an asyncio one and a done callback per request; skipping them
        cut the async user's client CPU per request by about 10 % on bench_load.
        """
        from gevent.event import AsyncResult

        done = AsyncResult()
        self.loop.call_soon_threadsafe(self._start_timed, method, kwargs, done)
        return done.get(timeout=timeout)

    def _start_timed(self, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any], done: Any) -> None:
        """In the loop thread: run one timed call as a task (referenced until done: the loop keeps weak refs)."""
        task = self.loop.create_task(_timed_into(method, kwargs, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Stop the loop (its thread ends)."""
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _timed_into(method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any], done: Any) -> None:
    """Await ``method(**kwargs)`` and set ``done`` (a gevent AsyncResult) to ``(result, error, seconds)``."""
    started = time.perf_counter()
    try:
        result = await method(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every client error is a measured outcome
        done.set((None, exc, time.perf_counter() - started))
    except BaseException as exc:  # cancelled with the loop: the waiting greenlet must not hang until its timeout
        done.set_exception(exc)
        raise
    else:
        done.set((result, None, time.perf_counter() - started))


def shared_bridge() -> AsyncBridge:
    """The process' bridge, started on first use."""
    global _shared
    if _shared is None:
        _shared = AsyncBridge()
    return _shared
