"""Compare two normalised outcomes: values (float tolerance, tie-aware ranking, multisets, structure) and errors."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from conformance.registry import Compare

REL_TOL = 1e-5
ABS_TOL = 1e-6


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


def first_difference(x: Any, y: Any, path: str = "") -> Optional[str]:
    """Where two plain values first differ (floats within a relative tolerance), or None when equal."""
    here = path or "result"
    if isinstance(x, bool) or isinstance(y, bool):
        return None if (type(x) is type(y) and x == y) else f"{here}: {x!r} != {y!r}"
    if isinstance(x, float) or isinstance(y, float):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isclose(
                x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return None
        return f"{here}: {x!r} != {y!r}"
    if isinstance(x, dict) and isinstance(y, dict):
        if set(x) != set(y):
            return f"{here}: keys differ: only sync {sorted(set(x) - set(y))}, only async {sorted(set(y) - set(x))}"
        for key in x:
            diff = first_difference(x[key], y[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return f"{here}: length {len(x)} != {len(y)}"
        for i, (a, b) in enumerate(zip(x, y)):
            diff = first_difference(a, b, f"{path}[{i}]")
            if diff:
                return diff
        return None
    return None if (type(x) is type(y) and x == y) else f"{here}: {x!r} != {y!r}"


def structure(value: Any) -> Any:
    """The shape of ``value``: containers kept, every leaf replaced by its type name."""
    if isinstance(value, dict):
        return {k: structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [structure(v) for v in value]
    return type(value).__name__


def _hit_key(hit: Any) -> Any:
    return hit.get("id") if isinstance(hit, dict) else repr(hit)


def _score(hit: Any) -> float:
    if isinstance(hit, dict):
        for key in ("distance", "score"):
            if isinstance(hit.get(key), (int, float)):
                return float(hit[key])
    return 0.0


def _tie_groups(hits: list[Any]) -> list[list[Any]]:
    """Consecutive hits whose scores are equal within tolerance."""
    groups: list[list[Any]] = []
    for hit in hits:
        if groups and math.isclose(_score(groups[-1][0]), _score(hit), rel_tol=REL_TOL, abs_tol=ABS_TOL):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    return groups


def ranking_difference(x: Any, y: Any, path: str = "") -> Optional[str]:
    """Search results compared tie-aware: per query, the same score sequence; hits with tied scores may swap,
    except in the last tie group, where the two sides may also pick different members (a cut through a tie)."""
    if not (isinstance(x, list) and isinstance(y, list)) or not all(isinstance(q, list) for q in x + y):
        return first_difference(x, y, path)
    if len(x) != len(y):
        return f"{path or 'result'}: {len(x)} != {len(y)} queries"
    for qi, (hx, hy) in enumerate(zip(x, y)):
        where = f"{path}[{qi}]"
        if len(hx) != len(hy):
            return f"{where}: {len(hx)} != {len(hy)} hits"
        gx, gy = _tie_groups(hx), _tie_groups(hy)
        diff = first_difference([[_score(h) for h in g] for g in gx], [[_score(h) for h in g] for g in gy], where)
        if diff:
            return f"{where}: scores differ ({diff})"
        for gi, (a, b) in enumerate(zip(gx, gy)):
            last = gi == len(gx) - 1
            ka = {repr(_hit_key(h)): h for h in a}
            kb = {repr(_hit_key(h)): h for h in b}
            if set(ka) != set(kb) and not last:
                return f"{where}: tied hits differ: {sorted(ka)} vs {sorted(kb)}"
            for key in set(ka) & set(kb):
                diff = first_difference(ka[key], kb[key], f"{where}<id {key}>")
                if diff:
                    return diff
    return None


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
        sx = sorted(sync.value, key=repr) if isinstance(sync.value, list) else sync.value
        sy = sorted(asyn.value, key=repr) if isinstance(asyn.value, list) else asyn.value
        diff = first_difference(sx, sy)
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
