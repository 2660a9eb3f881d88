# divergence: lifecycle:close
# server: *
# pymilvus: >=2.6.10,<2.6.11
# proven: pymilvus 2.6.10 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (the clients DIVERGE: close(): closed client: MilvusClient raises AttributeError: 'NoneType' object has no attribute 'list_collections', AsyncMilvusClient raises)
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer (vdb-harness conformance, lifecycle): close() of one client and the other clients of the same
# URI. Expected for both clients: the closed client raises, the other client and a client created
# afterwards work. Exit code: 1 when the two clients differ (ok against raises, or the error), 0 when
# they behave alike. It runs on the kit in vdb_repro/ beside it.
from vdb_repro.lifecycle_replay import close_main

if __name__ == "__main__":
    raise SystemExit(close_main('http://x'))
