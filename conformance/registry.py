"""The method registry: one :class:`MethodSpec` per public ``AsyncMilvusClient`` method.

A spec says what state a call needs, how to draw its arguments (a Hypothesis strategy), how to compare the two
results, what to look at afterwards (side effects) and on which servers the method is not supported.
:func:`spec` only attaches a spec to the registry; mistakes in a spec fail at import time with a clear error.
The specs themselves live in :mod:`conformance.specs`, whose ``load_all`` imports them all and returns the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Optional

from hypothesis import strategies as st

from conformance.compare import Compare  # noqa: F401 - re-exported: a spec names how it is compared


class Need(str, Enum):
    """A piece of starting state a call needs; the twin builder creates each one per side."""

    COLLECTION = "collection"        # an indexed, loaded collection ``coll`` with rows (see conformance.world)
    BARE_COLLECTION = "bare"         # a collection ``coll`` without index, not loaded, no rows
    PARTITION = "partition"          # partition ``part`` in ``coll`` (with rows)
    ALIAS = "alias"                  # alias ``alias`` of ``coll``
    DATABASE = "database"            # database ``db``
    USER = "user"                    # user ``user`` (password ``Passw0rd!``)
    ROLE = "role"                    # role ``role``
    PRIVILEGE_GROUP = "privilege_group"  # privilege group ``pgroup``
    RESOURCE_GROUP = "resource_group"    # resource group ``rgroup``
    TYPED = "typed"                  # collection ``typed`` (every supported data type) + partition ``tpart``


ArgsFn = Callable[[], "st.SearchStrategy[dict[str, Any]]"]
ProbeFn = Callable[[], list[tuple[str, dict[str, Any]]]]


@dataclass(frozen=True)
class MethodSpec:
    """How the conformance suite exercises one client method."""

    name: str
    category: str
    args: ArgsFn
    needs: tuple[Need, ...] = ()
    mutates: bool = False
    compare: Compare = Compare.EXACT
    #: Extra result keys whose values the server generates (masked before comparison).
    volatile_keys: frozenset[str] = frozenset()
    #: Calls (method, kwargs with Ref placeholders) made through the sync client on each side after the call.
    probe: Optional[ProbeFn] = None
    #: server family -> why the method is not supported there ("*" = every server).
    unsupported: dict[str, str] = field(default_factory=dict)
    #: Pass ``timeout=`` to the call (False for client-local helpers that take none).
    timeout: bool = True
    #: The call changes the client itself (close, use_database): run it on a fresh client pair.
    fresh_clients: bool = False
    #: Not a server call (schema/index-param factories): compare the objects built locally.
    local: bool = False
    #: Examples per run relative to the profile (expensive state gets fewer).
    weight: float = 1.0
    #: Arguments always tried, in every profile, on top of the drawn ones: cases too important to leave to chance
    #: (an error path the server must report, a bug once found).
    explicit: tuple[dict[str, Any], ...] = ()
    notes: str = ""

    def unsupported_reason(self, server: str) -> Optional[str]:
        """Why this method is unsupported on server family ``server`` (None when it is supported)."""
        return self.unsupported.get(server) or self.unsupported.get("*")


REGISTRY: dict[str, MethodSpec] = {}
#: The pymilvus release series the registry is written against: on it (and newer), a spec for a method that
#: AsyncMilvusClient lacks is stale; an older pymilvus simply lacks the newer methods.
BASELINE_PYMILVUS = "3.0.2"  # 3.0.0 lacks add_function_field, alter_role, update_user, ... (tox -e pymilvus300)


def spec(name: str, category: str, *, args: Optional[ArgsFn] = None, **options: Any) -> Callable[[Any], Any]:
    """Register a spec for method ``name``; usable as a decorator on its argument strategy function or as a call."""
    def attach(fn: Optional[ArgsFn]) -> Any:
        if name in REGISTRY:
            raise ValueError(f"conformance spec for {name!r} registered twice")
        if not callable(fn):
            raise TypeError(f"conformance spec for {name!r}: args must be a function returning a strategy")
        unknown = set(options) - set(MethodSpec.__dataclass_fields__)
        if unknown:
            raise TypeError(f"conformance spec for {name!r}: unknown options {sorted(unknown)}")
        REGISTRY[name] = MethodSpec(name=name, category=category, args=fn, **options)
        return fn

    if args is not None:
        attach(args)
        return lambda fn: fn
    return attach


def fixed(**kwargs: Any) -> ArgsFn:
    """An argument strategy that always draws exactly ``kwargs``."""
    return lambda: st.just(dict(kwargs))
