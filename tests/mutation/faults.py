"""Deliberately wrong AsyncMilvusClients: the real client with one method broken in one way, to show that the
conformance suite notices (and names the method)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable


def drop_kwarg(name: str) -> Callable[[dict[str, Any], Any], Any]:
    """The call loses keyword argument ``name``."""
    def before(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in kwargs.items() if k != name}
    return before


def off_by_one_limit(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``limit`` one smaller than asked (never below 1)."""
    return {**kwargs, "limit": max(1, int(kwargs.get("limit", 10)) - 1)} if isinstance(kwargs.get("limit", 10), int) \
        else kwargs


def reversed_order(result: Any) -> Any:
    """Hits (or rows) in the opposite order."""
    if isinstance(result, list) and result and isinstance(result[0], list):
        return [list(reversed(hits)) for hits in result]
    if isinstance(result, list):
        return list(reversed(result))
    return result


def truncated(result: Any) -> Any:
    """A list result missing its last element (a stale or cut-off answer)."""
    if isinstance(result, list) and result and isinstance(result[0], list):
        return [hits[:-1] for hits in result]
    if isinstance(result, list):
        return result[:-1]
    if isinstance(result, dict) and "insert_count" in result:
        return {**result, "insert_count": 0}
    return result


class Faulty:
    """Proxy of a real AsyncMilvusClient whose method ``method`` is altered: ``before`` rewrites the keyword
    arguments, ``after`` rewrites the result, ``swallow`` returns None instead of raising, ``call`` (``call(real,
    args, kwargs)``) replaces how the real method is called. The altered method keeps the real one's signature
    for introspection (``functools.wraps``)."""

    def __init__(self, client: Any, method: str, *, before: Callable | None = None, after: Callable | None = None,
                 swallow: bool = False, call: Callable | None = None) -> None:
        self._client, self._method = client, method
        self._before, self._after, self._swallow, self._call = before, after, swallow, call

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._method:
            return real

        @functools.wraps(real)
        async def wrong(*args: Any, **kwargs: Any) -> Any:
            if self._before:
                kwargs = self._before(kwargs)
            try:
                result = self._call(real, args, kwargs) if self._call else real(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except Exception:  # noqa: BLE001 - the fault under test: an error that vanishes
                if self._swallow:
                    return None
                raise
            return self._after(result) if self._after else result

        return wrong


def rejects_positional(real: Callable, args: tuple, kwargs: dict[str, Any]) -> Any:
    """The method takes keywords only: a call written positionally (as the sync signature allows) is refused."""
    if args:
        raise TypeError(f"{getattr(real, '__name__', 'method')}() takes keyword arguments only ({len(args)} given)")
    return real(**kwargs)


def ignores_unknown_kwargs(real: Callable, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Keywords the method does not name are dropped silently instead of refused."""
    named = set(inspect.signature(real).parameters)
    return real(*args, **{k: v for k, v in kwargs.items() if k in named})


def strict_signature(real: Callable, args: tuple, kwargs: dict[str, Any]) -> Any:
    """The method refuses keywords its own signature does not name, even where the sync signature names them
    (as if its ``**kwargs`` were gone)."""
    named = set(inspect.signature(real).parameters) - {"kwargs"}
    unknown = sorted(set(kwargs) - named)
    if unknown:
        raise TypeError(f"{getattr(real, '__name__', 'method')}() got an unexpected keyword argument {unknown[0]!r}")
    return real(*args, **kwargs)


def rejects_short_timeout(real: Callable, args: tuple, kwargs: dict[str, Any]) -> Any:
    """A sub-second per-call timeout (0 included) is refused up front with ValueError, where the sync client sends
    the call (unlike pymilvus' own retry-timeout error, which the registry knows)."""
    timeout = kwargs.get("timeout")
    if isinstance(timeout, (int, float)) and timeout < 1:
        raise ValueError(f"timeout {timeout} is too short")
    return real(*args, **kwargs)


def rejects_empty_string(real: Callable, args: tuple, kwargs: dict[str, Any]) -> Any:
    """An empty-string argument is refused client-side (where the server, or the sync client, decides)."""
    if any(v == "" for v in list(args) + list(kwargs.values())):
        raise ValueError("empty string argument")
    return real(*args, **kwargs)
