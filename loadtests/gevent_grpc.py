"""gRPC under gevent: the one switch the sync client needs, and native threads for the async client's loop.

Locust runs users as greenlets on a monkey-patched standard library. A blocking gRPC call would stall every
greenlet of the process, so :func:`enable` turns on gRPC's gevent integration (``grpc.experimental.gevent``);
it must run before the first gRPC channel of the process is created (this module is imported first by the
load-test entry points for that reason).
"""

from __future__ import annotations

from typing import Any, Callable

_enabled = False


def enable() -> None:
    """Monkey-patch the standard library (if Locust has not yet) and switch gRPC to gevent. Idempotent."""
    global _enabled
    if _enabled:
        return
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    import grpc.experimental.gevent as grpc_gevent

    grpc_gevent.init_gevent()
    _enabled = True


def start_native_thread(target: Callable[[], Any]) -> None:
    """Run ``target`` in a real OS thread (not a greenlet), even though ``threading`` is monkey-patched."""
    from gevent import monkey

    monkey.get_original("_thread", "start_new_thread")(target, ())


class _NativeThread:
    """A ``threading.Thread`` stand-in that runs its target in a real OS thread (for gRPC's asyncio poller)."""

    def __init__(self, target: Callable[[], Any] | None = None, daemon: bool | None = None, **_: Any) -> None:
        self._target = target

    def start(self) -> None:
        """Start the target in a native thread."""
        if self._target is not None:
            start_native_thread(self._target)

    def join(self, timeout: float | None = None) -> None:
        """The poller thread lives as long as the process; nothing to wait for."""


class _ThreadingWithNativeThreads:
    """The ``threading`` module as gRPC's Cython core sees it, with :class:`_NativeThread` for ``Thread``."""

    Thread = _NativeThread

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def native_threads_for_grpc_aio() -> None:
    """Make gRPC's asyncio poller a real thread under monkey-patching (a greenlet poller never runs there).

    ``grpc.aio`` starts its completion-queue poller with ``threading.Thread``; patched, that thread would be a
    greenlet of the event loop's thread, which never yields to gevent, so every call would hang. Idempotent.
    """
    from grpc._cython import cygrpc

    current = getattr(cygrpc, "threading", None)
    if current is not None and not isinstance(current, _ThreadingWithNativeThreads):
        cygrpc.threading = _ThreadingWithNativeThreads(current)
