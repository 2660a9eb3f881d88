"""Proof that a known divergence hides nothing: with the real registry loaded, a method that has a known entry is
still reported as diverging when it is broken in another way, and every example runs after a known one."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from conformance import known
from conformance.check import check_method
from conformance.specs import load_all
from conformance.runner import Runner
from tests.mutation.faults import Faulty, drop_kwarg

pytestmark = pytest.mark.server
SPECS = load_all()


def _runner(milvus, wrap: Any) -> Iterator[Runner]:  # type: ignore[no-untyped-def]
    runner = Runner(milvus, wrap_async=wrap)
    try:
        yield runner
    finally:
        runner.close()


def _delete_entry(family: str) -> known.KnownDivergence:
    import pymilvus

    entry = known.lookup(known.load(), "delete", family, pymilvus.__version__)
    if entry is None:
        pytest.skip(f"the registry has no delete entry for {family} / pymilvus {pymilvus.__version__}")
    return entry


def test_a_known_entry_does_not_hide_a_new_divergence_of_the_same_method(milvus, family: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An async delete that drops ``ids`` is a new divergence of delete, whose known entry (the swallowed server
    error) stays known: the method diverges, the reproducer shows the new one."""
    entry = _delete_entry(family)
    for runner in _runner(milvus, lambda client: Faulty(client, "delete", before=drop_kwarg("ids"))):
        verdict = check_method(runner, SPECS["delete"], family, out_dir=tmp_path, entries=None, max_examples=25)
        assert verdict.status == "diverges", f"the dropped ids hid behind {entry.name}: {verdict.as_dict()}"
        assert verdict.new >= 1 and "[new: " in verdict.detail
        assert verdict.known >= 1, "the known example (a rejected filter, no ids) must still be known"
        assert {seen["verdict"] for seen in verdict.signatures.values()} == {"known", "new"}
        assert verdict.reproducer and "reproduce_delete.py" in verdict.reproducer
        assert "ids" in verdict.extra["kwargs"]  # the example that shows it passes ids


class Counting:
    """The real AsyncMilvusClient, counting the calls of its ``method``."""

    def __init__(self, client: Any, method: str) -> None:
        self._client, self._method, self.calls = client, method, 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._method:
            return real

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        return counted


def test_every_example_runs_after_a_known_one(milvus, family: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """delete's explicit example (a filter the server rejects) is known; the drawn examples after it all run and
    each gets its own verdict."""
    _delete_entry(family)
    spec = SPECS["delete"]
    clients: list[Counting] = []

    def wrap(client: Any) -> Counting:
        clients.append(Counting(client, "delete"))
        return clients[-1]

    for runner in _runner(milvus, wrap):
        verdict = check_method(runner, spec, family, out_dir=tmp_path, entries=None, max_examples=5)
        assert verdict.status == "known-divergence", verdict.as_dict()
        assert verdict.known >= 1 and verdict.new == 0
        assert verdict.examples > len(spec.explicit), "no drawn example ran after the known explicit one"
        assert verdict.examples == verdict.agreeing + verdict.known + verdict.new
        assert sum(c.calls for c in clients) == verdict.examples  # each counted example called the async delete
