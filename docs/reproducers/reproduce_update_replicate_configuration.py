# divergence: update_replicate_configuration
# server: *
# pymilvus: >=2.6,<3.1
# proven: pymilvus 3.0.2 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (pymilvus 3.0.2: the clients DIVERGE: error.class: 'ParamError' != 'AttributeError')
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer for a conformance divergence found by vdb-harness.
#
# AsyncMilvusClient.update_replicate_configuration diverges from MilvusClient.update_replicate_configuration: error.class: 'ParamError' != 'AttributeError'
#
# sync outcome:  {"ok": false, "value": null, "error": {"class": "ParamError", "code": "ErrorCode.UNEXPECTED_ERROR", "message": "uri is required in connection_param"}, "effects": {"0:list_collections": [], "1:list_databases": ["default"], "client:list_collections": []}}
# async outcome: {"ok": false, "value": null, "error": {"class": "AttributeError", "code": null, "message": "'AsyncGrpcHandler' object has no attribute 'update_replicate_configuration'"}, "effects": {"0:list_collections": [], "1:list_databases": ["default"], "client:list_collections": []}}
#
# Run it against a server you own: python reproduce_update_replicate_configuration.py http://127.0.0.1:19530
# It runs on the kit in vdb_repro/ beside it (the harness's own set-up, call, probe and comparison code;
# p(name) is one side's name of an object of the starting state). Exit code 1 while the clients
# diverge, 0 once they agree, 2 when the starting state cannot be built.
from vdb_repro.replay import main


def kwargs(p):
    return {'clusters': [{'cluster_id': '', 'connection_param': {}, 'pchannels': []}]}


if __name__ == "__main__":
    main(kwargs, method='update_replicate_configuration', category='replication')
