# divergence: get_server_type
# server: *
# pymilvus: >=2.6.10,<3.1
# proven: pymilvus 3.0.2 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (pymilvus 3.0.2: the clients DIVERGE: sync returned a value, async raised {'class': 'MilvusException', 'code': 'ErrorCode.UNEXPECTED_ERROR', 'message': 'Client n)
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer for a conformance divergence found by vdb-harness.
#
# AsyncMilvusClient.get_server_type diverges from MilvusClient.get_server_type: sync returned a value, async raised {'class': 'MilvusException', 'code': 'ErrorCode.UNEXPECTED_ERROR', 'message': 'Client not connected. Call await client._connect() first.'}
#
# sync outcome:  {"ok": true, "value": "milvus", "error": null, "effects": {"0:list_collections": [], "1:list_databases": ["default"], "client:list_collections": []}}
# async outcome: {"ok": false, "value": null, "error": {"class": "MilvusException", "code": "ErrorCode.UNEXPECTED_ERROR", "message": "Client not connected. Call await client._connect() first."}, "effects": {"0:list_collections": [], "1:list_databases": ["default"], "client:list_collections": []}}
#
# Run it against a server you own: python reproduce_get_server_type.py http://127.0.0.1:19530
# It runs on the kit in vdb_repro/ beside it (the harness's own set-up, call, probe and comparison code;
# p(name) is one side's name of an object of the starting state). Exit code 1 while the clients
# diverge, 0 once they agree, 2 when the starting state cannot be built.
from vdb_repro.replay import main


def kwargs(p):
    return {}


if __name__ == "__main__":
    main(kwargs, method='get_server_type', timeout=False, fresh=True, category='server')
