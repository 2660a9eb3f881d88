"""One differential example: build twin state, make the same call through both clients, observe, compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from conformance import normalize, probes, typed
from conformance.compare import Outcome, difference
from conformance.probes import ProbeCall, shared_client_probes
from conformance.registry import MethodSpec, Need
from conformance.replay import with_timeout
from conformance.runner import Runner
from conformance.world import Namespace, Ref, build, cleanup, new_namespaces
from vdb_harness.kernel.errors import InfrastructureError

#: The probes of the typed collection (a need with a builder of its own, outside the standard starting state).
TYPED_NEED_PROBES = {Need.TYPED.value: typed.PROBES + [("describe_collection", {"collection_name": Ref("typed")})]}


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
    return with_timeout(method, kwargs, runner.timeout) if spec.timeout else kwargs


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


def probe_calls(spec: MethodSpec) -> list[ProbeCall]:
    """The calls (method, kwargs with Ref placeholders) :func:`probe` makes after a call of ``spec``: the spec's
    own probes, then what its needs and its category say it can touch, then the global listings."""
    return probes.probe_calls(spec.probe() if spec.probe else [], spec.needs, spec.category, TYPED_NEED_PROBES)


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
