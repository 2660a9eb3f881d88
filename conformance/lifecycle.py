"""Lifecycle of the clients, compared between MilvusClient and AsyncMilvusClient: what ``close()`` of one client
does to the other clients of the same URI (and to one created after it), event loops one after the other, several
async clients on one loop, and a server that stops answering.

Clients here are made the way a user makes them (``MilvusClient(uri=...)``, default arguments), never the suite's
isolated ones: the point is what a user sees. Each check returns observations or a sentence naming what broke.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from pathlib import Path
from typing import Any, Callable, Optional

from conformance import normalize
from scenarios.targets import Connection

#: What a correct client does: the other client and a client created after the close keep working; the closed
#: client refuses further calls.
EXPECTED = {"closed_client": "raises", "other_client": "ok", "client_created_after": "ok"}


def missing_calls(*methods: str) -> Optional[str]:
    """Why a lifecycle check cannot run with the installed pymilvus: the client classes that lack ``methods``, the
    calls the check makes on every client (pymilvus 2.5.x's AsyncMilvusClient has no list_collections or
    list_databases); None when both clients have them all."""
    import pymilvus
    from pymilvus import AsyncMilvusClient, MilvusClient

    gone = [f"{cls.__name__}.{m}" for m in methods for cls in (MilvusClient, AsyncMilvusClient) if not hasattr(cls, m)]
    return f"pymilvus {pymilvus.__version__} has no {', '.join(gone)}, which this check calls on every client" \
        if gone else None


def _seen(call: Callable[[], Any]) -> str:
    try:
        call()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - what the call did is the observation
        return _error_text(exc)


def _error_text(exc: BaseException) -> str:
    record = normalize.error_record(exc)
    return f"raises {record['class']}: {str(record.get('message'))[:160]}"


def _kind(seen: str) -> str:
    return "ok" if seen == "ok" else "raises"


def sync_close_lifecycle(conn: Connection, timeout: float) -> dict[str, str]:
    """Two MilvusClients of one URI; close the first: what the closed one, the other one and a third created
    afterwards do on their next call (``"ok"`` or ``"raises <class>: <message>"``)."""
    from pymilvus import MilvusClient

    kwargs = conn.client_kwargs()
    first, other = MilvusClient(**kwargs), MilvusClient(**kwargs)
    later = None
    try:
        first.list_collections(timeout=timeout)
        other.list_collections(timeout=timeout)
        first.close()
        seen = {"closed_client": _seen(lambda: first.list_collections(timeout=timeout)),
                "other_client": _seen(lambda: other.list_collections(timeout=timeout))}
        try:
            later = MilvusClient(**kwargs)
            seen["client_created_after"] = _seen(lambda: later.list_collections(timeout=timeout))
        except Exception as exc:  # noqa: BLE001
            seen["client_created_after"] = _error_text(exc)
        return seen
    finally:
        for client in (other, later):
            if client is not None:
                _seen(client.close)


async def _async_close_lifecycle(conn: Connection, timeout: float) -> dict[str, str]:
    from pymilvus import AsyncMilvusClient

    async def seen(call: Callable[[], Any]) -> str:
        try:
            result = call()
            if inspect.isawaitable(result):
                await result
            return "ok"
        except Exception as exc:  # noqa: BLE001
            return _error_text(exc)

    kwargs = conn.client_kwargs()
    first, other = AsyncMilvusClient(**kwargs), AsyncMilvusClient(**kwargs)
    later = None
    try:
        await first.list_collections(timeout=timeout)  # connect both before the close (async clients connect lazily)
        await other.list_collections(timeout=timeout)
        await first.close()
        out = {"closed_client": await seen(lambda: first.list_collections(timeout=timeout)),
               "other_client": await seen(lambda: other.list_collections(timeout=timeout))}
        later = AsyncMilvusClient(**kwargs)
        out["client_created_after"] = await seen(lambda: later.list_collections(timeout=timeout))
        return out
    finally:
        for client in (other, later):
            if client is not None:
                await seen(client.close)


def async_close_lifecycle(conn: Connection, timeout: float) -> dict[str, str]:
    """The same as :func:`sync_close_lifecycle` with AsyncMilvusClients on one fresh event loop."""
    return asyncio.run(asyncio.wait_for(_async_close_lifecycle(conn, timeout), timeout * 6 + 10))


def lifecycle_verdict(sync: dict[str, str], asyn: dict[str, str]) -> tuple[str, str]:
    """``("pass" | "diverges" | "finding", detail)``: a divergence when the two clients differ in what a close
    does (ok vs raises, or the error text), a finding when both do the same wrong thing."""
    for key in EXPECTED:
        if _kind(sync[key]) != _kind(asyn[key]) or sync[key] != asyn[key]:
            return "diverges", (f"close(): {key.replace('_', ' ')}: MilvusClient {sync[key]}, "
                                f"AsyncMilvusClient {asyn[key]}")
    wrong = [key for key, want in EXPECTED.items() if _kind(sync[key]) != want]
    if wrong:
        return "finding", ("close() of one client, on both MilvusClient and AsyncMilvusClient: "
                           + "; ".join(f"{k.replace('_', ' ')} {sync[k]} (expected: {EXPECTED[k]})" for k in wrong))
    return "pass", ""


REPRODUCER = '''"""Reproducer (vdb-harness conformance, lifecycle): close() of one client and the other clients of the same URI.
Expected for both clients: the closed client raises, the other client and a client created afterwards work.
Exit code: 1 when the two clients differ (ok against raises, or the error class), 0 when they behave alike."""
import asyncio
import sys

import pymilvus
from pymilvus import AsyncMilvusClient, MilvusClient

URI = sys.argv[1] if len(sys.argv) > 1 else {uri!r}


def sync_side():
    seen = {{}}
    first, other = MilvusClient(uri=URI), MilvusClient(uri=URI)
    first.list_collections(timeout=10)
    other.list_collections(timeout=10)
    first.close()
    for name, call in (("closed client", lambda: first.list_collections(timeout=10)),
                       ("other client", lambda: other.list_collections(timeout=10)),
                       ("client created after", lambda: MilvusClient(uri=URI).list_collections(timeout=10))):
        try:
            call()
            seen[name] = "ok"
        except Exception as exc:
            seen[name] = "raises " + type(exc).__name__
            print("MilvusClient", name, "raises", type(exc).__name__, exc)
    return seen


async def async_side():
    seen = {{}}
    first, other = AsyncMilvusClient(uri=URI), AsyncMilvusClient(uri=URI)
    await first.list_collections(timeout=10)
    await other.list_collections(timeout=10)
    await first.close()
    for name, make in (("closed client", lambda: first), ("other client", lambda: other),
                       ("client created after", lambda: AsyncMilvusClient(uri=URI))):
        try:
            await make().list_collections(timeout=10)
            seen[name] = "ok"
        except Exception as exc:
            seen[name] = "raises " + type(exc).__name__
            print("AsyncMilvusClient", name, "raises", type(exc).__name__, exc)
    return seen


print("pymilvus", pymilvus.__version__)
sync, asyn = sync_side(), asyncio.run(async_side())
differ = [f"{{name}}: MilvusClient {{sync[name]}}, AsyncMilvusClient {{asyn[name]}}" for name in sync
          if sync[name] != asyn[name]]
print("the clients DIVERGE: " + "; ".join(differ) if differ else f"the clients agree: {{sync}}")
sys.exit(1 if differ else 0)
'''


def write_lifecycle_reproducer(out_dir: Path, uri: str) -> Path:
    """A standalone script showing what close() does to other clients of ``uri`` on both clients."""
    path = Path(out_dir) / "reproducers" / "reproduce_close_lifecycle.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(REPRODUCER.format(uri=uri))
    return path


#: The registry name of the close() lifecycle check (``known_divergences.toml`` entries use it as their method).
CLOSE = "lifecycle:close"
#: The registry name of the silent-server check (``known_divergences.toml`` entries use it as their method).
SILENT_SERVER = "lifecycle:silent_server_timeout"

SILENT_REPRODUCER = '''"""Reproducer (vdb-harness conformance, lifecycle): a loopback port that accepts connections and never answers.
Expected for both clients: the call raises within the client's timeout (2 s) / the call's timeout (1 s).
Exit code: 1 while a client waits past its timeout (bound {bound:.0f} s) or answers, 0 when both give up in time."""
import asyncio
import socket
import sys
import time

import pymilvus
from pymilvus import AsyncMilvusClient, MilvusClient

BOUND = {bound!r}  # the timeout plus slack for client bookkeeping on a loaded CPU
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(8)
URI = f"http://127.0.0.1:{{silent.getsockname()[1]}}"
print("pymilvus", pymilvus.__version__)
late = []
start = time.monotonic()
try:
    MilvusClient(uri=URI, timeout=2).list_collections(timeout=1)
    late.append("MilvusClient answered")
except Exception as exc:
    print(f"MilvusClient raised {{type(exc).__name__}} after {{time.monotonic() - start:.1f}} s")
if time.monotonic() - start >= BOUND:
    late.append(f"MilvusClient waited {{time.monotonic() - start:.1f}} s")


async def main():
    client = AsyncMilvusClient(uri=URI, timeout=2)
    await client.list_collections(timeout=1)

start = time.monotonic()
try:
    asyncio.run(asyncio.wait_for(main(), BOUND + 8))
    late.append("AsyncMilvusClient answered")
except Exception as exc:
    print(f"AsyncMilvusClient raised {{type(exc).__name__}} after {{time.monotonic() - start:.1f}} s "
          f"(a TimeoutError after {{BOUND + 8:.0f}} s is this script's guard: the client ignored its timeout)")
if time.monotonic() - start >= BOUND:
    late.append(f"AsyncMilvusClient waited {{time.monotonic() - start:.1f}} s")
print("the clients DIVERGE: " + "; ".join(late) if late else "both clients honour the timeout")
sys.exit(1 if late else 0)
'''


def silent_server_outcome(seen: str, took: float, bound: float) -> dict[str, Any]:
    """One side of the silent-server check as an outcome for the registry: ``ok`` when the call gave up within
    ``bound``; otherwise an error record saying it did not (its class is what the call finally raised)."""
    if seen != "ok" and took < bound:
        return {"ok": True}
    cls = "answered" if seen == "ok" else seen.removeprefix("raises ").split(":", 1)[0]
    return {"ok": False, "error": {"class": cls, "code": None,
                                   "message": f"no timeout within {bound:.0f} s: {seen} after {took:.1f} s"}}


def write_silent_server_reproducer(out_dir: Path, bound: float) -> Path:
    """A standalone script showing how long each client waits on a port that never answers (exit 1 while one
    waits past ``bound`` seconds)."""
    path = Path(out_dir) / "reproducers" / "reproduce_silent_server_timeout.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SILENT_REPRODUCER.format(bound=bound))
    return path


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
            return f"{probe} in event loop {run} (asyncio.run, one after the other) {_error_text(exc)}"
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
        _seen(sync.close)

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
                               f"{_error_text(answer)}"
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


def timed(call: Callable[[], Any]) -> tuple[str, float]:
    """(``"ok"`` or the error text, seconds taken) of ``call()``."""
    start = time.monotonic()
    seen = _seen(call)
    return seen, time.monotonic() - start
