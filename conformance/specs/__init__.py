"""The specs, one module per area of the client API. Importing this package registers all of them;
:func:`load_all` returns the registry with the per-server support table applied and one explicit call per
signature asymmetry added."""

import dataclasses

from conformance.registry import REGISTRY, MethodSpec
from conformance.specs import (  # noqa: F401 - imported for their registrations
    aliases_databases, cluster, collections, data, indexes, loading, partitions, rbac, search,
)
from conformance.specs.asymmetry import add_asymmetry_calls
from conformance.specs.support import UNSUPPORTED


def load_all() -> dict[str, MethodSpec]:
    """Every spec, registered, with :data:`conformance.specs.support.UNSUPPORTED` applied; returns the registry."""
    for server, methods in UNSUPPORTED.items():
        for method, reason in methods.items():
            if method not in REGISTRY:
                raise ValueError(f"conformance/specs/support.py names {method!r}, which has no spec")
            current = REGISTRY[method]
            if server not in current.unsupported:
                REGISTRY[method] = dataclasses.replace(current, unsupported={**current.unsupported, server: reason})
    add_asymmetry_calls()
    return REGISTRY
