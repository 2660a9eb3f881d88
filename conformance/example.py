"""One differential example: build twin state, make the same call through both clients, observe, compare."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from conformance import normalize, typed
from conformance.compare import Outcome, difference
from conformance.registry import MethodSpec, Need
from conformance.runner import Runner
from conformance.world import Namespace, Ref, build, cleanup, new_namespaces
from vdb_harness.kernel.errors import InfrastructureError

ProbeCall = tuple[str, dict[str, Any]]
C = Ref("coll")
#: What a collection-scoped call can change: its schema, partitions, indexes, load state and row count.
COLLECTION_PROBES: list[ProbeCall] = [
    ("describe_collection", {"collection_name": C}),
    ("list_partitions", {"collection_name": C}),
    ("list_indexes", {"collection_name": C}),
    ("get_load_state", {"collection_name": C}),
    ("query", {"collection_name": C, "filter": "", "output_fields": ["count(*)"]}),
]
#: Objects any call may create or drop by name (in the default database): listed after every call.
GLOBAL_PROBES: list[ProbeCall] = [("list_collections", {}), ("list_databases", {})]
#: What each piece of starting state can be changed through: the probes of a spec follow from its needs.
NEED_PROBES: dict[Need, list[ProbeCall]] = {
    Need.COLLECTION: COLLECTION_PROBES,
    Need.BARE_COLLECTION: COLLECTION_PROBES,
    Need.PARTITION: COLLECTION_PROBES + [("has_partition", {"collection_name": C, "partition_name": Ref("part")})],
    Need.ALIAS: COLLECTION_PROBES + [("list_aliases", {"collection_name": C})],
    Need.DATABASE: [("describe_database", {"db_name": Ref("db")})],
    Need.USER: [("list_users", {}), ("describe_user", {"user_name": Ref("user")})],
    Need.ROLE: [("list_roles", {}), ("describe_role", {"role_name": Ref("role")})],
    Need.PRIVILEGE_GROUP: [("list_privilege_groups", {})],
    Need.RESOURCE_GROUP: [("list_resource_groups", {})],
    Need.TYPED: typed.PROBES + [("describe_collection", {"collection_name": Ref("typed")})],
}
#: What a method of a category can create or drop without needing it first (a create_user needs no user).
CATEGORY_PROBES: dict[str, list[ProbeCall]] = {
    "rbac": [("list_users", {}), ("list_roles", {}), ("list_privilege_groups", {})],
    "resource_group": [("list_resource_groups", {})],
    "file_resource": [("list_file_resources", {})],
}
#: Through the client that made the call: where its next call lands (``use_database`` / ``using_database`` move
#: it; a closed client refuses). Compared like every other probe, so a client that switched database wrongly, or
#: broke, diverges.
CLIENT_PROBES: list[ProbeCall] = [("list_collections", {})]


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
    positional = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if "timeout" in positional[:len(kwargs.get("__positional__") or ())]:
        return kwargs  # the call passes its timeout positionally
    return {**kwargs, "timeout": runner.timeout} if takes else kwargs


def observe(runner: Runner, spec: MethodSpec, ns: Namespace, kwargs: dict[str, Any], side: str,
            client: Any = None) -> Outcome:
    """Make the call on one side and probe its side effects, whether it returned or raised (server state through
    the sync probe client, and the calling client's own state through that client); normalised and masked."""
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
    effects = probe(runner, spec, ns)
    effects.update(probe_client(runner, spec, ns, side, owner))
    return Outcome(outcome_ok, value, error, effects)


def _unique(calls: list[ProbeCall]) -> list[ProbeCall]:
    seen: set[str] = set()
    out = []
    for call in calls:
        key = repr(call)
        if key not in seen:
            seen.add(key)
            out.append(call)
    return out


def probe_calls(spec: MethodSpec) -> list[tuple[str, dict[str, Any]]]:
    """The calls (method, kwargs with Ref placeholders) :func:`probe` makes after a call of ``spec``: the spec's
    own probes, then what its needs and its category say it can touch, then the global listings."""
    calls = list(spec.probe() if spec.probe else [])
    for need in spec.needs:
        calls += NEED_PROBES.get(need, [])
    calls += CATEGORY_PROBES.get(spec.category, [])
    calls += GLOBAL_PROBES
    return _unique(calls)


def _probe_one(runner: Runner, spec: MethodSpec, ns: Namespace, call: Callable[[dict[str, Any]], Any],
               kwargs: dict[str, Any]) -> Any:
    try:
        own = normalize.only_own(normalize.plain(call({**ns.resolve(kwargs), "timeout": runner.timeout})),
                                 (ns.prefix,))
        return normalize.mask(own, (ns.prefix,), spec.volatile_keys)
    except InfrastructureError:
        raise
    except Exception as exc:  # noqa: BLE001 - an error is what the probe saw
        runner.check_server(exc)
        return {"error": normalize.error_record(exc, (ns.prefix,))}


def probe(runner: Runner, spec: MethodSpec, ns: Namespace) -> dict[str, Any]:
    """What describe/list/query show on this side after the call (through the sync probe client)."""
    seen: dict[str, Any] = {}
    for i, (method, kwargs) in enumerate(probe_calls(spec)):
        seen[f"{i}:{method}"] = _probe_one(runner, spec, ns, lambda k, m=method: runner.call_sync(m, k), kwargs)
    return seen


def shared_client_probes() -> list[ProbeCall]:
    """The :data:`CLIENT_PROBES` both client classes have: a probe one side lacks (pymilvus 2.5.x's
    AsyncMilvusClient has no list_collections) would report its AttributeError as a divergence of every method."""
    from pymilvus import AsyncMilvusClient, MilvusClient

    return [(m, k) for m, k in CLIENT_PROBES if hasattr(MilvusClient, m) and hasattr(AsyncMilvusClient, m)]


def probe_client(runner: Runner, spec: MethodSpec, ns: Namespace, side: str, client: Any) -> dict[str, Any]:
    """The calling ``client``'s own state after the call, seen through that client: where its next call lands."""
    seen: dict[str, Any] = {}
    for method, kwargs in shared_client_probes():
        if side == "sync":
            def call(k: dict[str, Any], m: str = method) -> Any:
                return runner.call_sync(m, k, client)
        else:
            def call(k: dict[str, Any], m: str = method) -> Any:
                return runner.call_async(m, k, client)
        seen[f"client:{method}"] = _probe_one(runner, spec, ns, call, kwargs)
    return seen


def run_example(runner: Runner, spec: MethodSpec, kwargs: dict[str, Any],
                shared: Optional[Namespace] = None) -> tuple[Outcome, Outcome]:
    """Run one example of ``spec``; raise :class:`Divergence` when the clients disagree, SetupError when the
    state cannot be built. ``shared`` is a prebuilt namespace both sides use (read-only specs)."""
    if shared is not None:
        ns_s = ns_a = shared
    else:
        spec = typed.narrowed(spec, kwargs)  # build (and probe) only the state this call touches
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
            fresh_sync, fresh_async = runner.new_sync_client(), runner.new_async_client()
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
