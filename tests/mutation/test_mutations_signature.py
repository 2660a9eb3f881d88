"""Proof that the calls derived from both signatures find what the hand-written strategies cannot: an async
client that refuses the sync call form, ignores an unknown keyword, refuses a keyword only the sync signature
names, or refuses an edge value or a timeout the sync client takes, is reported as a divergence of that method,
on the default profile, with a reproducer that makes the same call."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from conformance.check import check_method
from conformance.specs import load_all
from conformance.runner import Runner
from tests.mutation.faults import (Faulty, ignores_unknown_kwargs, rejects_empty_string, rejects_short_timeout,
                                   rejects_positional, strict_signature)
from tests.reproducer_runs import assert_reproducer_of

pytestmark = pytest.mark.server
SPECS = load_all()

#: (label, method, how the async client is broken): one per blind spot of hand-written keyword calls
MUTANTS: list[tuple[str, str, Callable[..., Any]]] = [
    ("refuses a positional call in the sync order", "query", rejects_positional),
    ("refuses a positional call in the sync order", "has_collection", rejects_positional),
    ("ignores an unknown keyword the sync client refuses", "close", ignores_unknown_kwargs),
    ("refuses a keyword only the sync signature names", "get_load_state", strict_signature),
    ("refuses a keyword only the sync signature names", "search", strict_signature),
    ("refuses an empty string the sync client sends on", "query", rejects_empty_string),
    ("refuses a short per-call timeout the sync client sends", "list_collections", rejects_short_timeout),
]


def _runner(milvus, wrap: Callable[[Any], Any]) -> Iterator[Runner]:  # type: ignore[no-untyped-def]
    runner = Runner(milvus, wrap_async=wrap)
    try:
        yield runner
    finally:
        runner.close()


@pytest.mark.parametrize("label,method,fault", MUTANTS,
                         ids=[f"{m}-{lbl.replace(' ', '_')}" for lbl, m, _ in MUTANTS])
def test_signature_mutant_is_reported(milvus, family: str, tmp_path, label: str, method: str,  # type: ignore[no-untyped-def]
                                      fault: Callable[..., Any]) -> None:
    """On the default profile's number of examples (no larger budget), with the real registry loaded: the mutant
    is a new divergence of exactly ``method``, and its reproducer makes the call that shows it."""
    for runner in _runner(milvus, lambda client: Faulty(client, method, call=fault)):
        verdict = check_method(runner, SPECS[method], family, out_dir=tmp_path)
        assert verdict.status == "diverges", f"mutant '{label}' of {method} went unnoticed: {verdict.as_dict()}"
        assert verdict.method == method and verdict.new >= 1
        assert verdict.reproducer and f"reproduce_{method}.py" in verdict.reproducer
        assert_reproducer_of(verdict.reproducer, method)
