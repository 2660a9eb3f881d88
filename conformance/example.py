"""One differential example: build twin state, make the same call through both clients, observe, compare."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Optional

from conformance import normalize
from conformance.compare import Outcome, difference
from conformance.registry import MethodSpec, Need
from conformance.runner import Runner
from conformance.world import Namespace, Ref, build, cleanup, new_namespaces
from scenarios.errors import InfrastructureError

#: Probes run after a mutating call on a collection.
COLLECTION_PROBES: list[tuple[str, dict[str, Any]]] = [
    ("describe_collection", {"collection_name": Ref("coll")}),
    ("list_partitions", {"collection_name": Ref("coll")}),
    ("list_indexes", {"collection_name": Ref("coll")}),
    ("get_load_state", {"collection_name": Ref("coll")}),
    ("query", {"collection_name": Ref("coll"), "filter": "", "output_fields": ["count(*)"]}),
]
GLOBAL_PROBES: list[tuple[str, dict[str, Any]]] = [("list_collections", {}), ("list_databases", {})]


class SetupError(Exception):
    """The starting state could not be built (the server refused a setup call)."""


@dataclass
class Divergence(AssertionError):
    """The async client did not behave like the sync one. Carries everything a reproducer needs."""

    method: str
    why: str
    kwargs: dict[str, Any]
    needs: tuple[Need, ...]
    sync: dict[str, Any] = field(default_factory=dict)
    asyn: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"AsyncMilvusClient.{self.method} diverges from MilvusClient.{self.method}: {self.why}\n"
                f"  kwargs: {self.kwargs!r:.600}")


def _with_timeout(runner: Runner, spec: MethodSpec, method: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    if not spec.timeout or "timeout" in kwargs:
        return kwargs
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return kwargs
    takes = "timeout" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    return {**kwargs, "timeout": runner.timeout} if takes else kwargs


def observe(runner: Runner, spec: MethodSpec, ns: Namespace, kwargs: dict[str, Any], side: str,
            client: Any = None) -> Outcome:
    """Make the call on one side and probe its side effects; the outcome is normalised and masked."""
    prefixes = (ns.prefix,)
    concrete = ns.resolve(kwargs)
    owner = client or (runner.sync if side == "sync" else runner.asyn)
    concrete = _with_timeout(runner, spec, getattr(owner, spec.name), concrete)
    try:
        raw = runner.call_sync(spec.name, concrete, client) if side == "sync" else \
            runner.call_async(spec.name, concrete, client)
        value = normalize.mask(normalize.only_own(normalize.plain(raw), prefixes), prefixes, spec.volatile_keys)
        outcome_ok, error = True, None
    except InfrastructureError:
        raise
    except Exception as exc:  # noqa: BLE001 - an error is an outcome to compare
        runner.check_server(exc)
        value, outcome_ok, error = None, False, normalize.error_record(exc, prefixes)
    return Outcome(outcome_ok, value, error, probe(runner, spec, ns) if spec.mutates else None)


def probe_calls(spec: MethodSpec) -> list[tuple[str, dict[str, Any]]]:
    """The calls (method, kwargs with Ref placeholders) :func:`probe` makes after a call of ``spec``."""
    calls = list(spec.probe() if spec.probe else [])
    if not spec.probe:
        if {Need.COLLECTION, Need.BARE_COLLECTION, Need.PARTITION, Need.ALIAS} & set(spec.needs):
            calls += COLLECTION_PROBES
        calls += GLOBAL_PROBES
    return calls


def probe(runner: Runner, spec: MethodSpec, ns: Namespace) -> dict[str, Any]:
    """What describe/list/query show on this side after the call (through the sync client)."""
    calls = probe_calls(spec)
    seen: dict[str, Any] = {}
    for i, (method, kwargs) in enumerate(calls):
        key = f"{i}:{method}"
        try:
            raw = runner.call_sync(method, {**ns.resolve(kwargs), "timeout": runner.timeout})
            own = normalize.only_own(normalize.plain(raw), (ns.prefix,))
            seen[key] = normalize.mask(own, (ns.prefix,), spec.volatile_keys)
        except Exception as exc:  # noqa: BLE001
            runner.check_server(exc)
            seen[key] = {"error": normalize.error_record(exc, (ns.prefix,))}
    return seen


def run_example(runner: Runner, spec: MethodSpec, kwargs: dict[str, Any],
                shared: Optional[Namespace] = None) -> tuple[Outcome, Outcome]:
    """Run one example of ``spec``; raise :class:`Divergence` when the clients disagree, SetupError when the
    state cannot be built. ``shared`` is a prebuilt namespace both sides use (read-only specs)."""
    if shared is not None:
        ns_s = ns_a = shared
    else:
        ns_s, ns_a = new_namespaces(shared=not spec.mutates)
    built: list[str] = []
    fresh_sync = fresh_async = None
    try:
        if shared is None:
            for ns in {ns_s, ns_a}:
                built.append(ns.prefix)
                try:
                    build(runner.sync, ns, spec.needs, runner.timeout)
                except Exception as exc:  # noqa: BLE001
                    runner.check_server(exc)
                    raise SetupError(f"{spec.name}: cannot build {[n.value for n in spec.needs]}: "
                                     f"{normalize.error_record(exc)['message'][:300]}") from exc
        if spec.fresh_clients:
            fresh_sync, fresh_async = runner.conn.sync_client(), runner.new_async_client()
        sync = observe(runner, spec, ns_s, kwargs, "sync", fresh_sync)
        asyn = observe(runner, spec, ns_a, kwargs, "async", fresh_async)
    finally:
        if fresh_sync is not None:
            try:
                fresh_sync.close()
            except Exception:  # noqa: BLE001
                pass
        if fresh_async is not None:
            runner.close_async_client(fresh_async)
        if built:
            cleanup(runner.sync, built, runner.timeout)
    why = difference(spec.compare, sync, asyn)
    if why:
        raise Divergence(spec.name, why, kwargs, spec.needs, sync.as_dict(), asyn.as_dict())
    return sync, asyn
