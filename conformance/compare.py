"""Compare two normalised outcomes: values exactly (types, tags and attributes included), computed scores within a
tolerance, search hits tie-aware, multisets, structure, and errors.

Values come from :func:`conformance.normalize.plain`: plain JSON-like data in which every type plain JSON cannot
show (a pymilvus list/dict subclass with its attributes, a tuple, a numpy value, bytes, ...) is a tagged dict
``{"__type__", "__value__", "__attrs__"}``. What the server returns unchanged is compared exactly: ``1 != 1.0``,
a DOUBLE to the last bit, a FLOAT or float vector as the float32 value it is. Only values a spec declares
*computed* (the scores and distances of search results, see :data:`RANKED_COMPUTED`) get a tolerance.

Part of the reproducer kit (:mod:`conformance.reproducer`): standard library only, the kit's modules imported
relatively, so a reproducer script judges with this very code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterable, Optional

from .normalize import ATTRS, TYPE, VALUE, is_tagged


class Compare(str, Enum):
    """How two normalised results are compared."""

    EXACT = "exact"            # equal after normalisation: types, result classes and attributes, values to the bit
    RANKED = "ranked"          # search results: as EXACT, but scores/distances/recalls are computed (within a
    #                            tolerance) and hits tied with the last kept hit may differ (conformance.compare)
    UNORDERED = "unordered"    # lists compared as multisets: only where order is not part of the method's contract
    STRUCTURAL = "structural"  # same shape and leaf types (server-generated ids, timestamps, job ids)


REL_TOL = 1e-5
ABS_TOL = 1e-6

#: A predicate on a difference path: True where the value is computed (compared within the tolerance).
Computed = Callable[[str], bool]

#: The hit keys that hold a computed score in search results (``Hit``: ``{pk, "distance", "entity", ...}``).
SCORE_KEYS = ("distance", "score")
#: Paths of a search result (Compare.RANKED) whose values the server computes: each hit's score, the score list
#: of a hits container (``HybridHits.distances``) and the result's ``recalls``. Nothing under ``entity`` is:
#: a field named ``score`` there is data and compares exactly.
RANKED_COMPUTED = (r"\[\d+\]\[\d+\]\.(distance|score)", r"\[\d+\]@distances\[\d+\]", r"@recalls\[\d+\]")


def computed_paths(patterns: Iterable[str]) -> Computed:
    """A :data:`Computed` predicate true for paths that fully match one of the regular expressions."""
    compiled = [re.compile(p) for p in patterns]
    return lambda path: any(c.fullmatch(path) for c in compiled)


EXACT_EVERYWHERE: Computed = lambda path: False  # noqa: E731
RANKED_SCORES: Computed = computed_paths(RANKED_COMPUTED)


@dataclass(frozen=True)
class Outcome:
    """What one call did on one side: a normalised value, or a normalised error."""

    ok: bool
    value: Any = None
    error: Optional[dict[str, Any]] = None
    effects: Any = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for reports and reproducers."""
        return {"ok": self.ok, "value": self.value, "error": self.error, "effects": self.effects}


def kind(value: Any) -> str:
    """The type a caller sees for a normalised value: the tag of a tagged value, else the builtin type's name."""
    return value[TYPE] if is_tagged(value) else type(value).__name__


def close(x: float, y: float) -> bool:
    """True when two computed values agree within the tolerance."""
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def first_difference(x: Any, y: Any, path: str = "", *, computed: Optional[Computed] = None) -> Optional[str]:
    """Where two normalised values first differ, or None when equal. Exact: types must match (``1 != 1.0``,
    ``True != 1``, a tagged ``ExtraList`` != a plain list), floats compare bit for bit, except at paths where
    ``computed`` is true, where numbers agree within a relative tolerance."""
    here = path or "result"
    is_computed = computed or EXACT_EVERYWHERE
    if kind(x) != kind(y):
        return f"{here}: type {kind(x)} != {kind(y)} ({x!r:.120} != {y!r:.120})"
    if is_tagged(x) != is_tagged(y):  # a dict with non-str keys (tagged) against one with str keys
        return f"{here}: {x!r:.200} != {y!r:.200}"
    if is_tagged(x):
        diff = _attrs_difference(x.get(ATTRS, {}), y.get(ATTRS, {}), path, computed)
        return diff or first_difference(x[VALUE], y[VALUE], path, computed=computed)
    if isinstance(x, float):
        if x == y or (is_computed(path) and close(x, y)):
            return None
        return f"{here}: {x!r} != {y!r}"
    if isinstance(x, dict):
        if list(x) != list(y):
            if set(x) != set(y):
                return (f"{here}: keys differ: only sync {sorted(set(x) - set(y))}, "
                        f"only async {sorted(set(y) - set(x))}")
            return f"{here}: key order differs: {list(x)} != {list(y)}"
        for key in x:
            diff = first_difference(x[key], y[key], f"{path}.{key}", computed=computed)
            if diff:
                return diff
        return None
    if isinstance(x, list):
        if len(x) != len(y):
            return f"{here}: length {len(x)} != {len(y)}"
        for i, (a, b) in enumerate(zip(x, y)):
            diff = first_difference(a, b, f"{path}[{i}]", computed=computed)
            if diff:
                return diff
        return None
    return None if x == y else f"{here}: {x!r:.200} != {y!r:.200}"


def _attrs_difference(ax: dict[str, Any], ay: dict[str, Any], path: str, computed: Optional[Computed],
                      loose: Iterable[str] = ()) -> Optional[str]:
    """The first difference between the attributes of two tagged values (paths ``...@name``); attributes named in
    ``loose`` are compared by type and length only."""
    if set(ax) != set(ay):
        return (f"{path or 'result'}: attributes differ: only sync {sorted(set(ax) - set(ay))}, "
                f"only async {sorted(set(ay) - set(ax))}")
    for name in ax:
        where = f"{path}@{name}"
        if name in loose:
            diff = first_difference(structure(ax[name]), structure(ay[name]), where)
            if not diff and isinstance(ax[name], list) and len(ax[name]) != len(ay[name]):
                diff = f"{where}: length {len(ax[name])} != {len(ay[name])}"
        else:
            diff = first_difference(ax[name], ay[name], where, computed=computed)
        if diff:
            return diff
    return None


def structure(value: Any) -> Any:
    """The shape of ``value``: containers and type tags kept, every other leaf replaced by its type name."""
    if is_tagged(value):
        out = {TYPE: value[TYPE], VALUE: structure(value[VALUE])}
        if ATTRS in value:
            out[ATTRS] = {k: structure(v) for k, v in value[ATTRS].items()}
        return out
    if isinstance(value, dict):
        return {k: structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [structure(v) for v in value]
    return type(value).__name__


def _unwrap(value: Any) -> Any:
    return value[VALUE] if is_tagged(value) else value


def _score(hit: Any) -> float:
    body = _unwrap(hit)
    if isinstance(body, dict):
        for key in SCORE_KEYS:
            if isinstance(body.get(key), (int, float)) and not isinstance(body.get(key), bool):
                return float(body[key])
    return 0.0


def _identity(hit: Any) -> str:
    """What makes a hit the same hit: every top-level key but the score and the entity (the primary key, and
    ``offset`` / ``highlight`` where present)."""
    body = _unwrap(hit)
    if not isinstance(body, dict):
        return repr(body)
    return repr({k: v for k, v in body.items() if k not in SCORE_KEYS and k != "entity"})


def _tie_groups(hits: list[Any]) -> list[list[int]]:
    """Indexes of consecutive hits whose scores are equal within the tolerance."""
    groups: list[list[int]] = []
    for i, hit in enumerate(hits):
        if groups and close(_score(hits[groups[-1][0]]), _score(hit)):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _is_hits_result(value: Any) -> bool:
    queries = _unwrap(value)
    return isinstance(queries, list) and all(isinstance(_unwrap(q), list) for q in queries)


def _hit_difference(a: Any, b: Any, where: str) -> Optional[str]:
    """Two hits with the same identity: equal in every key and the entity, the score within the tolerance."""
    if kind(a) != kind(b):
        return f"{where}: type {kind(a)} != {kind(b)}"
    diff = _attrs_difference((a.get(ATTRS, {}) if is_tagged(a) else {}), (b.get(ATTRS, {}) if is_tagged(b) else {}),
                             where, None)
    if diff:
        return diff
    return first_difference(_unwrap(a), _unwrap(b), where,
                            computed=lambda p: p.startswith(where + ".") and p[len(where) + 1:] in SCORE_KEYS)


def _query_difference(hx: list[Any], hy: list[Any], where: str) -> Optional[str]:
    """One query's hits: the same scores rank by rank; the same hits (id and entity) in every tie group but the
    one tied with the last kept hit, where the two sides may have cut the tie differently; order inside a tie
    group is free."""
    if len(hx) != len(hy):
        return f"{where}: {len(hx)} != {len(hy)} hits"
    for i, (a, b) in enumerate(zip(hx, hy)):
        if not close(_score(a), _score(b)):
            return f"{where}[{i}]: scores differ: {_score(a)!r} != {_score(b)!r} (ids {_identity(a)} / {_identity(b)})"
    groups = _tie_groups(hx)
    for gi, group in enumerate(groups):
        last = gi == len(groups) - 1
        ga: dict[str, list[Any]] = {}
        gb: dict[str, list[Any]] = {}
        for i in group:
            ga.setdefault(_identity(hx[i]), []).append(hx[i])
            gb.setdefault(_identity(hy[i]), []).append(hy[i])
        if not last and sorted((k, len(v)) for k, v in ga.items()) != sorted((k, len(v)) for k, v in gb.items()):
            return (f"{where}[{group[0]}:{group[-1] + 1}]: hits differ (not a cut through the last tie): "
                    f"sync {sorted(ga)} vs async {sorted(gb)}")
        for key in set(ga) & set(gb):
            xs, ys = sorted(ga[key], key=repr), sorted(gb[key], key=repr)
            for a, b in zip(xs, ys):
                diff = _hit_difference(a, b, f"{where}<{key}>")
                if diff:
                    return diff
    return None


def ranking_difference(x: Any, y: Any, path: str = "") -> Optional[str]:
    """Search results compared as a caller sees them: the result and hits containers' types and attributes
    (``recalls`` and ``distances`` within the tolerance), then per query the hits, tie-aware (see
    :func:`_query_difference`). A value that is not a list of hit lists is compared exactly (with the score
    paths of :data:`RANKED_COMPUTED` computed)."""
    if not (_is_hits_result(x) and _is_hits_result(y)) or kind(x) != kind(y):
        return first_difference(x, y, path, computed=RANKED_SCORES)
    diff = _attrs_difference(x.get(ATTRS, {}) if is_tagged(x) else {}, y.get(ATTRS, {}) if is_tagged(y) else {},
                             path, RANKED_SCORES)
    if diff:
        return diff
    qx, qy = _unwrap(x), _unwrap(y)
    if len(qx) != len(qy):
        return f"{path or 'result'}: {len(qx)} != {len(qy)} queries"
    identical = all([_identity(h) for h in _unwrap(a)] == [_identity(h) for h in _unwrap(b)] for a, b in zip(qx, qy))
    for qi, (a, b) in enumerate(zip(qx, qy)):
        where = f"{path}[{qi}]"
        if kind(a) != kind(b):
            return f"{where}: type {kind(a)} != {kind(b)}"
        diff = _query_difference(_unwrap(a), _unwrap(b), where)
        if diff:
            return diff
        # the hits containers' attributes: exact when both sides kept the same hits in the same order; after a
        # legitimate cut through a tie, the lists that run parallel to the hits (ids, distances, the fields' data)
        # can only be compared by shape
        attrs_a = a.get(ATTRS, {}) if is_tagged(a) else {}
        attrs_b = b.get(ATTRS, {}) if is_tagged(b) else {}
        loose = () if identical else [k for k, v in attrs_a.items() if isinstance(v, list)]
        diff = _attrs_difference(attrs_a, attrs_b, where, RANKED_SCORES, loose)
        if diff:
            return diff
    return None


def _as_multiset(value: Any) -> Any:
    """A list (or tagged list) with its items in a canonical order."""
    if is_tagged(value) and isinstance(value[VALUE], list):
        return {**value, VALUE: sorted(value[VALUE], key=repr)}
    return sorted(value, key=repr) if isinstance(value, list) else value


def difference(mode: Compare, sync: Outcome, asyn: Outcome) -> Optional[str]:
    """Why the async outcome does not match the sync one (None when they conform)."""
    if sync.ok != asyn.ok:
        if sync.ok:
            return f"sync returned a value, async raised {asyn.error}"
        return f"sync raised {sync.error}, async returned {asyn.value!r:.300}"
    if not sync.ok:
        diff = first_difference(sync.error, asyn.error, "error")
        if diff:
            return diff
    elif mode is Compare.RANKED:
        diff = ranking_difference(sync.value, asyn.value)
        if diff:
            return diff
    elif mode is Compare.UNORDERED:
        diff = first_difference(_as_multiset(sync.value), _as_multiset(asyn.value))
        if diff:
            return diff
    elif mode is Compare.STRUCTURAL:
        diff = first_difference(structure(sync.value), structure(asyn.value))
        if diff:
            return f"structure differs: {diff}"
    else:
        diff = first_difference(sync.value, asyn.value)
        if diff:
            return diff
    diff = first_difference(sync.effects, asyn.effects, "side effects")
    return diff
