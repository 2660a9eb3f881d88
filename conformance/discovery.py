"""What the installed pymilvus offers: the public methods of ``MilvusClient`` and ``AsyncMilvusClient``, found
by introspection at run time, and where the two classes differ (methods on one side only, signatures)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any


def public_methods(cls: type) -> dict[str, Any]:
    """Public callables of ``cls`` (name -> function), including static and class methods."""
    out = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        value = getattr(cls, name)
        if callable(value) and not isinstance(value, type):
            out[name] = value
    return out


def _params(fn: Any) -> dict[str, str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}
    return {name: f"{p.kind.name}={p.default!r}" if p.default is not p.empty else p.kind.name
            for name, p in sig.parameters.items() if name != "self"}


@dataclass
class Surface:
    """Both clients' public API and how they differ."""

    pymilvus: str
    sync_methods: list[str]
    async_methods: list[str]
    shared: list[str]
    sync_only: list[str]
    async_only: list[str]
    #: method -> differences in parameters (name, kind or default) between sync and async
    signature_differences: dict[str, list[str]] = field(default_factory=dict)
    #: shared methods that are not coroutines on the async client (they run synchronously there)
    async_not_coroutine: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the result file."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def signature_difference(sync_fn: Any, async_fn: Any) -> list[str]:
    """Parameters that exist on one side only, or differ in kind/default."""
    s, a = _params(sync_fn), _params(async_fn)
    out = [f"only sync: {n}" for n in s if n not in a] + [f"only async: {n}" for n in a if n not in s]
    out += [f"{n}: sync {s[n]} vs async {a[n]}" for n in s if n in a and s[n] != a[n]]
    return out


def discover() -> Surface:
    """The installed pymilvus' client surface."""
    import pymilvus
    from pymilvus import AsyncMilvusClient, MilvusClient

    sync, asyn = public_methods(MilvusClient), public_methods(AsyncMilvusClient)
    shared = sorted(set(sync) & set(asyn))
    surface = Surface(pymilvus=pymilvus.__version__, sync_methods=sorted(sync), async_methods=sorted(asyn),
                      shared=shared, sync_only=sorted(set(sync) - set(asyn)), async_only=sorted(set(asyn) - set(sync)))
    for name in shared:
        diff = signature_difference(sync[name], asyn[name])
        if diff:
            surface.signature_differences[name] = diff
        fn = asyn[name]
        if not (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)):
            surface.async_not_coroutine.append(name)
    return surface


# ---------------------------------------------------------------- sync-only APIs (issue #10 item 5)


@dataclass(frozen=True)
class SyncOnly:
    """A method only ``MilvusClient`` has: why, and what an async user writes instead (empty: nothing)."""

    reason: str
    async_instead: str = ""
    #: The test that compares the sync method with the async replacement on the same data ("" when none).
    compared_by: str = ""


SYNC_ONLY: dict[str, SyncOnly] = {
    "query_iterator": SyncOnly(
        "a stateful iterator object (next()/close()) built on blocking calls; AsyncMilvusClient has no async "
        "iterator", "query() pages with limit/offset (ordered by primary key)",
        "conformance/test_sync_only.py::test_query_iterator_equals_async_paged_query"),
    "search_iterator": SyncOnly(
        "a stateful iterator over search results (v2: server-side iterator tokens) built on blocking calls; "
        "AsyncMilvusClient has no async iterator", "search() pages with limit/offset",
        "conformance/test_sync_only.py::test_search_iterator_equals_async_paged_search"),
    "list_loaded_segments": SyncOnly(
        "segment info of the loaded (query node) segments: never ported to AsyncMilvusClient",
        "list_segments() / list_persistent_segments() report persistent segments, not loaded ones: no "
        "equivalent; not compared (Milvus Lite answers UNIMPLEMENTED to segment listings)"),
}
