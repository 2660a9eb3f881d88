"""Calls written the way users write them, derived from the introspected signatures of both clients.

Besides a spec's hand-written strategy, :func:`call_strategy` draws calls that start from one of its examples and
change one thing a caller can change: an edge value for one parameter (empty string, ``None``, 0, a negative
number, a value of the wrong type for its annotation, an empty or one-element list), an unknown keyword, a
timeout (``None``, 0, tiny, normal), and the form of the call as the **sync** signature allows it (positional in
the sync order, keywords by the sync names). The same call goes unchanged to both clients: one accepting and the
other rejecting it is a divergence.

:func:`asymmetry_call` writes, for each signature asymmetry :func:`conformance.discovery.asymmetries` lists, one
explicit call that exercises it (``conformance.specs.load_all`` adds them to the specs' explicit examples).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Optional

from hypothesis import strategies as st

from conformance import profiles
from conformance.replay import POSITIONAL  # where a call's positional arguments travel in its kwargs

#: A keyword no pymilvus method knows: a client must reject it (or both ignore it alike).
UNKNOWN_KWARG = "vdbh_unknown_kwarg"
#: Per-call timeouts a caller passes: tiny ones are where the clients' retry loops differ.
SHORT_TIMEOUTS: tuple[float, ...] = (0, 1e-3)
NORMAL_TIMEOUT = 10.0
#: Signature-derived examples per method, on top of the spec's hand-written ones (scaled like them; a mutating
#: method gets none extra in ``ci``, where its drawn examples are shared between both sources).
SIGNATURE_EXAMPLES = {"ci": 1, "nightly": 30, "replay": 1}
#: Parameters whose empty value addresses the default, shared object (the default database): never edged in a
#: mutating call, which could change what every other check sees.
_DEFAULT_SCOPE = ("db_name",)
_SKIP_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def signature_examples(weight: float, mutates: bool, profile: Optional[str] = None) -> int:
    """How many signature-derived examples a method gets under ``profile`` (besides the hand-written ones)."""
    base = SIGNATURE_EXAMPLES[profile or profiles.active()]
    return int(base * min(weight, 1.0) * (0.5 if mutates else 1.0))


def parameters(fn: Any) -> list[inspect.Parameter]:
    """The parameters of a client method, ``self`` left out (empty when it cannot be introspected)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [p for name, p in sig.parameters.items() if name != "self"]


def sync_method(name: str) -> Any:
    """``MilvusClient.<name>`` (None when the sync client lacks it)."""
    from pymilvus import MilvusClient

    return getattr(MilvusClient, name, None)


def async_method(name: str) -> Any:
    """``AsyncMilvusClient.<name>`` (None when the async client lacks it)."""
    from pymilvus import AsyncMilvusClient

    return getattr(AsyncMilvusClient, name, None)


def positional_params(fn: Any) -> list[inspect.Parameter]:
    """The parameters a caller may pass positionally, in order."""
    return [p for p in parameters(fn) if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _annotation_text(param: inspect.Parameter) -> str:
    ann = param.annotation
    if ann is param.empty:
        return ""
    return ann if isinstance(ann, str) else getattr(ann, "__name__", None) or repr(ann)


def wrong_type(param: inspect.Parameter, current: Any = None) -> Any:
    """A value of a type the parameter's annotation (or its current value) does not allow."""
    text = _annotation_text(param).lower()
    sample = current if current is not None else (None if param.default is param.empty else param.default)
    if "bool" in text or isinstance(sample, bool):
        return "yes"
    if "int" in text or "float" in text or isinstance(sample, (int, float)):
        return "1"
    if "str" in text or isinstance(sample, str):
        return 1
    if "list" in text or "dict" in text or isinstance(sample, (list, dict)):
        return "x"
    return object.__name__  # a string where an object is expected


def edge_values(param: inspect.Parameter, current: Any = None) -> list[Any]:
    """Edge values for one parameter: empty string, None, 0, negative, a wrong type, empty and one-element
    lists (``current``: the value the base example passes, used for the one-element list)."""
    one = [current[0]] if isinstance(current, list) and current else [current if current is not None else "x"]
    return ["", None, 0, -1, wrong_type(param, current), [], one]


def _safe_literal(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def by_sync_names(method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with its positional part (if any) turned into keywords named as the sync signature names them."""
    if POSITIONAL not in kwargs:
        return dict(kwargs)
    out = {k: v for k, v in kwargs.items() if k != POSITIONAL}
    names = [p.name for p in positional_params(sync_method(method))]
    values = list(kwargs[POSITIONAL])
    if len(values) > len(names):
        return dict(kwargs)  # more positional values than the sync signature takes: leave the call as written
    out.update(zip(names, values))
    return out


def as_sync_positional(method: str, kwargs: dict[str, Any], count: int) -> dict[str, Any]:
    """The call with its first ``count`` sync parameters passed positionally, in the sync order (a parameter the
    call leaves out is passed as its default, when that is a plain literal); the rest stay keywords."""
    kwargs = by_sync_names(method, kwargs)
    if POSITIONAL in kwargs:
        return kwargs
    args: list[Any] = []
    for p in positional_params(sync_method(method))[:count]:
        if p.name in kwargs:
            args.append(kwargs.pop(p.name))
        elif p.name == "timeout":  # never None in a positional call: a waiting call could wait for minutes
            args.append(NORMAL_TIMEOUT)
        elif p.default is not p.empty and _safe_literal(p.default):
            args.append(p.default)
        else:
            break
    return {POSITIONAL: args, **kwargs} if args else kwargs


def max_positional(method: str, kwargs: dict[str, Any]) -> int:
    """How many leading sync parameters of this call can be written positionally."""
    kwargs = by_sync_names(method, kwargs)
    n = 0
    for p in positional_params(sync_method(method)):
        if p.name in kwargs or (p.default is not p.empty and _safe_literal(p.default)):
            n += 1
        else:
            break
    return n


@dataclass(frozen=True)
class Change:
    """One thing a drawn call changes in a hand-written example."""

    what: str  # edge, unknown, timeout, none
    param: str = ""  # the edged parameter (empty: the ``slot``-th of those the call can edge)
    index: int = 0  # which edge value
    value: Any = None
    slot: int = 0


def edgeable(method: str, mutates: bool) -> list[inspect.Parameter]:
    """The sync parameters a drawn call may give an edge value (not ``timeout``, not ``*args`` / ``**kwargs``)."""
    out = []
    for p in parameters(sync_method(method)):
        if p.kind in _SKIP_KINDS or p.name == "timeout":
            continue
        if mutates and p.name in _DEFAULT_SCOPE:
            continue
        out.append(p)
    return out


def edge_candidates(method: str, kwargs: dict[str, Any], mutates: bool) -> list[inspect.Parameter]:
    """What a call may give an edge value: the sync signature's parameters, then the keywords the hand-written
    call passes through ``**kwargs`` (``limit`` of ``query``, ...)."""
    params = edgeable(method, mutates)
    named = {p.name for p in params} | {POSITIONAL, UNKNOWN_KWARG, "timeout"}
    extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY) for k in kwargs if k not in named
             and not (mutates and k in _DEFAULT_SCOPE)]
    return params + extra


def apply(method: str, base: dict[str, Any], change: Change, positional: int, mutates: bool = False
          ) -> dict[str, Any]:
    """The call ``base`` with ``change`` made, then its first ``positional`` sync parameters passed positionally."""
    kwargs = by_sync_names(method, base)
    if change.what == "edge":
        params = edge_candidates(method, kwargs, mutates)
        param = next((p for p in params if p.name == change.param), None) if change.param else \
            (params[change.slot % len(params)] if params else None)
        if param is not None:
            values = edge_values(param, kwargs.get(param.name))
            kwargs[param.name] = values[change.index % len(values)]
    elif change.what == "unknown":
        kwargs[UNKNOWN_KWARG] = 1
    elif change.what == "timeout":
        kwargs["timeout"] = change.value
    return as_sync_positional(method, kwargs, positional) if positional else kwargs


def call_strategy(spec: Any) -> "st.SearchStrategy[dict[str, Any]]":
    """Calls of ``spec``'s method derived from both signatures: a hand-written example with one edge value, an
    unknown keyword or a timeout, and/or written positionally in the sync order; the same call goes to both clients.
    A method the sync client lacks (or that cannot be introspected) gets only its hand-written examples."""
    fn = sync_method(spec.name)
    try:
        inspect.signature(fn)
    except (TypeError, ValueError):  # the sync client lacks the method, or it cannot be introspected
        return spec.args()
    # no per-call timeout (what most callers write) first; never for a mutating call, which may wait (load, index)
    timeouts: list[Any] = ([] if spec.mutates else [None]) + list(SHORT_TIMEOUTS) + [NORMAL_TIMEOUT]
    options = []
    if spec.timeout:
        options.append(st.sampled_from(timeouts).map(lambda t: Change("timeout", value=t)))
    options.append(st.just(Change("unknown")))
    options.append(st.builds(lambda slot, i: Change("edge", index=i, slot=slot), st.integers(0, 15), st.integers(0, 6)))
    change = st.one_of(st.just(Change("none")), *options)

    def build(base: dict[str, Any], ch: Change, pos: int) -> dict[str, Any]:
        count = min(pos, max_positional(spec.name, base))
        if ch.what == "none" and not count:
            count = max(1, max_positional(spec.name, base))  # at least the call's form differs from the base
        return apply(spec.name, base, ch, count, spec.mutates)

    return st.tuples(spec.args(), change, st.integers(0, 6)).map(lambda t: build(*t))


# ---------------------------------------------------------------- asymmetries


def _value_for(param: inspect.Parameter, kwargs: dict[str, Any], partner: Optional[str]) -> Any:
    """A value for ``param`` in an asymmetry call: what the base passes (under its name or its partner's), else
    its default, else an edge value."""
    for name in (param.name, partner):
        if name and name in kwargs:
            return kwargs[name]
    if param.default is not param.empty:
        return param.default
    return wrong_type(param)


def by_async_names(method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` (by the sync names) with every parameter the async signature renames (a one-sided parameter at
    the same position on both sides) passed by its async name."""
    a_pos = positional_params(async_method(method))
    s_names = {p.name for p in parameters(sync_method(method))}
    a_names = {p.name for p in parameters(async_method(method))}
    renames = {sp.name: ap.name for sp, ap in zip(positional_params(sync_method(method)), a_pos)
               if sp.name not in a_names and ap.name not in s_names}
    return {renames.get(k, k): v for k, v in kwargs.items()}


def asymmetry_call(asym: Any, base: dict[str, Any]) -> dict[str, Any]:
    """One explicit call (kwargs, ``__positional__`` for positional ones) that exercises the signature asymmetry
    ``asym`` (a :class:`conformance.discovery.Asymmetry`), built from a valid example ``base`` of the method."""
    method = asym.method
    kwargs = by_sync_names(method, base)
    sync_params = {p.name: p for p in parameters(sync_method(method))}
    async_params = {p.name: p for p in parameters(async_method(method))}
    if asym.kind in ("order", "kind"):
        return as_sync_positional(method, kwargs, len(positional_params(sync_method(method))))
    if asym.kind == "only-sync":
        param = sync_params[asym.param]
        if param.kind in _SKIP_KINDS:  # the sync client takes **kwargs the async one lacks
            return {**kwargs, UNKNOWN_KWARG: 1}
        out = {k: v for k, v in kwargs.items() if k != asym.partner}
        out[asym.param] = _value_for(param, kwargs, asym.partner)
        return out
    if asym.kind == "only-async":
        param = async_params[asym.param]
        if param.kind is param.VAR_KEYWORD:  # only the async client takes **kwargs: an unknown keyword shows it
            return {**kwargs, UNKNOWN_KWARG: 1}
        if param.kind is param.VAR_POSITIONAL:
            return as_sync_positional(method, kwargs, len(positional_params(sync_method(method))))
        if asym.partner:  # renamed: one call by every async name at once (transfer_replica's source, target, ...)
            out = by_async_names(method, kwargs)
            if asym.param not in out:
                out[asym.param] = _value_for(param, kwargs, asym.partner)
            return out
        out = {k: v for k, v in kwargs.items() if k != asym.partner}
        out[asym.param] = _value_for(param, kwargs, asym.partner)
        if asym.param == "timeout":
            out[asym.param] = NORMAL_TIMEOUT
        return out
    if asym.kind == "default":  # leave the parameter out: each client uses its own default
        out = {k: v for k, v in kwargs.items() if k != asym.param}
        return out if out != kwargs else {**kwargs, asym.param: sync_params[asym.param].default
                                          if sync_params[asym.param].default is not inspect.Parameter.empty
                                          else async_params[asym.param].default}
    raise ValueError(f"unknown asymmetry kind {asym.kind!r} ({asym})")


def exercises(asym: Any, call: dict[str, Any]) -> bool:
    """True when ``call`` exercises ``asym``: passes the one-sided parameter, is positional, or leaves out the
    parameter whose default differs."""
    if asym.kind in ("order", "kind"):
        return bool(call.get(POSITIONAL))
    if asym.kind == "default":
        return asym.param not in call or POSITIONAL in call
    side = sync_method if asym.kind == "only-sync" else async_method
    param = next((p for p in parameters(side(asym.method)) if p.name == asym.param), None)
    if param is not None and param.kind is param.VAR_KEYWORD:
        return UNKNOWN_KWARG in call
    if param is not None and param.kind is param.VAR_POSITIONAL:
        return bool(call.get(POSITIONAL))
    return asym.param in call

