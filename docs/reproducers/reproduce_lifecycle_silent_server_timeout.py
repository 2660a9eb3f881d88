# divergence: lifecycle:silent_server_timeout
# server: *
# pymilvus: >=2.6,<2.6.10
# proven: pymilvus 2.6.5 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (the clients DIVERGE: AsyncMilvusClient raises TimeoutError:  after 30.0 s)
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer (vdb-harness conformance, lifecycle): a loopback port that accepts connections and never
# answers. Expected for both clients: the call raises within the client's timeout (2 s) / the call's
# timeout (1 s). Exit code: 1 while a client waits past its timeout (bound 22 s) or answers, 0
# when both give up in time. It runs on the kit in vdb_repro/ beside it.
from vdb_repro.lifecycle_replay import silent_server_main

if __name__ == "__main__":
    raise SystemExit(silent_server_main(22.0))
