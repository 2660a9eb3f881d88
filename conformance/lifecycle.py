"""Lifecycle of the clients, compared between MilvusClient and AsyncMilvusClient: what ``close()`` of one client
does to the other clients of the same URI (and to one created after it), event loops one after the other, several
async clients on one loop, and a server that stops answering.

Clients here are made the way a user makes them (``MilvusClient(uri=...)``, default arguments), never the suite's
isolated ones: the point is what a user sees. Each check returns observations or a sentence naming what broke.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

from conformance import normalize
from conformance.lifecycle_replay import (  # noqa: F401 - re-exported: the checks the suite runs
    EXPECTED, async_close_lifecycle, error_text, lifecycle_verdict, outcome_of, silent_server_outcome,
    silent_server_seen, sync_close_lifecycle, timed)
from conformance.repro_kit import script_text, write_script
from scenarios.targets import Connection


def missing_calls(*methods: str) -> Optional[str]:
    """Why a lifecycle check cannot run with the installed pymilvus: the client classes that lack ``methods``, the
    calls the check makes on every client (pymilvus 2.5.x's AsyncMilvusClient has no list_collections or
    list_databases); None when both clients have them all."""
    import pymilvus
    from pymilvus import AsyncMilvusClient, MilvusClient

    gone = [f"{cls.__name__}.{m}" for m in methods for cls in (MilvusClient, AsyncMilvusClient) if not hasattr(cls, m)]
    return f"pymilvus {pymilvus.__version__} has no {', '.join(gone)}, which this check calls on every client" \
        if gone else None


def write_lifecycle_reproducer(out_dir: Path, uri: str) -> Path:
    """A reproducer script showing what close() does to other clients of ``uri`` on both clients."""
    about = ("Reproducer (vdb-harness conformance, lifecycle): close() of one client and the other clients "
             "of the same\n"
             "URI. Expected for both clients: the closed client raises, the other client and a client created\n"
             "afterwards work. Exit code: 1 when the two clients differ (ok against raises, or the error), 0 when\n"
             "they behave alike. It runs on the kit in vdb_repro/ beside it.\n")
    body = f"\nif __name__ == \"__main__\":\n    raise SystemExit(close_main({uri!r}))\n"
    return write_script(out_dir, "reproduce_close_lifecycle.py",
                        script_text(about, "lifecycle_replay import close_main", body))


#: The registry name of the close() lifecycle check (``known_divergences.toml`` entries use it as their method).
CLOSE = "lifecycle:close"
#: The registry name of the silent-server check (``known_divergences.toml`` entries use it as their method).
SILENT_SERVER = "lifecycle:silent_server_timeout"


def write_silent_server_reproducer(out_dir: Path, bound: float) -> Path:
    """A reproducer script showing how long each client waits on a port that never answers (exit 1 while one
    waits past ``bound`` seconds)."""
    about = ("Reproducer (vdb-harness conformance, lifecycle): a loopback port that accepts connections and never\n"
             "answers. Expected for both clients: the call raises within the client's timeout (2 s) / the call's\n"
             f"timeout (1 s). Exit code: 1 while a client waits past its timeout (bound {bound:.0f} s) or answers, 0\n"
             "when both give up in time. It runs on the kit in vdb_repro/ beside it.\n")
    body = f"\nif __name__ == \"__main__\":\n    raise SystemExit(silent_server_main({bound!r}))\n"
    return write_script(out_dir, "reproduce_silent_server_timeout.py",
                        script_text(about, "lifecycle_replay import silent_server_main", body))


def two_loops_problem(conn: Connection, timeout: float, probe: str = "list_databases") -> Optional[str]:
    """``asyncio.run`` twice, one AsyncMilvusClient per run (same URI): the second loop's client answers ``probe``
    (a read-only call without arguments) like the first one did."""
    async def once() -> Any:
        from pymilvus import AsyncMilvusClient

        client = AsyncMilvusClient(**conn.client_kwargs())
        try:
            return normalize.plain(await getattr(client, probe)(timeout=timeout))
        finally:
            await client.close()

    answers = []
    for run in (1, 2):
        try:
            answers.append(asyncio.run(asyncio.wait_for(once(), timeout * 3 + 10)))
        except Exception as exc:  # noqa: BLE001
            return f"{probe} in event loop {run} (asyncio.run, one after the other) {error_text(exc)}"
    if answers[0] != answers[1]:
        return f"{probe}: the second event loop's client answers {answers[1]!r}, the first {answers[0]!r}"
    return None


def several_clients_problem(conn: Connection, timeout: float, clients: int = 3,
                            probe: str = "list_databases") -> Optional[str]:
    """``clients`` AsyncMilvusClients of one URI on one loop, called together: each answers ``probe`` (a read-only
    call without arguments) as a MilvusClient answers it. (What closing one of them does to the others is the
    close() property, checked once, elsewhere.)"""
    from pymilvus import MilvusClient

    sync = MilvusClient(**conn.client_kwargs())
    try:
        expected = sorted(normalize.plain(getattr(sync, probe)(timeout=timeout)))
    finally:
        outcome_of(sync.close)

    async def go() -> Optional[str]:
        from pymilvus import AsyncMilvusClient

        made = [AsyncMilvusClient(**conn.client_kwargs()) for _ in range(clients)]
        try:
            for rounds in range(2):
                answers = await asyncio.gather(*(getattr(c, probe)(timeout=timeout) for c in made),
                                               return_exceptions=True)
                for i, answer in enumerate(answers):
                    if isinstance(answer, BaseException):
                        return f"{probe} on client {i + 1} of {clients} (round {rounds + 1}) " \
                               f"{error_text(answer)}"
                    if sorted(normalize.plain(answer)) != expected:
                        return (f"{probe} on client {i + 1} of {clients} (round {rounds + 1}) answered "
                                f"{answer!r:.200}, MilvusClient {expected!r:.200}")
            return None
        finally:
            for client in made:  # closed together at the end: no later call depends on another's close
                try:
                    await client.close()
                except Exception:  # noqa: BLE001
                    pass

    return asyncio.run(asyncio.wait_for(go(), timeout * 4 + 10))
