"""Collections: create/drop/describe/list/rename/properties/fields/functions, and the client-local factories."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conformance.registry import Compare, Need, fixed, spec
from conformance.schemas import schema_plans, lazy_schema
from conformance.strategies import bad_names, fresh_names
from conformance.world import Lazy, Ref

C = Ref("coll")
COLL = "collection"


@spec("create_collection", COLL, mutates=True, weight=1.5,
      probe=lambda: [("describe_collection", {"collection_name": Ref("new")}), ("list_collections", {}),
                     ("get_load_state", {"collection_name": Ref("new")}), ("list_indexes", {"collection_name": Ref("new")})],
      # the quick setup, always: the most common call, and the one whose known Lite 3 divergence must show in every
      # run (an entry whose signature no example showed is stale)
      explicit=({"collection_name": Ref("new"), "dimension": 4},))
def _create_collection() -> st.SearchStrategy[dict[str, Any]]:
    quick = st.builds(lambda d, m, idt, auto: {"collection_name": Ref("new"), "dimension": d, "metric_type": m,
                                               "id_type": idt, "auto_id": auto, **({"max_length": 64} if idt == "string" else {})},
                      st.integers(1, 16), st.sampled_from(["COSINE", "L2", "IP"]), st.sampled_from(["int", "string"]),
                      st.booleans())
    full = st.builds(lambda plan, idx: {"collection_name": Ref("new"), "schema": lazy_schema(plan),
                                        **({"index_params": lazy_schema(plan, index=True)} if idx else {})},
                     schema_plans(), st.booleans())
    bad = st.one_of(st.builds(lambda n: {"collection_name": n, "dimension": 4}, bad_names()),
                    st.builds(lambda d: {"collection_name": Ref("new"), "dimension": d}, st.sampled_from([0, -1, 100000])))
    return st.one_of(quick, full, bad)


spec("drop_collection", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.one_of(st.just({"collection_name": C}), st.just({"collection_name": Ref("missing")})))
spec("has_collection", COLL, needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C}, {"collection_name": Ref("missing")}]))
spec("describe_collection", COLL, needs=(Need.COLLECTION,),
     args=lambda: st.one_of(st.just({"collection_name": C}), st.builds(lambda n: {"collection_name": n}, bad_names())))
# order is not part of the contract: the server lists names from a map, in no documented order
spec("list_collections", COLL, needs=(Need.COLLECTION,), compare=Compare.UNORDERED, args=fixed())
spec("get_collection_stats", COLL, needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C}, {"collection_name": Ref("missing")}]))
spec("rename_collection", COLL, needs=(Need.COLLECTION,), mutates=True,
     probe=lambda: [("list_collections", {}), ("has_collection", {"collection_name": Ref("renamed")})],
     args=lambda: st.one_of(st.just({"old_name": C, "new_name": Ref("renamed")}),
                            st.just({"old_name": Ref("missing"), "new_name": Ref("renamed")}),
                            st.builds(lambda n: {"old_name": C, "new_name": n}, bad_names())))
_PROPS = st.fixed_dictionaries({}, optional={
    "collection.ttl.seconds": st.integers(0, 10**6), "mmap.enabled": st.booleans(),
    "collection.autocompaction.enabled": st.booleans()}).filter(bool)
spec("alter_collection_properties", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.builds(lambda p: {"collection_name": C, "properties": p}, _PROPS))
spec("drop_collection_properties", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.builds(lambda k: {"collection_name": C, "property_keys": k},
                            st.lists(st.sampled_from(["collection.ttl.seconds", "mmap.enabled", "nosuch"]),
                                     min_size=1, max_size=2, unique=True)))
spec("truncate_collection", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C}, {"collection_name": Ref("missing")}]))


def _dtype(name: str) -> Any:
    from pymilvus import DataType

    return getattr(DataType, name)


@spec("add_collection_field", COLL, needs=(Need.COLLECTION,), mutates=True)
def _add_field() -> st.SearchStrategy[dict[str, Any]]:
    simple = st.builds(lambda n, t, d: {"collection_name": C, "field_name": f"new_{n}", "data_type": Lazy(
        lambda: _dtype(t), f"DataType.{t}"), "nullable": True, **({"max_length": 16} if t == "VARCHAR" else {}),
        **({"default_value": d} if d is not None and t == "INT64" else {})},
        fresh_names(), st.sampled_from(["INT64", "VARCHAR", "DOUBLE", "BOOL", "JSON"]), st.none() | st.integers(0, 9))
    bad = st.sampled_from([
        {"collection_name": C, "field_name": "num", "data_type": Lazy(lambda: _dtype("INT64"), "DataType.INT64"),
         "nullable": True},
        {"collection_name": C, "field_name": "notnull", "data_type": Lazy(lambda: _dtype("INT64"), "DataType.INT64")},
        {"collection_name": Ref("missing"), "field_name": "f", "data_type": Lazy(lambda: _dtype("INT64"),
                                                                                 "DataType.INT64"), "nullable": True}])
    return st.one_of(simple, bad)


spec("alter_collection_field", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.builds(lambda f, p: {"collection_name": C, "field_name": f, "field_params": p},
                            st.sampled_from(["text", "num", "nosuch"]),
                            st.sampled_from([{"max_length": 128}, {"mmap.enabled": True}, {"description": "d"}])))
spec("drop_collection_field", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.builds(lambda f: {"collection_name": C, "field_name": f},
                            st.sampled_from(["opt", "num", "vec", "id", "nosuch"])))


def _bm25_function(name: str = "bm25", output: str = "sparse") -> Any:
    from pymilvus import Function, FunctionType

    return Function(name=name, function_type=FunctionType.BM25, input_field_names=["text"],
                    output_field_names=[output])


_FN = Lazy(_bm25_function, "Function(name='bm25', function_type=FunctionType.BM25, input_field_names=['text'], "
                           "output_field_names=['sparse'])")
spec("add_collection_function", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=fixed(collection_name=C, function=_FN))
spec("alter_collection_function", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=fixed(collection_name=C, function_name="bm25", function=_FN))
spec("drop_collection_function", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C, "function_name": "bm25"},
                                   {"collection_name": C, "function_name": "nosuch"}]))


def _struct_schema() -> Any:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_struct_field_schema()
    schema.add_field("sub_int", DataType.INT64)
    schema.add_field("sub_vec", DataType.FLOAT_VECTOR, dim=4)
    return schema


_STRUCT = Lazy(_struct_schema, "_struct_schema()  # sub_int INT64, sub_vec FLOAT_VECTOR(4)")
spec("add_collection_struct_field", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.builds(lambda cap: {"collection_name": C, "field_name": "st", "struct_schema": _STRUCT,
                                         "max_capacity": cap}, st.integers(1, 8)))


def _function_field_args() -> dict[str, Any]:
    from pymilvus import DataType, FieldSchema, MilvusClient

    field = FieldSchema("bm25_out", DataType.SPARSE_FLOAT_VECTOR)
    index = MilvusClient.prepare_index_params()
    index.add_index("bm25_out", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    fn = _bm25_function("bm25f", "bm25_out")
    return {"field_schema": field, "func": fn, "index_params": index}


spec("add_function_field", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=fixed(collection_name=C, **{k: Lazy(lambda k=k: _function_field_args()[k], f"_function_field_args()[{k!r}]")
                                      for k in ("field_schema", "func", "index_params")}))
spec("drop_function_field", COLL, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C, "function_name": "bm25f"},
                                   {"collection_name": Ref("missing"), "function_name": "x"}]))

# ---- client-local factories: no server call, the built objects must be equal
spec("create_schema", "local", local=True, timeout=False,
     args=lambda: st.fixed_dictionaries({}, optional={"auto_id": st.booleans(), "enable_dynamic_field": st.booleans(),
                                                      "description": st.text(max_size=8)}))
spec("create_field_schema", "local", local=True, timeout=False,
     args=lambda: st.builds(lambda n, t: {"name": n, "data_type": Lazy(lambda: _dtype(t), f"DataType.{t}"),
                                          **({"max_length": 8} if t == "VARCHAR" else {}),
                                          **({"dim": 3} if t == "FLOAT_VECTOR" else {})},
                            fresh_names(), st.sampled_from(["INT64", "VARCHAR", "FLOAT_VECTOR", "JSON", "BOOL"])))
spec("create_struct_field_schema", "local", local=True, timeout=False,
     args=lambda: st.fixed_dictionaries({}, optional={"description": st.text(max_size=8)}))
spec("prepare_index_params", "local", local=True, timeout=False,
     args=lambda: st.one_of(st.just({}), st.builds(lambda f, t: {"field_name": f, "index_type": t},
                                                   fresh_names(), st.sampled_from(["AUTOINDEX", "HNSW", "FLAT"]))))
