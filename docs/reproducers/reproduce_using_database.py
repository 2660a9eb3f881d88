# divergence: using_database
# server: *
# pymilvus: >=2.6.1,<2.6.7
# proven: pymilvus 2.6.5 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (pymilvus 2.6.5: the clients DIVERGE: side effects.client:list_collections: length 0 != 1)
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer for a conformance divergence found by vdb-harness.
#
# AsyncMilvusClient.using_database diverges from MilvusClient.using_database: side effects.client:list_collections: length 0 != 1
#
# sync outcome:  {"ok": true, "value": null, "error": null, "effects": {"0:describe_database": {"name": "<ns>_db"}, "1:describe_collection": {"collection_name": "<ns>_coll", "auto_id": false, "num_shards": 1, "description": "", "fields": [{"field_id": "<int>", "name": "id", "description": "", "type": "DataType.INT64", "params": {}, "is_primary": true}, {"field_id": "<int>", "name": "vec", "description": "", "type": "DataType.FLOAT_VECTOR", "params": {"dim": 4}}, {"field_id": "<int>", "name": "sparse", "description": "", "type": "DataType.SPARSE_FLOAT_VECTOR", "params": {}}, {"field_id": "<int>", "name": "text", "description": "", "type": "DataType.VARCHAR", "params": {"max_length": 64}}, {"field_id": "<int>", "name": "num", "description": "", "type": "DataType.INT32", "params": {}}, {"field_id": "<int>", "name": "score", "description": "", "type": "DataType.DOUBLE", "params": {}}, {"field_id": "<int>", "name": "flag", "description": "", "type": "DataType.BOOL", "params": {}}, {"field_id": "<int>", "name": "meta", "description": "", "type": "DataType.JSON", "params": {}}, {"field_id": "<int>", "name": "tags", "description": "", "type": "DataType.ARRAY", "params": {"max_capacity": 4}, "element_type": "DataType.INT64"}, {"field_id": "<int>", "name": "opt", "description": "", "type": "DataType.INT64", "params": {}, "default_value": {"__type__": "ValueField", "longData": "7"}, "nullable": true}], "functions": [], "aliases": [], "collection_id": "<int>", "consistency_level": 0, "properties": {}, "n
# async outcome: {"ok": true, "value": null, "error": null, "effects": {"0:describe_database": {"name": "<ns>_db"}, "1:describe_collection": {"collection_name": "<ns>_coll", "auto_id": false, "num_shards": 1, "description": "", "fields": [{"field_id": "<int>", "name": "id", "description": "", "type": "DataType.INT64", "params": {}, "is_primary": true}, {"field_id": "<int>", "name": "vec", "description": "", "type": "DataType.FLOAT_VECTOR", "params": {"dim": 4}}, {"field_id": "<int>", "name": "sparse", "description": "", "type": "DataType.SPARSE_FLOAT_VECTOR", "params": {}}, {"field_id": "<int>", "name": "text", "description": "", "type": "DataType.VARCHAR", "params": {"max_length": 64}}, {"field_id": "<int>", "name": "num", "description": "", "type": "DataType.INT32", "params": {}}, {"field_id": "<int>", "name": "score", "description": "", "type": "DataType.DOUBLE", "params": {}}, {"field_id": "<int>", "name": "flag", "description": "", "type": "DataType.BOOL", "params": {}}, {"field_id": "<int>", "name": "meta", "description": "", "type": "DataType.JSON", "params": {}}, {"field_id": "<int>", "name": "tags", "description": "", "type": "DataType.ARRAY", "params": {"max_capacity": 4}, "element_type": "DataType.INT64"}, {"field_id": "<int>", "name": "opt", "description": "", "type": "DataType.INT64", "params": {}, "default_value": {"__type__": "ValueField", "longData": "7"}, "nullable": true}], "functions": [], "aliases": [], "collection_id": "<int>", "consistency_level": 0, "properties": {}, "n
#
# Run it against a server you own: python reproduce_using_database.py http://127.0.0.1:19530
# It runs on the kit in vdb_repro/ beside it (the harness's own set-up, call, probe and comparison code;
# p(name) is one side's name of an object of the starting state). Exit code 1 while the clients
# diverge, 0 once they agree, 2 when the starting state cannot be built.
from vdb_repro.replay import main


def kwargs(p):
    return {'db_name': p('db')}


if __name__ == "__main__":
    main(kwargs, method='using_database', needs=['database', 'bare'], fresh=True, category='database')
