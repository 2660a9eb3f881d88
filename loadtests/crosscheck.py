"""The load path's latency, checked against an independent stopwatch: what the users report for each request, and
the wall time around each call they make to the server, side by side. Tests and benchmarks use it to show that
the reported latency is the server call's, not the harness's own work.
"""

from __future__ import annotations

import inspect
import time
from typing import Any, Callable, Iterable


def record_reported(ctx: Any, sink: list[float]) -> None:
    """Append every response time (ms) the run context ``ctx`` is told of to ``sink`` as well."""
    on_request = ctx.on_request

    def listener(**event: Any) -> None:
        sink.append(event["response_time"])
        on_request(**event)

    ctx.on_request = listener


def stopwatch(call: Callable[..., Any], sink: list[float]) -> Callable[..., Any]:
    """``call`` with its wall time in ms appended to ``sink`` after each call, whether it returns or raises. For a
    call that returns an awaitable, the time until that awaitable is done, counted from the call, or for a
    coroutine (which does nothing until awaited) from when it is first awaited."""
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            result = call(*args, **kwargs)
        except BaseException:
            sink.append((time.perf_counter() - start) * 1000.0)
            raise
        if not inspect.isawaitable(result):
            sink.append((time.perf_counter() - start) * 1000.0)
            return result

        async def finished() -> Any:
            nonlocal start
            if inspect.iscoroutine(result):
                start = time.perf_counter()
            try:
                return await result
            finally:
                sink.append((time.perf_counter() - start) * 1000.0)

        return finished()

    return timed


def independently_timed(user_class: type, sink: list[float], methods: Iterable[str] = ("search",)) -> type:
    """A subclass of the Locust ``user_class`` whose server calls go through :func:`stopwatch` into ``sink``: every
    prebuilt RPC of a lean user, else its client's ``methods``."""
    names = tuple(methods)

    class Timed(user_class):  # type: ignore[valid-type, misc]
        abstract = True

        def _open(self) -> None:
            super()._open()
            if hasattr(self, "rpcs"):
                self.rpcs = {name: stopwatch(send, sink) for name, send in self.rpcs.items()}
            else:
                for name in names:
                    setattr(self.client, name, stopwatch(getattr(self.client, name), sink))

    Timed.__name__ = f"Timed{user_class.__name__}"
    return Timed
