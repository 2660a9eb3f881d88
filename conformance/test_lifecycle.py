"""Lifecycle of AsyncMilvusClient against MilvusClient on a real server: what close() does to other clients of the
same URI (a checked property: a divergence when the two differ, a finding with a reproducer when both are wrong),
event loops one after the other, several async clients on one loop, and a server that stops answering."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pymilvus
import pytest

from conformance import known, lifecycle
from conformance.registry import Need
from conformance.runner import isolated_async_client, isolated_sync_client
from conformance.servers import lacking_need

pytestmark = pytest.mark.server


def _calls_needed(*methods: str) -> None:
    """Skip (with the reason) where the installed pymilvus lacks a call the check makes on every client."""
    why = lifecycle.missing_calls(*methods)
    if why:
        pytest.skip(why)


def _probe(server_family: str) -> str:
    """The read-only call the loop checks compare: list_databases, or list_collections where the server has no
    databases (Milvus Lite 2.5.1 answers UNIMPLEMENTED)."""
    return "list_collections" if lacking_need(server_family, [Need.DATABASE]) else "list_databases"


def test_close_of_one_client_and_the_others_of_its_uri(milvus, runner, matrix, server_family: str,  # type: ignore[no-untyped-def]
                                                       conformance_out: Path) -> None:
    """For both clients: after close() of one client, the closed one refuses, another client of the same URI and a
    client created afterwards keep working. The suite's own clients are unaffected whatever pymilvus does."""
    _calls_needed("list_collections")
    sync = lifecycle.sync_close_lifecycle(milvus.client_kwargs(), runner.timeout)
    asyn = lifecycle.async_close_lifecycle(milvus.client_kwargs(), runner.timeout)
    status, detail = lifecycle.lifecycle_verdict(sync, asyn)
    script = lifecycle.write_lifecycle_reproducer(conformance_out, milvus.uri) if status != "pass" else None
    # the suite's own clients are isolated: no verdict may depend on another client's lifecycle
    runner.call_sync("list_collections", {"timeout": runner.timeout})
    runner.call_async("list_collections", {"timeout": runner.timeout})
    if status == "finding":
        matrix.findings.append({"name": "close() disconnects other clients of the same URI", "status": "finding",
                                "detail": f"{detail} (reproducer: {script})"})
    if status == "diverges":  # settled against the registry (method lifecycle:close) like every divergence
        sig = known.signature_of(detail, {"ok": False, "error": {"class": "close", "message": repr(sync)}},
                                 {"ok": False, "error": {"class": "close", "message": repr(asyn)}})
        listed = known.applicable(known.load(), lifecycle.CLOSE, server_family, pymilvus.__version__)
        entry = known.match(listed, sig)
        if entry is not None and not known.strict():
            pytest.xfail(f"known divergence: {entry.reason}\n{detail}\nreproducer: {script}")
        pytest.fail(f"{detail} [{'known' if entry else 'new'}: {sig.describe()}]\nsync: {sync}\nasync: {asyn}"
                    f"\nreproducer: {script}")
    stale = [known.stale_message(e, 1) for e in known.applicable(
        known.load(), lifecycle.CLOSE, server_family, pymilvus.__version__)]
    assert not stale, "; ".join(stale)


def test_two_event_loops_one_after_the_other(milvus, runner, server_family: str) -> None:  # type: ignore[no-untyped-def]
    """asyncio.run twice, one AsyncMilvusClient per loop: the second works like the first."""
    probe = _probe(server_family)
    _calls_needed(probe)
    problem = lifecycle.two_loops_problem(milvus, runner.timeout, probe)
    assert problem is None, problem


def test_several_async_clients_on_one_loop(milvus, runner, server_family: str) -> None:  # type: ignore[no-untyped-def]
    """Three AsyncMilvusClients of one URI, called together on one loop, answer like a MilvusClient."""
    probe = _probe(server_family)
    _calls_needed(probe)
    problem = lifecycle.several_clients_problem(milvus, runner.timeout, probe=probe)
    assert problem is None, problem


#: A per-call timeout is honoured when the call ends within it plus this much (client bookkeeping, a loaded CPU).
#: A bound, not a speed measurement: without the timeout the call would wait for minutes.
TIMEOUT_SLACK = 20.0


def test_a_silent_server_honours_the_timeout_on_both_clients(milvus, server_family: str,  # type: ignore[no-untyped-def]
                                                             conformance_out: Path) -> None:
    """A loopback port whose listener accepts and never answers: both clients give up within their timeout. A
    client that does not is a divergence, settled against the registry (method ``lifecycle:silent_server_timeout``)
    like every other: known (xfail) where an entry's signature matches, a failure otherwise, and an entry that
    applies to a run where both clients honour the timeout is stale."""
    _calls_needed("list_collections")
    from dataclasses import replace

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        conn = replace(milvus, uri=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=2.0)
        guard = conn.timeout + TIMEOUT_SLACK + 8  # a client that ignores its timeout is stopped here, not waited for
        (sync_seen, sync_took), (async_seen, async_took) = lifecycle.silent_server_seen(
            lambda: isolated_sync_client(conn), lambda: isolated_async_client(conn), guard)
    bound = conn.timeout + TIMEOUT_SLACK
    listed = known.applicable(known.load(), lifecycle.SILENT_SERVER, server_family, pymilvus.__version__)
    sync = lifecycle.silent_server_outcome(sync_seen, sync_took, bound)
    asyn = lifecycle.silent_server_outcome(async_seen, async_took, bound)
    if sync["ok"] and asyn["ok"]:
        stale = [known.stale_message(e, 1) for e in listed]
        assert not stale, "; ".join(stale)
        return
    why = (f"a port that never answers, timeout 2 s (client) / 1 s (call): MilvusClient {sync_seen} after "
           f"{sync_took:.1f} s, AsyncMilvusClient {async_seen} after {async_took:.1f} s (bound {bound:.0f} s)")
    script = lifecycle.write_silent_server_reproducer(conformance_out, bound)
    sig = known.signature_of(why, sync, asyn)
    entry = known.match(listed, sig)
    if entry is not None and not known.strict():
        pytest.xfail(f"known divergence: {entry.reason}\n{why}\nreproducer: {script}")
    pytest.fail(f"{why} [{'known' if entry else 'new'}: {sig.describe()}]\nreproducer: {script}")


@pytest.mark.timeout(240)
def test_a_frozen_server_honours_the_per_call_timeout_on_both_clients(runner) -> None:  # type: ignore[no-untyped-def]
    """Our own server, connected, then frozen (SIGSTOP: its port accepts, nothing answers): a call with
    ``timeout=2`` ends with an error on both clients within the timeout; after SIGCONT both answer again."""
    _calls_needed("list_collections")
    from scenarios.embedded import EmbeddedMilvus
    from scenarios.targets import Connection

    server = EmbeddedMilvus(python=os.environ.get("VDB_HARNESS_BACKEND_PYTHON") or None)
    info = server.start()
    try:
        from conformance.runner import Runner

        own = Runner(Connection(uri=info.uri, timeout=10, kind="embedded", embedded=info), traits=False)
        try:
            own.call_sync("list_collections", {"timeout": 10})
            own.call_async("list_collections", {"timeout": 10})
            os.killpg(info.pid, signal.SIGSTOP)
            try:
                sync_seen, sync_took = lifecycle.timed(lambda: own.call_sync("list_collections", {"timeout": 2}))
                async_seen, async_took = lifecycle.timed(
                    lambda: own.call_async("list_collections", {"timeout": 2}))
            finally:
                os.killpg(info.pid, signal.SIGCONT)
            assert sync_seen != "ok" and async_seen != "ok", (sync_seen, async_seen)
            assert sync_took < 2 + TIMEOUT_SLACK, f"MilvusClient waited {sync_took:.1f} s: {sync_seen}"
            assert async_took < 2 + TIMEOUT_SLACK, f"AsyncMilvusClient waited {async_took:.1f} s: {async_seen}"
            assert lifecycle.timed(lambda: own.call_sync("list_collections", {"timeout": 10}))[0] == "ok"
            assert lifecycle.timed(lambda: own.call_async("list_collections", {"timeout": 10}))[0] == "ok"
        finally:
            own.close()
    finally:
        server.stop()
