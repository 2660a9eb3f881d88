"""Replay a divergence the suite found: build the same starting state once per side, make the recorded call
through ``MilvusClient`` and through ``AsyncMilvusClient``, probe what each side shows afterwards, and judge the
two outcomes as the suite does. This is what a reproducer script runs (:mod:`conformance.reproducer`).

Part of the reproducer kit: standard library and pymilvus only, the kit's modules imported relatively, so a
reproducer script sets up, calls, probes and judges with this very code, outside the harness.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NoReturn, Optional, Sequence, Union

from .compare import Compare, Outcome, difference
from .normalize import error_record, mask, only_own, plain
from .probes import SHARED_PROBES, ProbeCall, probe_calls, shared_client_probes, unique
from .starting_state import FEATURES, STANDARD_NEEDS, build_standard, cleanup, resolve_refs, with_nullable_fallback

#: Key of a call's positional arguments among its keyword arguments (as the suite records a call).
POSITIONAL = "__positional__"
#: Exit codes of a reproducer script.
DIVERGES, AGREES, CANNOT_RUN = 1, 0, 2
#: The timeout of every call a reproducer makes, in seconds.
TIMEOUT = 30
#: How many items of a stream (an iterator result) are compared.
STREAM_ITEMS = 100
DEFAULT_URI = "http://127.0.0.1:19530"

Namer = Callable[[str], str]


def with_timeout(method: Any, kwargs: dict[str, Any], timeout: float) -> dict[str, Any]:
    """``kwargs`` plus ``timeout=timeout`` where the bound ``method`` takes a timeout and the call does not pass
    one already, by keyword or among its positional arguments (``kwargs[POSITIONAL]``)."""
    if "timeout" in kwargs:
        return kwargs
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return kwargs
    takes = "timeout" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    positional = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if "timeout" in positional[:len(kwargs.get(POSITIONAL) or ())]:
        return kwargs
    return {**kwargs, "timeout": timeout} if takes else kwargs


def own_client(cls: Any, uri: str) -> Any:
    """A new client with a connection of its own (as the harness makes them), so closing it leaves the others
    connected: pymilvus 3 pools connections unless ``dedicated=True``; older releases share one per alias."""
    try:
        import pymilvus.client.connection_manager  # noqa: F401 - present from pymilvus 3.0 on
        isolation: dict[str, Any] = {"dedicated": True}
    except ImportError:
        isolation = {"alias": f"repro-{uuid.uuid4().hex[:8]}"}
    return cls(uri=uri, timeout=TIMEOUT, **isolation)


@dataclass
class Case:
    """One recorded call and how the suite ran and judged it."""

    method: str
    #: ``kwargs(p)``: the call's keyword arguments on one side (``p(name)``: that side's name of an object).
    kwargs: Callable[[Namer], dict[str, Any]]
    #: ``args(p)``: its positional arguments, where it had any.
    args: Optional[Callable[[Namer], Sequence[Any]]] = None
    #: The standard starting state it needs (``conformance.registry.Need`` values).
    needs: Sequence[str] = ()
    #: How its results are compared (a :class:`Compare` name), and the result keys masked as server-generated.
    mode: str = "EXACT"
    volatile: Sequence[str] = ()
    #: The suite passes the call a timeout; the sync call goes through a client of its own (``fresh``).
    timeout: bool = True
    fresh: bool = False
    #: What is probed afterwards: the needs' probes (default: ``needs``) and the category's.
    probe_needs: Optional[Sequence[str]] = None
    category: str = ""
    #: Features of the starting state the run had switched off (``{"nullable": False}``).
    features: dict[str, bool] = field(default_factory=dict)
    #: ``setup(client, p)``: a starting state outside the standard one, as literal calls.
    setup: Optional[Callable[[Any, Namer], None]] = None
    #: ``probes(p)``: the whole probe list, where it is not the standard one; ``own_probes``: the method's own
    #: probes, before the standard ones (``own_probes(p)``, or the name of a shared list in ``SHARED_PROBES``).
    probes: Optional[Callable[[Namer], list[ProbeCall]]] = None
    own_probes: Union[str, Callable[[Namer], list[ProbeCall]], None] = None

    def build(self, admin: Any, p: Namer) -> None:
        """The starting state on one side."""
        if self.setup is not None:
            self.setup(admin, p)
            return
        unknown = set(self.needs) - STANDARD_NEEDS
        if unknown:
            raise ValueError(f"no builder for {sorted(unknown)} in this kit: the script must bring a setup")
        with_nullable_fallback(lambda: build_standard(admin, p, self.needs, TIMEOUT), admin, p(""), TIMEOUT)

    def probe_list(self, p: Namer) -> list[ProbeCall]:
        """The server probes after the call, resolved for one side."""
        if self.probes is not None:
            return self.probes(p)
        if isinstance(self.own_probes, str):
            own = SHARED_PROBES[self.own_probes]
        else:
            own = self.own_probes(p) if self.own_probes is not None else []
        needs = self.needs if self.probe_needs is None else self.probe_needs
        return unique(resolve_refs(probe_calls(own, needs, self.category), p))  # own probes come resolved

    def call_arguments(self, client: Any, p: Namer) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments of the call on one side (with the suite's timeout)."""
        kwargs = dict(self.kwargs(p))
        args = list(self.args(p)) if self.args is not None else []
        if self.timeout:
            kwargs = with_timeout(getattr(client, self.method), {**kwargs, POSITIONAL: args}, TIMEOUT)
            kwargs.pop(POSITIONAL)
        return args, kwargs


def seen(value: Any, prefix: str, volatile: Iterable[str]) -> Any:
    """A returned value as the harness compares it: plain data, other sides' names left out, names masked."""
    return mask(only_own(plain(value), (prefix,)), (prefix,), frozenset(volatile))


async def _settled(value: Any) -> Any:
    """``value`` awaited where it is awaitable, and an async stream's first items as a list."""
    if inspect.isawaitable(value):
        value = await value
    if inspect.isasyncgen(value):
        items = []
        async for item in value:
            items.append(item)
            if len(items) == STREAM_ITEMS:
                break
        value = items
    return value


def _observe(case: Case, client: Any, admin: Any, p: Namer, settle: Callable[[Any], Any]) -> Outcome:
    """Make the call through ``client``, then probe the server through ``admin`` and the client's own state
    through ``client``; ``settle`` turns what ``client`` returns into its value (awaits it, for an async one)."""
    prefix = p("")
    try:
        args, kwargs = case.call_arguments(client, p)
        result = settle(getattr(client, case.method)(*args, **kwargs))
        if inspect.isgenerator(result):  # a stream: its first items
            result = list(itertools.islice(result, STREAM_ITEMS))
        ok, value, error = True, seen(result, prefix, case.volatile), None
    except Exception as exc:  # noqa: BLE001 - an error is an outcome to compare
        ok, value, error = False, None, error_record(exc, (prefix,))
    effects: dict[str, Any] = {}
    asked = [(f"{i}:{name}", admin, name, arguments) for i, (name, arguments) in enumerate(case.probe_list(p))]
    asked += [(f"client:{name}", client, name, arguments) for name, arguments in shared_client_probes()]
    for key, through, name, arguments in asked:
        try:
            answer = getattr(through, name)(**arguments, timeout=TIMEOUT)
            effects[key] = seen(settle(answer) if through is client else answer, prefix, case.volatile)
        except Exception as exc:  # noqa: BLE001 - an error is what the probe saw
            effects[key] = {"error": error_record(exc, (prefix,))}
    return Outcome(ok, value, error, effects)


def _close_quietly(client: Any, settle: Callable[[Any], Any] = lambda v: v) -> None:
    """Close ``client``, ignoring a client that is closed already (when the call under test is close itself)."""
    try:
        settle(client.close())
    except Exception:  # noqa: BLE001
        pass


def sync_side(case: Case, admin: Any, p: Namer, uri: str) -> Outcome:
    """The call through ``MilvusClient`` (the admin client, or one of its own where the suite used one)."""
    from pymilvus import MilvusClient

    client = own_client(MilvusClient, uri) if case.fresh else admin
    try:
        return _observe(case, client, admin, p, lambda value: value)
    finally:
        if client is not admin:
            _close_quietly(client)


def async_side(case: Case, admin: Any, p: Namer, uri: str) -> Outcome:
    """The same call through a new ``AsyncMilvusClient``, on an event loop of its own."""
    from pymilvus import AsyncMilvusClient

    async def connect() -> Any:
        return own_client(AsyncMilvusClient, uri)

    loop = asyncio.new_event_loop()
    try:
        client = loop.run_until_complete(connect())

        def settle(value: Any) -> Any:
            return loop.run_until_complete(_settled(value))

        try:
            return _observe(case, client, admin, p, settle)
        finally:
            _close_quietly(client, settle)
    finally:
        loop.close()


def show(side: str, outcome: Outcome) -> None:
    """Print one side's outcome and what the probes saw."""
    print(f"{side} returned:" if outcome.ok else f"{side} raised:",
          repr(outcome.value if outcome.ok else outcome.error)[:2000])
    for key, value in (outcome.effects or {}).items():
        print(f"  {side} after the call, {key}:", repr(value)[:600])


def reproduce(case: Case, argv: Optional[list[str]] = None) -> int:
    """Build the starting state once per side, call through each client, probe, compare; the exit code is
    :data:`DIVERGES` while the clients diverge, :data:`AGREES` once they agree, :data:`CANNOT_RUN` when the
    starting state cannot be built. ``argv[1]`` is the server's URI."""
    import pymilvus
    from pymilvus import MilvusClient

    argv = sys.argv if argv is None else argv
    uri = argv[1] if len(argv) > 1 else DEFAULT_URI
    FEATURES.update(case.features)
    stem = f"cf{uuid.uuid4().hex[:6]}x1"
    p_sync, p_async = (lambda name: stem + "s_" + name), (lambda name: stem + "a_" + name)
    admin = own_client(MilvusClient, uri)  # builds, probes, cleans up
    try:
        try:
            case.build(admin, p_sync)
            case.build(admin, p_async)
        except Exception as exc:  # noqa: BLE001 - reported, with its own exit code
            print("the starting state could not be built:", type(exc).__name__, exc)
            return CANNOT_RUN
        sync = sync_side(case, admin, p_sync, uri)
        show("sync", sync)
        asyn = async_side(case, admin, p_async, uri)
        show("async", asyn)
    finally:
        cleanup(admin, [p_sync(""), p_async("")], TIMEOUT)
        _close_quietly(admin)
    why = difference(Compare[case.mode], sync, asyn)
    print("pymilvus", pymilvus.__version__ + ":", f"the clients DIVERGE: {why}" if why else "the clients agree")
    return DIVERGES if why else AGREES


def main(kwargs: Callable[[Namer], dict[str, Any]], **case: Any) -> NoReturn:
    """A reproducer script's entry point: :func:`reproduce` the :class:`Case` of ``kwargs`` and the facts
    ``case`` names, against the URI in ``sys.argv[1]``, and exit with its code."""
    raise SystemExit(reproduce(Case(kwargs=kwargs, **case)))
