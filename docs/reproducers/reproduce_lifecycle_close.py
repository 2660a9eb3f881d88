# divergence: lifecycle:close
# server: *
# pymilvus: >=2.6.10,<2.6.11
# proven: pymilvus 2.6.10 on Milvus Lite 3.2.2, 2026-12-06: exit 1 (the clients DIVERGE: closed client: MilvusClient raises AttributeError, AsyncMilvusClient raises MilvusException)
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
"""Reproducer (vdb-harness conformance, lifecycle): close() of one client and the other clients of the same URI.
Expected for both clients: the closed client raises, the other client and a client created afterwards work.
Exit code: 1 when the two clients differ (ok against raises, or the error class), 0 when they behave alike."""
import asyncio
import sys

import pymilvus
from pymilvus import AsyncMilvusClient, MilvusClient

URI = sys.argv[1] if len(sys.argv) > 1 else 'http://x'


def sync_side():
    seen = {}
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
    seen = {}
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
differ = [f"{name}: MilvusClient {sync[name]}, AsyncMilvusClient {asyn[name]}" for name in sync
          if sync[name] != asyn[name]]
print("the clients DIVERGE: " + "; ".join(differ) if differ else f"the clients agree: {sync}")
sys.exit(1 if differ else 0)
