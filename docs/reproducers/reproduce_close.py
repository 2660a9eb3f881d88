# divergence: close
# server: *
# pymilvus: >=2.6.10,<2.6.11
# proven: pymilvus 2.6.10 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (pymilvus 2.6.10: the clients DIVERGE: side effects.client:list_collections.error.class: 'AttributeError' != 'MilvusException')
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer for a conformance divergence found by vdb-harness.
#
# AsyncMilvusClient.close diverges from MilvusClient.close: side effects.client:list_collections.error.class: 'AttributeError' != 'MilvusException'
#
# sync outcome:  {"ok": true, "value": null, "error": null, "effects": {"0:list_collections": [], "1:list_databases": ["default"], "client:list_collections": {"error": {"class": "AttributeError", "code": null, "message": "'NoneType' object has no attribute 'list_collections'"}}}}
# async outcome: {"ok": true, "value": null, "error": null, "effects": {"0:list_collections": [], "1:list_databases": ["default"], "client:list_collections": {"error": {"class": "MilvusException", "code": "ErrorCode.UNEXPECTED_ERROR", "message": "should create connection first"}}}}
#
# Run it against a server you own: python reproduce_close.py http://127.0.0.1:19530
# It runs on the kit in vdb_repro/ beside it (the harness's own set-up, call, probe and comparison code;
# p(name) is one side's name of an object of the starting state). Exit code 1 while the clients
# diverge, 0 once they agree, 2 when the starting state cannot be built.
from vdb_repro.replay import main


def kwargs(p):
    return {}


if __name__ == "__main__":
    main(kwargs, method='close', timeout=False, fresh=True, category='server')
