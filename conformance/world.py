"""Twin starting states: the same objects built the same way, once per client side, under distinct names.

Specs name objects with :class:`Ref` placeholders (``Ref("coll")``); each side resolves them in its own
:class:`Namespace` (``cf3a_s_coll`` for the sync side, ``cf3a_a_coll`` for the async one), and normalisation
masks the prefix so the two results compare equal when the clients behave the same.
"""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from conformance.registry import Need
from conformance.starting_state import (  # noqa: F401 - re-exported: the standard world is part of this one
    DIM, FEATURES, PASSWORD, PREFIX_RE, ROWS, WORDS, Ref, build_standard, cleanup, standard_index, standard_row,
    resolve_refs, standard_rows, standard_schema, with_nullable_fallback, without_absent_fields)

_COUNTER = itertools.count(1)
#: Needs whose objects a module of their own builds (``builder(client, ns, timeout)``), registered by that module
#: when it is imported (conformance.typed registers Need.TYPED): this module stays below them in the import graph.
BUILDERS: dict[Need, Callable[[Any, "Namespace", Any], None]] = {}
#: The needs that must have a registered builder.
OWN_BUILDER = frozenset({Need.TYPED})
_RUN = uuid.uuid4().hex[:4]


@dataclass(frozen=True)
class Named:
    """A name made from this side's prefix by a template (``"1{p}x"``), for invalid names that must still be
    distinct per side (a server that wrongly accepts one must not make the other side collide with it)."""

    template: str

    def __repr__(self) -> str:
        return f"Named({self.template!r})"


@dataclass(frozen=True)
class Namespace:
    """The concrete names one side uses: ``prefix + ref name``."""

    prefix: str

    def name(self, ref: str) -> str:
        """The concrete object name of ``ref`` on this side."""
        return f"{self.prefix}{ref}"

    def resolve(self, value: Any) -> Any:
        """``value`` with every :class:`Ref`, :class:`Named` and :class:`Lazy` (also inside dicts, lists, tuples)
        replaced by what it stands for on this side."""
        def leaf(item: Any) -> Any:
            if isinstance(item, Named):
                return item.template.format(p=self.prefix)
            if isinstance(item, Lazy):
                return self.resolve(item.factory())
            return item

        return resolve_refs(value, self.name, leaf)


def new_namespaces(shared: bool = False) -> tuple[Namespace, Namespace]:
    """A fresh (sync, async) namespace pair; ``shared`` gives both sides the same one (read-only calls)."""
    n = next(_COUNTER)
    stem = f"cf{_RUN}{os.getpid() % 4096:x}x{n:x}"
    sync = Namespace(f"{stem}s_")
    return (sync, sync) if shared else (sync, Namespace(f"{stem}a_"))


def build(client: Any, ns: Namespace, needs: Iterable[Need], timeout: float) -> None:
    """Create the objects ``needs`` names, in ``ns``, through the sync ``client``: the standard ones
    (:mod:`conformance.starting_state`), then those with a builder of their own (without nullable fields on a
    server that refuses them, such as Milvus Lite 2.5)."""
    needs = set(needs)
    missing = needs & OWN_BUILDER - set(BUILDERS)
    if missing:
        raise RuntimeError(f"no builder registered for {sorted(n.name for n in missing)} (import the module that "
                           "defines the collection, e.g. conformance.typed)")

    def make() -> None:
        build_standard(client, ns.name, needs, timeout)
        for need in sorted(needs & set(BUILDERS), key=lambda n: n.name):
            BUILDERS[need](client, ns, timeout)

    with_nullable_fallback(make, client, ns.prefix, timeout)


class Lazy:
    """An argument object built fresh for each side (a schema, index params, search requests), so one client
    cannot see what the other did to it. ``source`` is the Python expression a reproducer prints."""

    def __init__(self, factory: Any, source: str) -> None:
        self.factory = factory
        self.source = source

    def __repr__(self) -> str:
        return self.source

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lazy) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)
