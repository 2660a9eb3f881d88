"""Deliberately wrong AsyncMilvusClients: the real client with one method broken in one way, to show that the
conformance suite notices (and names the method)."""

from __future__ import annotations

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
    arguments, ``after`` rewrites the result, ``swallow`` returns None instead of raising."""

    def __init__(self, client: Any, method: str, *, before: Callable | None = None, after: Callable | None = None,
                 swallow: bool = False) -> None:
        self._client, self._method = client, method
        self._before, self._after, self._swallow = before, after, swallow

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._method:
            return real

        async def wrong(*args: Any, **kwargs: Any) -> Any:
            if self._before:
                kwargs = self._before(kwargs)
            try:
                result = real(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except Exception:  # noqa: BLE001 - the fault under test: an error that vanishes
                if self._swallow:
                    return None
                raise
            return self._after(result) if self._after else result

        return wrong
