# divergence: upsert
# server: *
# pymilvus: >2.5.3,<2.6.3
# proven: pymilvus 2.6.2 on Milvus Lite 3.2.2, 2026-12-06: exit 1 (pymilvus 2.6.2: the clients DIVERGE: result: keys differ: only sync ['primary_keys'], only async [])
# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 while the clients diverge, 0 once they agree)
"""Reproducer for a conformance divergence found by vdb-harness.

AsyncMilvusClient.upsert diverges from MilvusClient.upsert: result: keys differ: only sync ['primary_keys'], only async []

sync outcome:  {"ok": true, "value": {"__type__": "OmitZeroDict", "__value__": {"upsert_count": 1, "cost": "<int>", "primary_keys": {"__type__": "RepeatedScalarContainer", "__value__": [0]}}}, "error": null, "effects": {"0:query": {"__type__": "HybridExtraList", "__value__": [{"id": 0, "vec": [0.0, 0.0, 0.0, 0.0], "sparse": {"__type__": "dict", "__value__": [[0, 1.0]]}, "text": "", "num": 0, "score": 0.0, "flag": false, "meta": {"k": 0}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": []}, "opt": 7, "extra": "dyn0"}, {"id": 1, "vec": [0.6363636255264282, 0.6000000238418579, 0.0416666679084301, 0.9583333134651184], "sparse": {"__type__": "dict", "__value__": [[1, 1.100000023841858], [11, 0.5]]}, "text": "beta text 1", "num": 12, "score": 0.3333333333333333, "flag": false, "meta": {"k": 1, "name": "beta", "nested": {"v": 1}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [1, 2]}, "opt": 1, "extra": "dyn1"}, {"id": 2, "vec": [0.27272728085517883, 0.20000000298023224, 0.0833333358168602, 0.9166666865348816], "sparse": {"__type__": "dict", "__value__": [[2, 1.2000000476837158], [12, 0.5]]}, "text": "gamma random 2", "num": -1, "score": 0.6666666666666666, "flag": false, "meta": {"k": 2, "name": "gamma", "nested": {"v": 2}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [2]}, "opt": 2, "extra": "dyn2"}, {"id": 3, "vec": [0.9090909361839294, 0.800000011920929, 0.125, 0.875], "sparse": {"__type__": "dict", "__value__": [[3, 1.2999999523162842], [13, 0.5]]}
async outcome: {"ok": true, "value": {"__type__": "OmitZeroDict", "__value__": {"upsert_count": 1, "cost": "<int>"}}, "error": null, "effects": {"0:query": {"__type__": "HybridExtraList", "__value__": [{"id": 0, "vec": [0.0, 0.0, 0.0, 0.0], "sparse": {"__type__": "dict", "__value__": [[0, 1.0]]}, "text": "", "num": 0, "score": 0.0, "flag": false, "meta": {"k": 0}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": []}, "opt": 7, "extra": "dyn0"}, {"id": 1, "vec": [0.6363636255264282, 0.6000000238418579, 0.0416666679084301, 0.9583333134651184], "sparse": {"__type__": "dict", "__value__": [[1, 1.100000023841858], [11, 0.5]]}, "text": "beta text 1", "num": 12, "score": 0.3333333333333333, "flag": false, "meta": {"k": 1, "name": "beta", "nested": {"v": 1}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [1, 2]}, "opt": 1, "extra": "dyn1"}, {"id": 2, "vec": [0.27272728085517883, 0.20000000298023224, 0.0833333358168602, 0.9166666865348816], "sparse": {"__type__": "dict", "__value__": [[2, 1.2000000476837158], [12, 0.5]]}, "text": "gamma random 2", "num": -1, "score": 0.6666666666666666, "flag": false, "meta": {"k": 2, "name": "gamma", "nested": {"v": 2}}, "tags": {"__type__": "RepeatedScalarContainer", "__value__": [2]}, "opt": 2, "extra": "dyn2"}, {"id": 3, "vec": [0.9090909361839294, 0.800000011920929, 0.125, 0.875], "sparse": {"__type__": "dict", "__value__": [[3, 1.2999999523162842], [13, 0.5]]}, "text": "delta delta 3", "num": -14, "score": 1.0, "flag": true, "meta": 

Each side builds the same starting state, makes the call, then the harness's probes look at the server
and at the calling client's own state; the outcomes are compared as the suite compares them.
Exit code: 1 while the clients still diverge, 0 when they agree, 2 when the starting state cannot be built.
Needs only pymilvus. Run against a server you own:
    python reproduce_upsert.py http://127.0.0.1:19530
"""
import asyncio
import inspect
import itertools
import logging
import sys
import uuid
import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterable, Optional

import pymilvus
from pymilvus import AsyncMilvusClient, DataType, MilvusClient

URI = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:19530"
TIMEOUT = 30
#: How the harness compares this method's results, and the result keys it masks as server-generated.
MODE = 'EXACT'
VOLATILE = frozenset([])


def namer(prefix):
    """p(name): one side's name of a setup object (each side has its own prefix)."""
    return lambda name: prefix + name


def setup(client, p):
    """The starting state (collection) on one side; p(name) is that side's name of an object."""
    schema = MilvusClient.create_schema(description='conformance', auto_id=False, enable_dynamic_field=True)
    schema.add_field('id', DataType.INT64, is_primary=True)
    schema.add_field('vec', DataType.FLOAT_VECTOR, dim=4)
    schema.add_field('sparse', DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field('text', DataType.VARCHAR, max_length=64)
    schema.add_field('num', DataType.INT32)
    schema.add_field('score', DataType.DOUBLE)
    schema.add_field('flag', DataType.BOOL)
    schema.add_field('meta', DataType.JSON)
    schema.add_field('tags', DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    schema.add_field('opt', DataType.INT64, nullable=True, default_value=7)
    index_params = MilvusClient.prepare_index_params()
    index_params.add_index('vec', index_type='AUTOINDEX', index_name='vec_idx', metric_type='L2')
    index_params.add_index('sparse', index_type='SPARSE_INVERTED_INDEX', index_name='sparse_idx', metric_type='IP')
    client.create_collection(p('coll'), schema=schema, index_params=index_params, consistency_level='Strong', timeout=TIMEOUT)
    client.insert(p('coll'), [
        {'id': 0, 'vec': [0.0, 0.0, 0.0, 1.0], 'sparse': {0: 1.0, 10: 0.5}, 'text': 'alpha alpha 0', 'num': -25, 'score': 0.0, 'flag': True, 'meta': {'k': 0, 'name': 'alpha', 'nested': {'v': 0}}, 'tags': [0], 'opt': None, 'extra': 'dyn0'},
        {'id': 1, 'vec': [0.6363636363636364, 0.6, 0.041666666666666664, 0.9583333333333334], 'sparse': {1: 1.1, 11: 0.5}, 'text': 'beta text 1', 'num': 12, 'score': 0.3333333333333333, 'flag': False, 'meta': {'k': 1, 'name': 'beta', 'nested': {'v': 1}}, 'tags': [1, 2], 'opt': 1, 'extra': 'dyn1'},
        {'id': 2, 'vec': [0.2727272727272727, 0.2, 0.08333333333333333, 0.9166666666666666], 'sparse': {2: 1.2, 12: 0.5}, 'text': 'gamma random 2', 'num': -1, 'score': 0.6666666666666666, 'flag': False, 'meta': {'k': 2, 'name': 'gamma', 'nested': {'v': 2}}, 'tags': [2], 'opt': 2, 'extra': 'dyn2'},
        {'id': 3, 'vec': [0.9090909090909091, 0.8, 0.125, 0.875], 'sparse': {3: 1.3, 13: 0.5}, 'text': 'delta delta 3', 'num': -14, 'score': 1.0, 'flag': True, 'meta': {'k': 3, 'name': 'alpha', 'nested': {'v': 3}}, 'tags': [3, 4], 'opt': 3, 'extra': 'dyn0'},
        {'id': 4, 'vec': [0.5454545454545454, 0.4, 0.16666666666666666, 0.8333333333333334], 'sparse': {4: 1.4, 14: 0.5}, 'text': 'random gamma 4', 'num': 23, 'score': 1.3333333333333333, 'flag': False, 'meta': {'k': 0, 'name': 'beta', 'nested': {'v': 4}}, 'tags': [4], 'opt': None, 'extra': 'dyn1'},
        {'id': 5, 'vec': [0.18181818181818182, 0.0, 0.20833333333333334, 0.7916666666666666], 'sparse': {5: 1.5, 10: 0.5}, 'text': 'text beta 5', 'num': 10, 'score': 1.6666666666666667, 'flag': False, 'meta': {'k': 1, 'name': 'gamma', 'nested': {'v': 5}}, 'tags': [0, 1], 'opt': 5, 'extra': 'dyn2'},
        {'id': 6, 'vec': [0.8181818181818182, 0.6, 0.25, 0.75], 'sparse': {6: 1.6, 11: 0.5}, 'text': 'alpha alpha 6', 'num': -3, 'score': 2.0, 'flag': True, 'meta': {'k': 2, 'name': 'alpha', 'nested': {'v': 6}}, 'tags': [1], 'opt': 6, 'extra': 'dyn0'},
        {'id': 7, 'vec': [0.45454545454545453, 0.2, 0.2916666666666667, 0.7083333333333333], 'sparse': {7: 1.7, 12: 0.5}, 'text': 'beta text 7', 'num': -16, 'score': 2.3333333333333335, 'flag': False, 'meta': {'k': 3, 'name': 'beta', 'nested': {'v': 7}}, 'tags': [2, 3], 'opt': 7, 'extra': 'dyn1'},
        {'id': 8, 'vec': [0.09090909090909091, 0.8, 0.3333333333333333, 0.6666666666666667], 'sparse': {8: 1.8, 13: 0.5}, 'text': 'gamma random 8', 'num': 21, 'score': 2.6666666666666665, 'flag': False, 'meta': {'k': 0, 'name': 'gamma', 'nested': {'v': 8}}, 'tags': [3], 'opt': None, 'extra': 'dyn2'},
        {'id': 9, 'vec': [0.7272727272727273, 0.4, 0.375, 0.625], 'sparse': {0: 1.9, 14: 0.5}, 'text': 'delta delta 9', 'num': 8, 'score': 3.0, 'flag': True, 'meta': {'k': 1, 'name': 'alpha', 'nested': {'v': 9}}, 'tags': [4, 0], 'opt': 9, 'extra': 'dyn0'},
        {'id': 10, 'vec': [0.36363636363636365, 0.0, 0.4166666666666667, 0.5833333333333333], 'sparse': {1: 2.0, 10: 0.5}, 'text': 'random gamma 10', 'num': -5, 'score': 3.3333333333333335, 'flag': False, 'meta': {'k': 2, 'name': 'beta', 'nested': {'v': 10}}, 'tags': [0], 'opt': 10, 'extra': 'dyn1'},
        {'id': 11, 'vec': [0.0, 0.6, 0.4583333333333333, 0.5416666666666667], 'sparse': {2: 2.1, 11: 0.5}, 'text': 'text beta 11', 'num': -18, 'score': 3.6666666666666665, 'flag': False, 'meta': {'k': 3, 'name': 'gamma', 'nested': {'v': 11}}, 'tags': [1, 2], 'opt': 11, 'extra': 'dyn2'},
        {'id': 12, 'vec': [0.6363636363636364, 0.2, 0.5, 0.5], 'sparse': {3: 2.2, 12: 0.5}, 'text': 'alpha alpha 12', 'num': 19, 'score': 4.0, 'flag': True, 'meta': {'k': 0, 'name': 'alpha', 'nested': {'v': 12}}, 'tags': [2], 'opt': None, 'extra': 'dyn0'},
        {'id': 13, 'vec': [0.2727272727272727, 0.8, 0.5416666666666666, 0.45833333333333337], 'sparse': {4: 2.3, 13: 0.5}, 'text': 'beta text 13', 'num': 6, 'score': 4.333333333333333, 'flag': False, 'meta': {'k': 1, 'name': 'beta', 'nested': {'v': 13}}, 'tags': [3, 4], 'opt': 13, 'extra': 'dyn1'},
        {'id': 14, 'vec': [0.9090909090909091, 0.4, 0.5833333333333334, 0.41666666666666663], 'sparse': {5: 2.4, 14: 0.5}, 'text': 'gamma random 14', 'num': -7, 'score': 4.666666666666667, 'flag': False, 'meta': {'k': 2, 'name': 'gamma', 'nested': {'v': 14}}, 'tags': [4], 'opt': 14, 'extra': 'dyn2'},
        {'id': 15, 'vec': [0.5454545454545454, 0.0, 0.625, 0.375], 'sparse': {6: 2.5, 10: 0.5}, 'text': 'delta delta 15', 'num': -20, 'score': 5.0, 'flag': True, 'meta': {'k': 3, 'name': 'alpha', 'nested': {'v': 15}}, 'tags': [0, 1], 'opt': 15, 'extra': 'dyn0'},
        {'id': 16, 'vec': [0.18181818181818182, 0.6, 0.6666666666666666, 0.33333333333333337], 'sparse': {7: 2.6, 11: 0.5}, 'text': 'random gamma 16', 'num': 17, 'score': 5.333333333333333, 'flag': False, 'meta': {'k': 0, 'name': 'beta', 'nested': {'v': 16}}, 'tags': [1], 'opt': None, 'extra': 'dyn1'},
        {'id': 17, 'vec': [0.8181818181818182, 0.2, 0.7083333333333334, 0.29166666666666663], 'sparse': {8: 2.7, 12: 0.5}, 'text': 'text beta 17', 'num': 4, 'score': 5.666666666666667, 'flag': False, 'meta': {'k': 1, 'name': 'gamma', 'nested': {'v': 17}}, 'tags': [2, 3], 'opt': 17, 'extra': 'dyn2'},
        {'id': 18, 'vec': [0.45454545454545453, 0.8, 0.75, 0.25], 'sparse': {0: 2.8, 13: 0.5}, 'text': 'alpha alpha 18', 'num': -9, 'score': 6.0, 'flag': True, 'meta': {'k': 2, 'name': 'alpha', 'nested': {'v': 18}}, 'tags': [3], 'opt': 18, 'extra': 'dyn0'},
        {'id': 19, 'vec': [0.09090909090909091, 0.4, 0.7916666666666666, 0.20833333333333337], 'sparse': {1: 2.9, 14: 0.5}, 'text': 'beta text 19', 'num': -22, 'score': 6.333333333333333, 'flag': False, 'meta': {'k': 3, 'name': 'beta', 'nested': {'v': 19}}, 'tags': [4, 0], 'opt': 19, 'extra': 'dyn1'},
        {'id': 20, 'vec': [0.7272727272727273, 0.0, 0.8333333333333334, 0.16666666666666663], 'sparse': {2: 3.0, 10: 0.5}, 'text': 'gamma random 20', 'num': 15, 'score': 6.666666666666667, 'flag': False, 'meta': {'k': 0, 'name': 'gamma', 'nested': {'v': 20}}, 'tags': [0], 'opt': None, 'extra': 'dyn2'},
        {'id': 21, 'vec': [0.36363636363636365, 0.6, 0.875, 0.125], 'sparse': {3: 3.1, 11: 0.5}, 'text': 'delta delta 21', 'num': 2, 'score': 7.0, 'flag': True, 'meta': {'k': 1, 'name': 'alpha', 'nested': {'v': 21}}, 'tags': [1, 2], 'opt': 21, 'extra': 'dyn0'},
        {'id': 22, 'vec': [0.0, 0.2, 0.9166666666666666, 0.08333333333333337], 'sparse': {4: 3.2, 12: 0.5}, 'text': 'random gamma 22', 'num': -11, 'score': 7.333333333333333, 'flag': False, 'meta': {'k': 2, 'name': 'beta', 'nested': {'v': 22}}, 'tags': [2], 'opt': 22, 'extra': 'dyn1'},
        {'id': 23, 'vec': [0.6363636363636364, 0.8, 0.9583333333333334, 0.04166666666666663], 'sparse': {5: 3.3, 13: 0.5}, 'text': 'text beta 23', 'num': -24, 'score': 7.666666666666667, 'flag': False, 'meta': {'k': 3, 'name': 'gamma', 'nested': {'v': 23}}, 'tags': [3, 4], 'opt': 23, 'extra': 'dyn2'},
    ], timeout=TIMEOUT)
    client.load_collection(p('coll'), timeout=TIMEOUT)


def kwargs(p):
    """The exact keyword arguments; p(name) is this side's name of a setup object."""
    return {
        'collection_name': p('coll'),
        'data': [{'id': 0, 'vec': [0.0, 0.0, 0.0, 0.0], 'sparse': {0: 1.0}, 'text': '', 'num': 0, 'score': 0.0, 'flag': False, 'meta': {'k': 0}, 'tags': []}],
    }


def probes(p):
    """What the harness looks at on the server after the call, on the same side: (method, arguments)."""
    return [
        ('query', {'collection_name': p('coll'), 'filter': 'id >= 0', 'output_fields': ['*'], 'limit': 200}),
        ('get_collection_stats', {'collection_name': p('coll')}),
        ('describe_collection', {'collection_name': p('coll')}),
        ('list_partitions', {'collection_name': p('coll')}),
        ('list_indexes', {'collection_name': p('coll')}),
        ('get_load_state', {'collection_name': p('coll')}),
        ('query', {'collection_name': p('coll'), 'filter': '', 'output_fields': ['count(*)']}),
        ('list_collections', {}),
        ('list_databases', {}),
    ]


def client_probes(p):
    """What the harness asks the calling client itself after the call (where its next call lands): (method, arguments)."""
    return [('list_collections', {})]


def own_client(cls):
    """A new client with a connection of its own (as the harness makes them), so closing it leaves the others
    connected: pymilvus 3 pools connections unless dedicated=True; older releases share one per alias."""
    try:
        import pymilvus.client.connection_manager  # noqa: F401 - present from pymilvus 3.0 on
        isolation = {"dedicated": True}
    except ImportError:
        isolation = {"alias": f"repro-{uuid.uuid4().hex[:8]}"}
    return cls(uri=URI, timeout=TIMEOUT, **isolation)


def seen(value, prefix):
    """A returned value as the harness compares it: plain data, other sides' names left out, names masked."""
    return mask(only_own(plain(value), (prefix,)), (prefix,), VOLATILE)


def server_probes(admin, p, prefix):
    """What the server shows after the call, through the admin client (the harness's probes, in its order)."""
    effects = {}
    for i, (name, arguments) in enumerate(probes(p)):
        try:
            effects[f"{i}:{name}"] = seen(getattr(admin, name)(**arguments, timeout=TIMEOUT), prefix)
        except Exception as exc:
            effects[f"{i}:{name}"] = {"error": error_record(exc, (prefix,))}
    return effects


def sync_side(admin, p):
    """The call through MilvusClient, then the probes: server state through admin, the client's own through it."""
    prefix = p("")
    sync = admin
    try:
        try:
            result = sync.upsert(**kwargs(p), timeout=TIMEOUT)
            if inspect.isgenerator(result):  # a stream: its first 100 items
                result = list(itertools.islice(result, 100))
            ok, value, error = True, seen(result, prefix), None
        except Exception as exc:
            ok, value, error = False, None, error_record(exc, (prefix,))
        effects = server_probes(admin, p, prefix)
        for name, arguments in client_probes(p):
            try:
                effects[f"client:{name}"] = seen(getattr(sync, name)(**arguments, timeout=TIMEOUT), prefix)
            except Exception as exc:
                effects[f"client:{name}"] = {"error": error_record(exc, (prefix,))}
        return Outcome(ok, value, error, effects)
    finally:
        pass

async def async_side(admin, p):
    """The same call through a new AsyncMilvusClient, then the same probes (the client's own through it)."""
    prefix = p("")
    client = own_client(AsyncMilvusClient)
    try:
        try:
            result = client.upsert(**kwargs(p), timeout=TIMEOUT)
            if inspect.isawaitable(result):
                result = await result
            if inspect.isasyncgen(result):  # a stream: its first 100 items
                items = []
                async for item in result:
                    items.append(item)
                    if len(items) == 100:
                        break
                result = items
            ok, value, error = True, seen(result, prefix), None
        except Exception as exc:
            ok, value, error = False, None, error_record(exc, (prefix,))
        effects = server_probes(admin, p, prefix)
        for name, arguments in client_probes(p):
            try:
                answer = getattr(client, name)(**arguments, timeout=TIMEOUT)
                effects[f"client:{name}"] = seen(await answer if inspect.isawaitable(answer) else answer, prefix)
            except Exception as exc:
                effects[f"client:{name}"] = {"error": error_record(exc, (prefix,))}
        return Outcome(ok, value, error, effects)
    finally:
        try:
            await client.close()
        except Exception:  # already closed (when the call under test is close itself)
            pass


def cleanup(client, prefixes):
    """Drop every object whose name contains one of prefixes (best effort: errors are ignored)."""
    def quietly(action, *args, **kwargs):
        try:
            return action(*args, **kwargs)
        except Exception:
            return None

    def ours(name):
        return any(prefix in str(name) for prefix in prefixes)

    log = logging.getLogger("pymilvus")
    level = log.level
    log.setLevel(logging.CRITICAL)  # calls failing here are expected (a server without RBAC): no tracebacks
    t = {"timeout": TIMEOUT}
    for name in filter(ours, quietly(client.list_collections, **t) or []):
        listed = quietly(client.list_aliases, name, **t)
        for alias in listed.get("aliases", []) if isinstance(listed, dict) else []:
            quietly(client.drop_alias, alias, **t)
        quietly(client.drop_collection, name, **t)
    for name in filter(ours, quietly(client.list_databases, **t) or []):
        quietly(client.drop_database, name, **t)
    for name in filter(ours, quietly(client.list_users, **t) or []):
        quietly(client.drop_user, name, **t)
    for name in filter(ours, quietly(client.list_roles, **t) or []):
        quietly(client.drop_role, name, force_drop=True, **t)
    for group in quietly(client.list_privilege_groups, **t) or []:
        name = group.get("privilege_group", "") if isinstance(group, dict) else str(group)
        if ours(name):
            quietly(client.drop_privilege_group, name, **t)
    for name in filter(ours, quietly(client.list_resource_groups, **t) or []):
        quietly(client.drop_resource_group, name, **t)
    log.setLevel(level)


# ---- How vdb-harness judges the two outcomes: its conformance/normalize.py and conformance/compare.py,
# ---- copied unchanged, so this script decides exactly as the suite did.

PREFIX_RE = 'cf[0-9a-f]+x[0-9a-f]+[sa]_'


class Compare(str, Enum):
    """How two normalised results are compared."""

    EXACT = 'exact'
    RANKED = 'ranked'
    UNORDERED = 'unordered'
    STRUCTURAL = 'structural'


import math
import re
from enum import Enum
from typing import Any, Iterable, Optional


#: Result keys whose values the server generates; masked to their type.
VOLATILE_KEYS = frozenset({
    "collection_id", "created_timestamp", "update_timestamp", "created_utc_timestamp", "timestamp", "ts",
    "session_ts", "recovery_time", "db_id", "database_id", "created_time", "create_time", "compaction_id",
    "planID", "plan_id", "segment_id", "segmentID", "collectionID", "partition_id", "partitionID", "replica_id",
    "job_id", "id_", "field_id", "fieldID", "function_id", "index_id", "pending_index_rows", "indexed_rows",
    "total_rows", "num_partitions_created", "recv_time", "cost",
    # the read timestamp the server picked for a query (ExtraList.extra): a timestamp like session_ts
    "iterator_session_ts",
    # per-call resource metrics in a result's ``extra`` (they change as caches warm between the two calls)
    "scanned_remote_bytes", "scanned_total_bytes", "cache_hit_ratio",
})
_LONG_NUMBER = re.compile(r"\b\d{9,}\b")
_HEX = re.compile(r"\b[0-9a-f]{16,}\b")
_ADDRESS = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b")


#: Keys of a tagged value: ``{"__type__": name, "__value__": payload, "__attrs__": {...}}`` stands for an object
#: that plain JSON cannot show as it is: a list/dict subclass (SearchResult, HybridHits, Hit, ExtraList,
#: OmitZeroDict, ...) with its public attributes, a tuple or set, a numpy value with its dtype, bytes, a dict with
#: non-string keys, a non-finite float. Plain ``list``/``dict``/``int``/``float``/``str``/``bool``/``None`` stay as
#: they are, so the type a caller sees is part of the value.
TYPE, VALUE, ATTRS = "__type__", "__value__", "__attrs__"


def tagged(type_name: str, payload: Any, attrs: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A tagged value: a type name, its payload as plain data and (if any) its public attributes."""
    out: dict[str, Any] = {TYPE: type_name, VALUE: payload}
    if attrs:
        out[ATTRS] = attrs
    return out


def is_tagged(value: Any) -> bool:
    """True when ``value`` is a tagged value made by :func:`tagged`."""
    return isinstance(value, dict) and TYPE in value and VALUE in value and set(value) <= {TYPE, VALUE, ATTRS}


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` as comparable plain data that keeps what a caller can observe: builtin scalars, lists and
    str-keyed dicts as they are; every other container or scalar type as a :func:`tagged` value (type name with
    the Async prefix of mirror classes removed, payload, public non-callable instance attributes); objects as
    ``{"__type__": name, **fields}``."""
    if _depth > 40:
        return repr(value)
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else tagged("float", repr(value))
    if isinstance(value, Enum):
        return f"{kind.__name__}.{value.name}"
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalars and arrays keep their dtype
        name = "numpy.ndarray" if hasattr(value, "shape") and getattr(value, "ndim", 0) else f"numpy.{kind.__name__}"
        return tagged(name, plain(value.tolist(), _depth + 1), {"dtype": str(value.dtype)})
    if isinstance(value, (bytes, bytearray, memoryview)):
        return tagged(kind.__name__, bytes(value).hex())
    if isinstance(value, (int, float, str)):  # subclasses of the builtins (not Enum, not numpy)
        base = next(b for b in (bool, int, float, str) if isinstance(value, b))
        return tagged(_type_name(value), plain(base(value), _depth + 1), _attributes(value, _depth))
    if hasattr(value, "tocsr") and hasattr(value, "nnz"):  # scipy sparse
        csr = value.tocsr()
        return tagged(_type_name(value), [[int(i), float(v)] for i, v in zip(csr.indices, csr.data)],
                      {"shape": list(csr.shape)})
    if isinstance(value, dict):
        payload = _dict_payload(value, _depth)
        if kind is dict:
            return payload if isinstance(payload, dict) else tagged("dict", payload)
        return tagged(_type_name(value), payload, _attributes(value, _depth))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v, _depth + 1) for v in value]  # iterate first: lazy containers materialise on iteration
        if isinstance(value, (set, frozenset)):
            items = sorted(items, key=repr)
        if kind is list:
            return items
        return tagged(_type_name(value), items, _attributes(value, _depth))
    if hasattr(value, "to_dict") and callable(value.to_dict):  # CollectionSchema, FieldSchema, Function, ...
        try:
            return {TYPE: _type_name(value), **plain(value.to_dict(), _depth + 1)}
        except Exception:  # noqa: BLE001 - some to_dict() need server state; fall through
            pass
    if hasattr(value, "DESCRIPTOR") and hasattr(value, "ListFields"):  # protobuf messages
        from google.protobuf.json_format import MessageToDict

        return {TYPE: type(value).__name__, **plain(MessageToDict(value), _depth + 1)}
    if _is_sequence(value):  # protobuf repeated fields and other sequences
        return tagged(_type_name(value), [plain(v, _depth + 1) for v in value])
    fields = _attributes(value, _depth, properties=True)
    if fields or getattr(value, "__dict__", None):
        return {TYPE: _type_name(value), **fields}
    return f"<{_type_name(value)}>"


def _dict_payload(value: dict, depth: int) -> Any:
    """A dict's items: a str-keyed dict, or ``[[key, value], ...]`` when a key is not a str (sparse vectors)."""
    if all(type(k) is str for k in value):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    return [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in value.items()]


def _attributes(value: Any, depth: int, properties: bool = False) -> dict[str, Any]:
    """Public, non-callable instance attributes of ``value`` as plain data (and public properties of its class
    when ``properties``: objects such as DatabaseInfo expose their data that way)."""
    found = {k: v for k, v in getattr(value, "__dict__", {}).items() if not k.startswith("_") and not callable(v)}
    if properties:
        for cls in type(value).__mro__:
            for name, member in vars(cls).items():
                if isinstance(member, property) and not name.startswith("_") and name not in found:
                    try:
                        found[name] = getattr(value, name)
                    except Exception:  # noqa: BLE001 - a property that cannot be read is not observable data
                        continue
    return {k: plain(v, depth + 1) for k, v in sorted(found.items()) if not callable(v)}


def _type_name(value: Any) -> str:
    """The class name, with the Async prefix of the async mirror classes removed (AsyncMilvusClientSession)."""
    name = type(value).__name__
    return name[len("Async"):] if name.startswith("Async") and len(name) > 5 else name


def _is_sequence(value: Any) -> bool:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
        return False
    return hasattr(value, "__iter__") or hasattr(value, "__getitem__")  # protobuf repeated fields lack __iter__


def mask_text(text: str, prefixes: Iterable[str] = ()) -> str:
    """``text`` with side prefixes, long numbers (ids, timestamps), hex ids and addresses replaced."""
    for prefix in prefixes:
        text = text.replace(prefix, "<ns>_")
    text = re.sub(PREFIX_RE, "<other>_", text)
    text = _ADDRESS.sub("<addr>", text)
    text = _LONG_NUMBER.sub("<n>", text)
    return _HEX.sub("<hex>", text)


def mask(value: Any, prefixes: Iterable[str] = (), volatile: Iterable[str] = ()) -> Any:
    """Plain ``value`` with name prefixes masked and volatile keys replaced by their type."""
    prefixes = tuple(prefixes)
    keys = VOLATILE_KEYS | frozenset(volatile)
    if isinstance(value, str):
        return mask_text(value, prefixes)
    if isinstance(value, dict):
        return {mask_text(k, prefixes): (f"<{type(v).__name__}>" if k in keys else mask(v, prefixes, keys))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, prefixes, keys) for v in value]
    return value


def only_own(value: Any, prefixes: Iterable[str]) -> Any:
    """A list of names without the names of other examples/sides (a shared server lists everyone's objects), in
    a canonical order: where the suite's per-side names occur, their order relative to other names depends on the
    names themselves, which differ between the sides. A list of strings without such names keeps its order."""
    prefixes = tuple(prefixes)
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and \
            any(re.search(PREFIX_RE, v) for v in value):
        return sorted(v for v in value if not re.search(PREFIX_RE, v) or any(p in v for p in prefixes))
    return value


def error_record(exc: BaseException, prefixes: Iterable[str] = ()) -> dict[str, Any]:
    """An exception as {class, code, message}: what must be equal when both clients raise."""
    code = getattr(exc, "code", None)
    if callable(code):  # grpc.RpcError
        try:
            code = code().name
        except Exception:  # noqa: BLE001
            code = None
    message = getattr(exc, "message", None)
    if callable(getattr(exc, "details", None)):  # grpc.RpcError: the status details (maybe empty), not its repr
        try:
            message = exc.details()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            message = None
    message = str(exc) if message is None else str(message)
    import grpc

    # grpc's sync and aio stacks raise different RpcError subclasses for the same status: compare the status
    cls = "grpc.RpcError" if isinstance(exc, grpc.RpcError) else type(exc).__name__
    return {"class": cls, "code": plain(code), "message": mask_text(message.strip(), prefixes)}


import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional


REL_TOL = 1e-5
ABS_TOL = 1e-6

#: A predicate on a difference path: True where the value is computed (compared within the tolerance).
Computed = Callable[[str], bool]

#: The hit keys that hold a computed score in search results (``Hit``: ``{pk, "distance", "entity", ...}``).
SCORE_KEYS = ("distance", "score")
#: Paths of a search result (Compare.RANKED) whose values the server computes: each hit's score, the score list
#: of a hits container (``HybridHits.distances``) and the result's ``recalls``. Nothing under ``entity`` is:
#: a field named ``score`` there is data and compares exactly.
RANKED_COMPUTED = (r"\[\d+\]\[\d+\]\.(distance|score)", r"\[\d+\]@distances\[\d+\]", r"@recalls\[\d+\]")


def computed_paths(patterns: Iterable[str]) -> Computed:
    """A :data:`Computed` predicate true for paths that fully match one of the regular expressions."""
    compiled = [re.compile(p) for p in patterns]
    return lambda path: any(c.fullmatch(path) for c in compiled)


EXACT_EVERYWHERE: Computed = lambda path: False  # noqa: E731
RANKED_SCORES: Computed = computed_paths(RANKED_COMPUTED)


@dataclass(frozen=True)
class Outcome:
    """What one call did on one side: a normalised value, or a normalised error."""

    ok: bool
    value: Any = None
    error: Optional[dict[str, Any]] = None
    effects: Any = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for reports and reproducers."""
        return {"ok": self.ok, "value": self.value, "error": self.error, "effects": self.effects}


def kind(value: Any) -> str:
    """The type a caller sees for a normalised value: the tag of a tagged value, else the builtin type's name."""
    return value[TYPE] if is_tagged(value) else type(value).__name__


def close(x: float, y: float) -> bool:
    """True when two computed values agree within the tolerance."""
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def first_difference(x: Any, y: Any, path: str = "", *, computed: Optional[Computed] = None) -> Optional[str]:
    """Where two normalised values first differ, or None when equal. Exact: types must match (``1 != 1.0``,
    ``True != 1``, a tagged ``ExtraList`` != a plain list), floats compare bit for bit, except at paths where
    ``computed`` is true, where numbers agree within a relative tolerance."""
    here = path or "result"
    is_computed = computed or EXACT_EVERYWHERE
    if kind(x) != kind(y):
        return f"{here}: type {kind(x)} != {kind(y)} ({x!r:.120} != {y!r:.120})"
    if is_tagged(x) != is_tagged(y):  # a dict with non-str keys (tagged) against one with str keys
        return f"{here}: {x!r:.200} != {y!r:.200}"
    if is_tagged(x):
        diff = _attrs_difference(x.get(ATTRS, {}), y.get(ATTRS, {}), path, computed)
        return diff or first_difference(x[VALUE], y[VALUE], path, computed=computed)
    if isinstance(x, float):
        if x == y or (is_computed(path) and close(x, y)):
            return None
        return f"{here}: {x!r} != {y!r}"
    if isinstance(x, dict):
        if list(x) != list(y):
            if set(x) != set(y):
                return (f"{here}: keys differ: only sync {sorted(set(x) - set(y))}, "
                        f"only async {sorted(set(y) - set(x))}")
            return f"{here}: key order differs: {list(x)} != {list(y)}"
        for key in x:
            diff = first_difference(x[key], y[key], f"{path}.{key}", computed=computed)
            if diff:
                return diff
        return None
    if isinstance(x, list):
        if len(x) != len(y):
            return f"{here}: length {len(x)} != {len(y)}"
        for i, (a, b) in enumerate(zip(x, y)):
            diff = first_difference(a, b, f"{path}[{i}]", computed=computed)
            if diff:
                return diff
        return None
    return None if x == y else f"{here}: {x!r:.200} != {y!r:.200}"


def _attrs_difference(ax: dict[str, Any], ay: dict[str, Any], path: str, computed: Optional[Computed],
                      loose: Iterable[str] = ()) -> Optional[str]:
    """The first difference between the attributes of two tagged values (paths ``...@name``); attributes named in
    ``loose`` are compared by type and length only."""
    if set(ax) != set(ay):
        return (f"{path or 'result'}: attributes differ: only sync {sorted(set(ax) - set(ay))}, "
                f"only async {sorted(set(ay) - set(ax))}")
    for name in ax:
        where = f"{path}@{name}"
        if name in loose:
            diff = first_difference(structure(ax[name]), structure(ay[name]), where)
            if not diff and isinstance(ax[name], list) and len(ax[name]) != len(ay[name]):
                diff = f"{where}: length {len(ax[name])} != {len(ay[name])}"
        else:
            diff = first_difference(ax[name], ay[name], where, computed=computed)
        if diff:
            return diff
    return None


def structure(value: Any) -> Any:
    """The shape of ``value``: containers and type tags kept, every other leaf replaced by its type name."""
    if is_tagged(value):
        out = {TYPE: value[TYPE], VALUE: structure(value[VALUE])}
        if ATTRS in value:
            out[ATTRS] = {k: structure(v) for k, v in value[ATTRS].items()}
        return out
    if isinstance(value, dict):
        return {k: structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [structure(v) for v in value]
    return type(value).__name__


def _unwrap(value: Any) -> Any:
    return value[VALUE] if is_tagged(value) else value


def _score(hit: Any) -> float:
    body = _unwrap(hit)
    if isinstance(body, dict):
        for key in SCORE_KEYS:
            if isinstance(body.get(key), (int, float)) and not isinstance(body.get(key), bool):
                return float(body[key])
    return 0.0


def _identity(hit: Any) -> str:
    """What makes a hit the same hit: every top-level key but the score and the entity (the primary key, and
    ``offset`` / ``highlight`` where present)."""
    body = _unwrap(hit)
    if not isinstance(body, dict):
        return repr(body)
    return repr({k: v for k, v in body.items() if k not in SCORE_KEYS and k != "entity"})


def _tie_groups(hits: list[Any]) -> list[list[int]]:
    """Indexes of consecutive hits whose scores are equal within the tolerance."""
    groups: list[list[int]] = []
    for i, hit in enumerate(hits):
        if groups and close(_score(hits[groups[-1][0]]), _score(hit)):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _is_hits_result(value: Any) -> bool:
    queries = _unwrap(value)
    return isinstance(queries, list) and all(isinstance(_unwrap(q), list) for q in queries)


def _hit_difference(a: Any, b: Any, where: str) -> Optional[str]:
    """Two hits with the same identity: equal in every key and the entity, the score within the tolerance."""
    if kind(a) != kind(b):
        return f"{where}: type {kind(a)} != {kind(b)}"
    diff = _attrs_difference((a.get(ATTRS, {}) if is_tagged(a) else {}), (b.get(ATTRS, {}) if is_tagged(b) else {}),
                             where, None)
    if diff:
        return diff
    return first_difference(_unwrap(a), _unwrap(b), where,
                            computed=lambda p: p.startswith(where + ".") and p[len(where) + 1:] in SCORE_KEYS)


def _query_difference(hx: list[Any], hy: list[Any], where: str) -> Optional[str]:
    """One query's hits: the same scores rank by rank; the same hits (id and entity) in every tie group but the
    one tied with the last kept hit, where the two sides may have cut the tie differently; order inside a tie
    group is free."""
    if len(hx) != len(hy):
        return f"{where}: {len(hx)} != {len(hy)} hits"
    for i, (a, b) in enumerate(zip(hx, hy)):
        if not close(_score(a), _score(b)):
            return f"{where}[{i}]: scores differ: {_score(a)!r} != {_score(b)!r} (ids {_identity(a)} / {_identity(b)})"
    groups = _tie_groups(hx)
    for gi, group in enumerate(groups):
        last = gi == len(groups) - 1
        ga: dict[str, list[Any]] = {}
        gb: dict[str, list[Any]] = {}
        for i in group:
            ga.setdefault(_identity(hx[i]), []).append(hx[i])
            gb.setdefault(_identity(hy[i]), []).append(hy[i])
        if not last and sorted((k, len(v)) for k, v in ga.items()) != sorted((k, len(v)) for k, v in gb.items()):
            return (f"{where}[{group[0]}:{group[-1] + 1}]: hits differ (not a cut through the last tie): "
                    f"sync {sorted(ga)} vs async {sorted(gb)}")
        for key in set(ga) & set(gb):
            xs, ys = sorted(ga[key], key=repr), sorted(gb[key], key=repr)
            for a, b in zip(xs, ys):
                diff = _hit_difference(a, b, f"{where}<{key}>")
                if diff:
                    return diff
    return None


def ranking_difference(x: Any, y: Any, path: str = "") -> Optional[str]:
    """Search results compared as a caller sees them: the result and hits containers' types and attributes
    (``recalls`` and ``distances`` within the tolerance), then per query the hits, tie-aware (see
    :func:`_query_difference`). A value that is not a list of hit lists is compared exactly (with the score
    paths of :data:`RANKED_COMPUTED` computed)."""
    if not (_is_hits_result(x) and _is_hits_result(y)) or kind(x) != kind(y):
        return first_difference(x, y, path, computed=RANKED_SCORES)
    diff = _attrs_difference(x.get(ATTRS, {}) if is_tagged(x) else {}, y.get(ATTRS, {}) if is_tagged(y) else {},
                             path, RANKED_SCORES)
    if diff:
        return diff
    qx, qy = _unwrap(x), _unwrap(y)
    if len(qx) != len(qy):
        return f"{path or 'result'}: {len(qx)} != {len(qy)} queries"
    identical = all([_identity(h) for h in _unwrap(a)] == [_identity(h) for h in _unwrap(b)] for a, b in zip(qx, qy))
    for qi, (a, b) in enumerate(zip(qx, qy)):
        where = f"{path}[{qi}]"
        if kind(a) != kind(b):
            return f"{where}: type {kind(a)} != {kind(b)}"
        diff = _query_difference(_unwrap(a), _unwrap(b), where)
        if diff:
            return diff
        # the hits containers' attributes: exact when both sides kept the same hits in the same order; after a
        # legitimate cut through a tie, the lists that run parallel to the hits (ids, distances, the fields' data)
        # can only be compared by shape
        attrs_a = a.get(ATTRS, {}) if is_tagged(a) else {}
        attrs_b = b.get(ATTRS, {}) if is_tagged(b) else {}
        loose = () if identical else [k for k, v in attrs_a.items() if isinstance(v, list)]
        diff = _attrs_difference(attrs_a, attrs_b, where, RANKED_SCORES, loose)
        if diff:
            return diff
    return None


def _as_multiset(value: Any) -> Any:
    """A list (or tagged list) with its items in a canonical order."""
    if is_tagged(value) and isinstance(value[VALUE], list):
        return {**value, VALUE: sorted(value[VALUE], key=repr)}
    return sorted(value, key=repr) if isinstance(value, list) else value


def difference(mode: Compare, sync: Outcome, asyn: Outcome) -> Optional[str]:
    """Why the async outcome does not match the sync one (None when they conform)."""
    if sync.ok != asyn.ok:
        if sync.ok:
            return f"sync returned a value, async raised {asyn.error}"
        return f"sync raised {sync.error}, async returned {asyn.value!r:.300}"
    if not sync.ok:
        diff = first_difference(sync.error, asyn.error, "error")
        if diff:
            return diff
    elif mode is Compare.RANKED:
        diff = ranking_difference(sync.value, asyn.value)
        if diff:
            return diff
    elif mode is Compare.UNORDERED:
        diff = first_difference(_as_multiset(sync.value), _as_multiset(asyn.value))
        if diff:
            return diff
    elif mode is Compare.STRUCTURAL:
        diff = first_difference(structure(sync.value), structure(asyn.value))
        if diff:
            return f"structure differs: {diff}"
    else:
        diff = first_difference(sync.value, asyn.value)
        if diff:
            return diff
    diff = first_difference(sync.effects, asyn.effects, "side effects")
    return diff


MODE = Compare[MODE]


def show(side, outcome):
    """Print one side's outcome and what the probes saw."""
    print(f"{side} returned:" if outcome.ok else f"{side} raised:",
          repr(outcome.value if outcome.ok else outcome.error)[:2000])
    for key, value in outcome.effects.items():
        print(f"  {side} after the call, {key}:", repr(value)[:600])


def main():
    """Build the starting state once per side, call through each client, probe, compare; exit 1 on a divergence."""
    stem = f"cf{uuid.uuid4().hex[:6]}x1"
    p_sync, p_async = namer(stem + "s_"), namer(stem + "a_")
    admin = own_client(MilvusClient)  # builds, probes, cleans up
    try:
        try:
            setup(admin, p_sync)
            setup(admin, p_async)
        except Exception as exc:
            print("the starting state could not be built:", type(exc).__name__, exc)
            return 2
        sync = sync_side(admin, p_sync)
        show("sync", sync)
        asyn = asyncio.run(async_side(admin, p_async))
        show("async", asyn)
    finally:
        cleanup(admin, [p_sync(""), p_async("")])
        try:
            admin.close()
        except Exception:
            pass
    why = difference(MODE, sync, asyn)
    print("pymilvus", pymilvus.__version__ + ":", f"the clients DIVERGE: {why}" if why else "the clients agree")
    return 1 if why else 0


if __name__ == "__main__":
    sys.exit(main())
