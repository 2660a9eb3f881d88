# divergence: compact
# server: *
# pymilvus: >=2.6,<3.1
# proven: pymilvus 3.0.2 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (pymilvus 3.0.2: the clients DIVERGE: sync returned a value, async raised {'class': 'MilvusException', 'code': 100, 'message': "collection '<ns>_missing' does no)
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer for a conformance divergence found by vdb-harness.
#
# AsyncMilvusClient.compact diverges from MilvusClient.compact: sync returned a value, async raised {'class': 'MilvusException', 'code': 100, 'message': "collection '<ns>_missing' does not exist"}
#
# sync outcome:  {"ok": true, "value": 0, "error": null, "effects": {"0:describe_collection": {"collection_name": "<ns>_coll", "auto_id": false, "num_shards": 1, "description": "", "fields": [{"field_id": "<int>", "name": "id", "description": "", "type": "DataType.INT64", "params": {}, "is_primary": true}, {"field_id": "<int>", "name": "vec", "description": "", "type": "DataType.FLOAT_VECTOR", "params": {"dim": 4}}, {"field_id": "<int>", "name": "sparse", "description": "", "type": "DataType.SPARSE_FLOAT_VECTOR", "params": {}}, {"field_id": "<int>", "name": "text", "description": "", "type": "DataType.VARCHAR", "params": {"max_length": 64}}, {"field_id": "<int>", "name": "num", "description": "", "type": "DataType.INT32", "params": {}}, {"field_id": "<int>", "name": "score", "description": "", "type": "DataType.DOUBLE", "params": {}}, {"field_id": "<int>", "name": "flag", "description": "", "type": "DataType.BOOL", "params": {}}, {"field_id": "<int>", "name": "meta", "description": "", "type": "DataType.JSON", "params": {}}, {"field_id": "<int>", "name": "tags", "description": "", "type": "DataType.ARRAY", "params": {"max_capacity": 4}, "element_type": "DataType.INT64"}, {"field_id": "<int>", "name": "opt", "description": "", "type": "DataType.INT64", "params": {}, "default_value": {"__type__": "ValueField", "longData": "7"}, "nullable": true}], "functions": [], "aliases": [], "collection_id": "<int>", "consistency_level": 0, "consistency_level_name": "Strong", "properties": {}, "num_partitio
# async outcome: {"ok": false, "value": null, "error": {"class": "MilvusException", "code": 100, "message": "collection '<ns>_missing' does not exist"}, "effects": {"0:describe_collection": {"collection_name": "<ns>_coll", "auto_id": false, "num_shards": 1, "description": "", "fields": [{"field_id": "<int>", "name": "id", "description": "", "type": "DataType.INT64", "params": {}, "is_primary": true}, {"field_id": "<int>", "name": "vec", "description": "", "type": "DataType.FLOAT_VECTOR", "params": {"dim": 4}}, {"field_id": "<int>", "name": "sparse", "description": "", "type": "DataType.SPARSE_FLOAT_VECTOR", "params": {}}, {"field_id": "<int>", "name": "text", "description": "", "type": "DataType.VARCHAR", "params": {"max_length": 64}}, {"field_id": "<int>", "name": "num", "description": "", "type": "DataType.INT32", "params": {}}, {"field_id": "<int>", "name": "score", "description": "", "type": "DataType.DOUBLE", "params": {}}, {"field_id": "<int>", "name": "flag", "description": "", "type": "DataType.BOOL", "params": {}}, {"field_id": "<int>", "name": "meta", "description": "", "type": "DataType.JSON", "params": {}}, {"field_id": "<int>", "name": "tags", "description": "", "type": "DataType.ARRAY", "params": {"max_capacity": 4}, "element_type": "DataType.INT64"}, {"field_id": "<int>", "name": "opt", "description": "", "type": "DataType.INT64", "params": {}, "default_value": {"__type__": "ValueField", "longData": "7"}, "nullable": true}], "functions": [], "aliases": [], "collection_id": "<in
#
# Run it against a server you own: python reproduce_compact.py http://127.0.0.1:19530
# It runs on the kit in vdb_repro/ beside it (the harness's own set-up, call, probe and comparison code;
# p(name) is one side's name of an object of the starting state). Exit code 1 while the clients
# diverge, 0 once they agree, 2 when the starting state cannot be built.
from vdb_repro.replay import main


def kwargs(p):
    return {'collection_name': p('missing')}


if __name__ == "__main__":
    main(kwargs, method='compact', needs=['collection'], mode='STRUCTURAL', category='data')
