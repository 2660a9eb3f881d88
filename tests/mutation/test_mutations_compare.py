"""Proof that the comparison keeps what a caller observes (issue #10, item 4): an AsyncMilvusClient that changes
only a value's type, a result's class or metadata, one search hit, or one data value by one part in ten million is
reported as a divergence of the right method on the real server. The unmodified client passing the same methods is
checked by ``test_mutations.py::test_unmodified_client_reports_no_divergence`` and ``conformance/test_methods.py``."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Iterator, Optional

import pytest

from conformance.check import check_method
from conformance.registry import MethodSpec
from conformance.specs import load_all
from conformance.runner import Runner
from tests.mutation.draws import ci_profile
from tests.mutation.faults import Faulty

pytestmark = pytest.mark.server
SPECS = load_all()


def _rows(result: Any) -> Iterator[dict[str, Any]]:
    """The row dicts of a query/get result, or the entities of a search result's hits, in place."""
    for item in result:
        if isinstance(item, list):  # a search result: one hits list per query
            for hit in item:
                yield hit["entity"]
        elif isinstance(item, dict):
            yield item


def ints_as_floats(result: Any) -> Any:
    """Every int value of every row becomes the equal float (``{"id": 1}`` -> ``{"id": 1.0}``); the result keeps
    its class and metadata."""
    for row in _rows(result):
        for key, value in row.items():
            if type(value) is int:
                row[key] = float(value)
    return result


def without_metadata(result: Any) -> Any:
    """The result as a plain list: the pymilvus subclass and its ``extra`` / ``recalls`` are gone."""
    return list(result) if isinstance(result, list) else result


def _nudge(value: Any) -> Any:
    if type(value) is float and value:
        return value * (1 + 1e-7)
    if isinstance(value, list):
        return [_nudge(v) for v in value]
    if isinstance(value, dict):
        return {k: _nudge(v) for k, v in value.items()}
    return value


def nudged_floats(result: Any) -> Any:
    """Every non-zero float data value (DOUBLE and FLOAT fields, vector components, JSON numbers) of every row or
    hit entity off by one part in ten million; scores untouched."""
    for row in _rows(result):
        for key, value in row.items():
            row[key] = _nudge(value)
    return result


def swapped_entities(result: Any) -> Any:
    """Each query's first two hits exchange their entities (ids and scores stay): only a comparison of the
    entities of non-tied hits sees it."""
    for hits in result:
        if len(hits) >= 2:
            first, second = hits[0], hits[1]
            first["entity"], second["entity"] = second["entity"], first["entity"]
    return result


class SecondBest:
    """A search that, asked for ``limit=1``, returns the second-best hit: it asks for two and drops the first
    (and its id and score from the hits' ``ids`` / ``distances``), keeping every class and attribute."""

    def __init__(self) -> None:
        self.active = False

    def before(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Ask for one hit more when one is asked for."""
        self.active = kwargs.get("limit") == 1
        return {**kwargs, "limit": 2} if self.active else kwargs

    def after(self, result: Any) -> Any:
        """Drop the best hit of every query."""
        if self.active and isinstance(result, list):
            for hits in result:
                if isinstance(hits, list) and len(hits):
                    list.__delitem__(hits, 0)
                    for attr in ("ids", "distances"):
                        if isinstance(getattr(hits, attr, None), list):
                            setattr(hits, attr, getattr(hits, attr)[1:])
        return result


def _second_best() -> dict[str, Callable]:
    fault = SecondBest()
    return {"before": fault.before, "after": fault.after}


def limit_one(spec: MethodSpec) -> MethodSpec:
    """``spec`` with every drawn call asking for a single hit (the case the second-best mutant breaks)."""
    return dataclasses.replace(spec, args=lambda: spec.args().map(lambda kw: {**kw, "limit": 1}))


#: (label, method, how the async client is broken: keyword arguments of Faulty or a factory of them, what the
#: reported difference must say (a regular expression), the spec's arguments narrowed to the broken case or None)
MUTANTS: list[tuple[str, str, Any, str, Optional[Callable[[MethodSpec], MethodSpec]]]] = [
    ("ints as floats", "query", {"after": ints_as_floats}, "type int != float", None),
    ("ints as floats", "get", {"after": ints_as_floats}, "type int != float", None),
    ("plain list without extra", "query", {"after": without_metadata}, "type HybridExtraList != list", None),
    ("plain list without extra", "search", {"after": without_metadata}, "type SearchResult != list", None),
    ("second best for limit 1", "search", _second_best, "scores differ", limit_one),
    ("entities of non-tied hits swapped", "search", {"after": swapped_entities}, r"\.entity\.", None),
    ("floats off by 1e-7", "get", {"after": nudged_floats}, r"\d\.\d+ != -?\d\.\d+", None),
    ("floats off by 1e-7", "search", {"after": nudged_floats}, r"\.entity\.", None),
]


@pytest.fixture(autouse=True, scope="module")
def reproducible_draws() -> Iterator[None]:
    """The ``ci`` Hypothesis profile (derandomized) also when this file runs without conformance/conftest.py."""
    yield from ci_profile()


@pytest.mark.parametrize("label,method,fault,expect,narrow", MUTANTS,
                         ids=[f"{m}-{lbl.replace(' ', '_')}" for lbl, m, *_ in MUTANTS])
def test_comparison_mutant_is_reported(milvus, family: str, tmp_path, label: str, method: str, fault: Any,  # type: ignore[no-untyped-def]
                                       expect: str, narrow: Optional[Callable[[MethodSpec], MethodSpec]]) -> None:
    """The suite reports a divergence of exactly ``method``, naming a difference of the kind injected."""
    options = fault() if callable(fault) else fault
    runner = Runner(milvus, wrap_async=lambda client: Faulty(client, method, **options))
    try:
        spec = narrow(SPECS[method]) if narrow else SPECS[method]
        # the real registry: the divergences the unmodified pair really has stay known (e.g. the sync-form
        # positional search call), so the mutant must show as a NEW divergence, as it would in a user's run
        verdict = check_method(runner, spec, family, out_dir=tmp_path, max_examples=25)
    finally:
        runner.close()
    assert verdict.status == "diverges", f"mutant '{label}' of {method} went unnoticed: {verdict.as_dict()}"
    assert verdict.method == method
    assert re.search(expect, verdict.detail), f"mutant '{label}' of {method} found for another reason: {verdict.detail}"
    assert verdict.reproducer and f"reproduce_{method}.py" in verdict.reproducer


def test_unmodified_client_passes_the_narrowed_specs(milvus, family: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The unmodified pair shows no new divergence on the narrowed arguments either (limit=1 searches; its known
    ones stay known), so the mutant above is found for its fault, not for the narrowing."""
    runner = Runner(milvus)
    try:
        verdict = check_method(runner, limit_one(SPECS["search"]), family, out_dir=tmp_path, max_examples=25)
    finally:
        runner.close()
    assert verdict.status in ("pass", "known-divergence") and verdict.new == 0 and verdict.agreeing > 0, \
        verdict.as_dict()
