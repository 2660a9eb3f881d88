"""Proof that side effects, the async client's own state, and its concurrency are checked: deliberately wrong
AsyncMilvusClients that (a) raise after performing their side effect, (b) do not move their later calls with
use_database, (c) break after a cancelled call or lose one of several gathered inserts. Each is found, and the
finding names the method."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Iterator, Optional

import pytest

from conformance import concurrency
from conformance.check import check_method
from conformance.registry import Need
from conformance.specs import load_all
from conformance.runner import Runner
from conformance.world import build, cleanup, new_namespaces

pytestmark = pytest.mark.server
SPECS = load_all()


def injected_error() -> Exception:
    """The error the faulty clients raise (a real pymilvus exception, as a real client bug would)."""
    from pymilvus.exceptions import MilvusException

    return MilvusException(code=1, message="injected failure")


async def _await(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


class Proxy:
    """A real client with some methods replaced: ``overrides[name](real_client, *args, **kwargs)``."""

    def __init__(self, client: Any, overrides: dict[str, Callable[..., Any]]) -> None:
        self._client, self._overrides = client, overrides

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name not in self._overrides:
            return real
        override = self._overrides[name]
        return lambda *args, **kwargs: override(self._client, real, *args, **kwargs)


def effect_then_raise(method: str) -> Callable[[Any], Proxy]:
    """An async client whose ``method`` does the real call (its side effect happens) and then raises."""
    async def wrong(client: Any, real: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            await _await(real(*args, **kwargs))
        except Exception:  # noqa: BLE001 - whatever the server said, the fault raises its own error
            pass
        raise injected_error()
    return lambda client: Proxy(client, {method: wrong})


def refusing(method: str) -> Callable[[Any], Proxy]:
    """A sync client whose ``method`` raises the same error without calling the server (no side effect)."""
    def refuse(client: Any, real: Any, *args: Any, **kwargs: Any) -> Any:
        raise injected_error()
    return lambda client: Proxy(client, {method: refuse})


def stuck_database(client: Any) -> Proxy:
    """use_database checks that the database exists but later calls still go to the old one."""
    async def use_database(inner: Any, real: Any, db_name: str, **kwargs: Any) -> None:
        await inner.describe_database(db_name, **kwargs)
    return Proxy(client, {"use_database": use_database})


def default_database(client: Any) -> Proxy:
    """use_database switches, but always to ``default``, whatever was asked."""
    async def use_database(inner: Any, real: Any, db_name: str, **kwargs: Any) -> None:
        await inner.describe_database(db_name, **kwargs)
        await real("default", **kwargs)
    return Proxy(client, {"use_database": use_database})


class DropsOneGatheredInsert:
    """insert, when another insert is in flight on the client, answers as if it wrote but never sends the rows."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.dropped = False

    def __call__(self, client: Any) -> Proxy:
        async def insert(inner: Any, real: Any, *args: Any, **kwargs: Any) -> Any:
            if self.in_flight and not self.dropped:
                self.dropped = True
                rows = kwargs.get("data") or []
                return {"insert_count": len(rows), "ids": [r["id"] for r in rows], "cost": 0}
            self.in_flight += 1
            try:
                return await _await(real(*args, **kwargs))
            finally:
                self.in_flight -= 1
        return Proxy(client, {"insert": insert})


def broken_after_cancel(client: Any) -> Proxy:
    """Any call that is cancelled leaves the client broken: every later call raises."""
    state = {"broken": False}

    class Broken(Proxy):
        def __getattr__(self, name: str) -> Any:
            real = getattr(self._client, name)
            if not callable(real) or name.startswith("_") or name == "close":
                return real

            async def call(*args: Any, **kwargs: Any) -> Any:
                if state["broken"]:
                    raise injected_error()
                try:
                    return await _await(real(*args, **kwargs))
                except asyncio.CancelledError:
                    state["broken"] = True
                    raise
            return call

    return Broken(client, {})


def _runner(milvus, wrap: Optional[Callable[[Any], Any]], wrap_sync: Optional[Callable[[Any], Any]] = None
            ) -> Iterator[Runner]:  # type: ignore[no-untyped-def]
    runner = Runner(milvus, wrap_async=wrap)
    if wrap_sync is not None:
        runner.sync = wrap_sync(runner.sync)
    try:
        yield runner
    finally:
        runner.close()


# (a) --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["insert", pytest.param("create_partition", marks=pytest.mark.slow),
                                    pytest.param("drop_partition", marks=pytest.mark.slow)])
def test_a_call_that_raises_after_its_side_effect_is_reported(milvus, family: str, tmp_path, method: str) -> None:  # type: ignore[no-untyped-def]
    """The async method performs its effect and then raises: reported as a divergence of that method, and the
    raising side's outcome carries its probes (side effects are recorded for raising calls too)."""
    for runner in _runner(milvus, effect_then_raise(method)):
        verdict = check_method(runner, SPECS[method], family, out_dir=tmp_path, entries=[], max_examples=10)
        assert verdict.status == "diverges" and verdict.method == method, verdict.as_dict()
        assert verdict.extra["async"]["ok"] is False and verdict.extra["async"]["effects"], verdict.extra


@pytest.mark.parametrize("method", [pytest.param("delete", marks=pytest.mark.slow), "drop_partition", "release_collection"])
def test_an_effect_behind_the_same_error_on_both_sides_is_found_by_the_probes(milvus, family: str, tmp_path,
                                                                              method: str) -> None:  # type: ignore[no-untyped-def]
    """Both clients raise the very same error, but the async one changed the server first (the sync one refuses
    without calling): only the probes made after the raising call can tell, and they do."""
    for runner in _runner(milvus, effect_then_raise(method), wrap_sync=refusing(method)):
        verdict = check_method(runner, SPECS[method], family, out_dir=tmp_path, entries=[], max_examples=10)
        assert verdict.status == "diverges" and verdict.method == method, verdict.as_dict()
        assert verdict.detail.startswith("side effects"), verdict.detail
        assert verdict.extra["sync"]["error"] == verdict.extra["async"]["error"]


# (b) --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("label,wrap", [("ignores the switch", stuck_database),
                                        ("switches to default", default_database)])
def test_use_database_that_does_not_move_later_calls_is_reported(milvus, family: str, tmp_path, label: str,
                                                                 wrap: Callable[[Any], Any]) -> None:  # type: ignore[no-untyped-def]
    """use_database succeeds on both sides, but the async client's next call lands elsewhere: the probe through
    the calling client names it."""
    for runner in _runner(milvus, wrap):
        verdict = check_method(runner, SPECS["use_database"], family, out_dir=tmp_path, entries=[], max_examples=10)
        if verdict.status == "unsupported":
            pytest.skip(f"use_database unsupported on {family}")
        assert verdict.status == "diverges" and verdict.method == "use_database", (label, verdict.as_dict())
        assert "client:list_collections" in verdict.detail, verdict.detail


# (c) --------------------------------------------------------------------------------------------------------------
def _twins(runner: Runner) -> tuple[Any, Any]:
    ns_s, ns_a = new_namespaces()
    for ns in (ns_s, ns_a):
        build(runner.sync, ns, (Need.COLLECTION,), runner.timeout)
    return ns_s, ns_a


def test_a_client_losing_one_of_several_gathered_inserts_is_reported(milvus) -> None:  # type: ignore[no-untyped-def]
    """Four inserts gathered; the async client silently drops one: the final state differs, insert is named."""
    for runner in _runner(milvus, DropsOneGatheredInsert()):
        ns_s, ns_a = _twins(runner)
        try:
            writes = [concurrency.write_call("insert", [1000 + 10 * i, 1001 + 10 * i]) for i in range(4)]
            problem = concurrency.gathered_writes_problem(runner, writes, ns_s, ns_a)
        finally:
            cleanup(runner.sync, [ns_s.prefix, ns_a.prefix], runner.timeout)
        assert problem is not None and problem.startswith("insert"), problem


@pytest.mark.parametrize("how", ["wait_for", "cancel"])
def test_a_client_broken_by_a_cancelled_call_is_reported(milvus, how: str) -> None:  # type: ignore[no-untyped-def]
    """A cancelled insert leaves the client broken: the check says so and names the cancelled method."""
    for runner in _runner(milvus, broken_after_cancel):
        ns, _ = new_namespaces(shared=True)
        build(runner.sync, ns, (Need.COLLECTION,), runner.timeout)
        try:
            _, kwargs, touched = concurrency.write_call("insert", list(range(500, 520)))
            problem = concurrency.cancelled_call_problem(runner, ns, how, "insert", kwargs, touched)
        finally:
            cleanup(runner.sync, [ns.prefix], runner.timeout)
        assert problem is not None and problem.startswith(f"insert cancelled by {how}"), problem
