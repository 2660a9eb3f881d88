"""Collection schemas as plain plans (tuples, so they print and shrink), their strategies, builders and rows.

A plan is ``(fields, dynamic)``; each field is ``(name, type_name, params)``. Every DataType the server may support
is drawn: BOOL, INT8-INT64, FLOAT, DOUBLE, VARCHAR, JSON, ARRAY, the dense vectors (FLOAT, FLOAT16, BFLOAT16,
BINARY, INT8) and SPARSE_FLOAT_VECTOR, with nullable and default values on scalars.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from pymilvus import DataType

from conformance.world import Lazy

Field = tuple[str, str, tuple[tuple[str, Any], ...]]
Plan = tuple[tuple[Field, ...], bool]

SCALAR_TYPES = ("INT64", "BOOL", "INT8", "INT16", "INT32", "FLOAT", "DOUBLE", "VARCHAR", "JSON", "ARRAY")
#: Vector types the installed pymilvus knows (INT8_VECTOR came with 2.6: older clients in the matrix lack it).
VECTOR_TYPES = tuple(t for t in ("FLOAT_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR", "BINARY_VECTOR",
                                 "SPARSE_FLOAT_VECTOR", "INT8_VECTOR") if hasattr(DataType, t))
DEFAULTS = {"BOOL": st.booleans(), "INT8": st.integers(-128, 127), "INT16": st.integers(-5, 5),
            "INT32": st.integers(-5, 5), "INT64": st.integers(-5, 5), "FLOAT": st.sampled_from([0.5, -1.0]),
            "DOUBLE": st.sampled_from([0.25, 2.0]), "VARCHAR": st.sampled_from(["", "d"])}
METRIC = {"FLOAT_VECTOR": "L2", "FLOAT16_VECTOR": "L2", "BFLOAT16_VECTOR": "L2", "INT8_VECTOR": "L2",
          "BINARY_VECTOR": "HAMMING", "SPARSE_FLOAT_VECTOR": "IP"}
INDEX = {"SPARSE_FLOAT_VECTOR": "SPARSE_INVERTED_INDEX", "BINARY_VECTOR": "BIN_FLAT", "INT8_VECTOR": "HNSW"}


def _scalar_field(i: int) -> st.SearchStrategy[Field]:
    def params(t: str) -> st.SearchStrategy[tuple]:
        extra: dict[str, Any] = {}
        if t == "VARCHAR":
            extra["max_length"] = 32
        if t == "ARRAY":
            extra.update(element_type="INT64", max_capacity=4)
        base = st.just(tuple(extra.items()))
        nullable = st.booleans() if t != "ARRAY" else st.just(False)
        default = DEFAULTS.get(t, st.none())
        return st.tuples(base, nullable, st.none() | default).map(
            lambda x: x[0] + ((("nullable", True),) if x[1] else ()) + ((("default_value", x[2]),) if x[2] is not None else ()))

    return st.sampled_from(SCALAR_TYPES).flatmap(lambda t: params(t).map(lambda p: (f"s{i}", t, p)))


def _vector_field(i: int) -> st.SearchStrategy[Field]:
    def params(t: str) -> tuple:
        if t == "SPARSE_FLOAT_VECTOR":
            return ()
        return (("dim", 8 if t == "BINARY_VECTOR" else 4),)

    return st.sampled_from(VECTOR_TYPES).map(lambda t: (f"v{i}", t, params(t)))


def schema_plans() -> st.SearchStrategy[Plan]:
    """Schemas: an INT64 or VARCHAR primary key, 0-4 scalar fields, 1-2 vector fields, dynamic or not."""
    pk = st.sampled_from([("pk", "INT64", ()), ("pk", "VARCHAR", (("max_length", 16),))])
    scalars = st.integers(0, 4).flatmap(lambda n: st.tuples(*[_scalar_field(i) for i in range(n)]))
    vectors = st.integers(1, 2).flatmap(lambda n: st.tuples(*[_vector_field(i) for i in range(n)]))
    return st.builds(lambda p, s, v, d: ((p,) + s + v, d), pk, scalars, vectors, st.booleans())


def build_schema(plan: Plan) -> Any:
    """The ``CollectionSchema`` of ``plan``."""
    from pymilvus import DataType, MilvusClient

    fields, dynamic = plan
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=dynamic)
    for name, type_name, params in fields:
        kwargs = dict(params)
        if "element_type" in kwargs:
            kwargs["element_type"] = getattr(DataType, kwargs["element_type"])
        schema.add_field(name, getattr(DataType, type_name), is_primary=(name == "pk"), **kwargs)
    return schema


def build_index(plan: Plan) -> Any:
    """Index params for every vector field of ``plan``."""
    from pymilvus import MilvusClient

    params = MilvusClient.prepare_index_params()
    for name, type_name, _ in plan[0]:
        if type_name in METRIC:
            params.add_index(name, index_type=INDEX.get(type_name, "AUTOINDEX"), metric_type=METRIC[type_name])
    return params


def lazy_schema(plan: Plan, index: bool = False) -> Lazy:
    """A per-side built schema (or index params) of ``plan`` whose source a reproducer can print."""
    if index:
        return Lazy(lambda: build_index(plan), f"build_index({plan!r})")
    return Lazy(lambda: build_schema(plan), f"build_schema({plan!r})")
