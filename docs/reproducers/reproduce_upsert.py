# divergence: upsert
# server: *
# pymilvus: >2.5.3,<2.6.3
# proven: pymilvus 2.6.2 on Milvus Lite 3.2.2, 2026-12-07: exit 1 (pymilvus 2.6.2: the clients DIVERGE: result: keys differ: only sync ['primary_keys'], only async [])
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
# Reproducer for a conformance divergence found by vdb-harness.
#
# AsyncMilvusClient.upsert diverges from MilvusClient.upsert: result: keys differ: only sync ['primary_keys'], only async []
#
# sync outcome:  {"ok": true, "value": {"__type__": "OmitZeroDict", "__value__": {"upsert_count": 1, "cost": "<int>", "primary_keys": {"__type__": "RepeatedScalarContainer", "__value__": [0]}}}, "error": null, "effects": {"0:query": {"__type__": "HybridExtraList", "__value__": [{"id": 0, "vec": [0.0, 0.0, 0.0, 0.0], "sparse": {"__type__": "dict", "__value__": [[0, 1.0]]}, "text": "", "num": 0, "score": 0.0, "flag": false, "meta": {"k": 0}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": []}, "opt": 7, "extra": "dyn0"}, {"id": 1, "vec": [0.6363636255264282, 0.6000000238418579, 0.0416666679084301, 0.9583333134651184], "sparse": {"__type__": "dict", "__value__": [[1, 1.100000023841858], [11, 0.5]]}, "text": "beta text 1", "num": 12, "score": 0.3333333333333333, "flag": false, "meta": {"k": 1, "name": "beta", "nested": {"v": 1}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [1, 2]}, "opt": 1, "extra": "dyn1"}, {"id": 2, "vec": [0.27272728085517883, 0.20000000298023224, 0.0833333358168602, 0.9166666865348816], "sparse": {"__type__": "dict", "__value__": [[2, 1.2000000476837158], [12, 0.5]]}, "text": "gamma random 2", "num": -1, "score": 0.6666666666666666, "flag": false, "meta": {"k": 2, "name": "gamma", "nested": {"v": 2}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [2]}, "opt": 2, "extra": "dyn2"}, {"id": 3, "vec": [0.9090909361839294, 0.800000011920929, 0.125, 0.875], "sparse": {"__type__": "dict", "__value__": [[3, 1.2999999523162842], [13, 0.5]]}
# async outcome: {"ok": true, "value": {"__type__": "OmitZeroDict", "__value__": {"upsert_count": 1, "cost": "<int>"}}, "error": null, "effects": {"0:query": {"__type__": "HybridExtraList", "__value__": [{"id": 0, "vec": [0.0, 0.0, 0.0, 0.0], "sparse": {"__type__": "dict", "__value__": [[0, 1.0]]}, "text": "", "num": 0, "score": 0.0, "flag": false, "meta": {"k": 0}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": []}, "opt": 7, "extra": "dyn0"}, {"id": 1, "vec": [0.6363636255264282, 0.6000000238418579, 0.0416666679084301, 0.9583333134651184], "sparse": {"__type__": "dict", "__value__": [[1, 1.100000023841858], [11, 0.5]]}, "text": "beta text 1", "num": 12, "score": 0.3333333333333333, "flag": false, "meta": {"k": 1, "name": "beta", "nested": {"v": 1}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [1, 2]}, "opt": 1, "extra": "dyn1"}, {"id": 2, "vec": [0.27272728085517883, 0.20000000298023224, 0.0833333358168602, 0.9166666865348816], "sparse": {"__type__": "dict", "__value__": [[2, 1.2000000476837158], [12, 0.5]]}, "text": "gamma random 2", "num": -1, "score": 0.6666666666666666, "flag": false, "meta": {"k": 2, "name": "gamma", "nested": {"v": 2}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [2]}, "opt": 2, "extra": "dyn2"}, {"id": 3, "vec": [0.9090909361839294, 0.800000011920929, 0.125, 0.875], "sparse": {"__type__": "dict", "__value__": [[3, 1.2999999523162842], [13, 0.5]]}, "text": "delta delta 3", "num": -14, "score": 1.0, "flag": true, "meta": 
#
# Run it against a server you own: python reproduce_upsert.py http://127.0.0.1:19530
# It runs on the kit in vdb_repro/ beside it (the harness's own set-up, call, probe and comparison code;
# p(name) is one side's name of an object of the starting state). Exit code 1 while the clients
# diverge, 0 once they agree, 2 when the starting state cannot be built.
from vdb_repro.replay import main


def kwargs(p):
    return {
        'collection_name': p('coll'),
        'data': [{'id': 0, 'vec': [0.0, 0.0, 0.0, 0.0], 'sparse': {0: 1.0}, 'text': '', 'num': 0, 'score': 0.0, 'flag': False, 'meta': {'k': 0}, 'tags': []}],
    }


if __name__ == "__main__":
    main(kwargs, own_probes='read_back', method='upsert', needs=['collection'], category='data')
