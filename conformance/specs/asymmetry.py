"""The explicit calls that exercise every signature asymmetry between the sync and async method
(:func:`conformance.discovery.asymmetries`): one per asymmetry, built from a valid example of the method's spec
and added to the spec's explicit examples by :func:`conformance.specs.load_all`."""

from __future__ import annotations

from typing import Any

from conformance.registry import REGISTRY, MethodSpec

_ASYMMETRY_CALLS: dict[str, tuple[dict[str, Any], ...]] = {}


def base_example(spec_: MethodSpec) -> dict[str, Any]:
    """A valid example of ``spec_`` to build other calls from: its first explicit one, else the simplest its
    strategy draws."""
    if spec_.explicit:
        return dict(spec_.explicit[0])
    from hypothesis import HealthCheck, Phase, find, settings

    return find(spec_.args(), lambda _: True, settings=settings(database=None, max_examples=1, derandomize=True,
                                                                phases=[Phase.generate],
                                                                suppress_health_check=list(HealthCheck)))


def asymmetry_calls(method: str) -> tuple[dict[str, Any], ...]:
    """The explicit calls added to ``method``'s spec so that every signature asymmetry of it is exercised."""
    return _ASYMMETRY_CALLS.get(method, ())


def add_asymmetry_calls() -> None:
    """Give every spec one explicit call per signature asymmetry of its method (conformance.discovery), once."""
    import dataclasses

    from conformance import arguments, discovery

    if _ASYMMETRY_CALLS:
        return
    for asym in discovery.asymmetries():
        current = REGISTRY.get(asym.method)
        if current is None:
            continue
        call = arguments.asymmetry_call(asym, base_example(current))
        calls = _ASYMMETRY_CALLS.setdefault(asym.method, ())
        if call not in calls and call not in current.explicit:
            _ASYMMETRY_CALLS[asym.method] = calls + (call,)
    for method, calls in _ASYMMETRY_CALLS.items():
        current = REGISTRY[method]
        REGISTRY[method] = dataclasses.replace(current, explicit=current.explicit + calls)
