# divergence: lifecycle:silent_server_timeout
# server: *
# pymilvus: >=2.6,<2.6.10
# proven: pymilvus 2.6.5 on Milvus Lite 3.2.2, 2026-12-06: exit 1 (the clients DIVERGE: AsyncMilvusClient waited 30.1 s)
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
"""Reproducer (vdb-harness conformance, lifecycle): a loopback port that accepts connections and never answers.
Expected for both clients: the call raises within the client's timeout (2 s) / the call's timeout (1 s).
Exit code: 1 while a client waits past its timeout (bound 22 s) or answers, 0 when both give up in time."""
import asyncio
import socket
import sys
import time

import pymilvus
from pymilvus import AsyncMilvusClient, MilvusClient

BOUND = 22.0  # the timeout plus slack for client bookkeeping on a loaded CPU
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(8)
URI = f"http://127.0.0.1:{silent.getsockname()[1]}"
print("pymilvus", pymilvus.__version__)
late = []
start = time.monotonic()
try:
    MilvusClient(uri=URI, timeout=2).list_collections(timeout=1)
    late.append("MilvusClient answered")
except Exception as exc:
    print(f"MilvusClient raised {type(exc).__name__} after {time.monotonic() - start:.1f} s")
if time.monotonic() - start >= BOUND:
    late.append(f"MilvusClient waited {time.monotonic() - start:.1f} s")


async def main():
    client = AsyncMilvusClient(uri=URI, timeout=2)
    await client.list_collections(timeout=1)

start = time.monotonic()
try:
    asyncio.run(asyncio.wait_for(main(), BOUND + 8))
    late.append("AsyncMilvusClient answered")
except Exception as exc:
    print(f"AsyncMilvusClient raised {type(exc).__name__} after {time.monotonic() - start:.1f} s "
          f"(a TimeoutError after {BOUND + 8:.0f} s is this script's guard: the client ignored its timeout)")
if time.monotonic() - start >= BOUND:
    late.append(f"AsyncMilvusClient waited {time.monotonic() - start:.1f} s")
print("the clients DIVERGE: " + "; ".join(late) if late else "both clients honour the timeout")
sys.exit(1 if late else 0)
