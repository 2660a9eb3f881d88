"""The typed collection ``typed``: one field of every scalar, array and vector type the server supports, a VARCHAR
primary key, JSON, nullable fields with defaults, dynamic fields and a partition ``tpart`` (with rows).

The field tables below are the one definition of each type: the builder, the row factory, the strategies
(:mod:`conformance.typed_strategies`) and the server-trait probes (:mod:`conformance.data_traits`) all read them, so
a probe tests exactly the field and index the suite later creates.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from conformance.registry import MethodSpec, Need
from conformance import world
from conformance.world import Lazy, Namespace, Ref

T = Ref("typed")
TPART = Ref("tpart")
REFS = frozenset({"typed", "tpart"})
DIM = 8
BIN_DIM = 16
#: Rows of ``typed``: ids 0..ROWS-1; the last PART_ROWS of them live in partition ``tpart``.
ROWS = 16
PART_ROWS = 5
WORDS = ("alpha", "beta", "gamma", "delta", "omega")


def _f32(i: int, k: int) -> float:
    return float(((i * 7 + k * 3) % 13) - 6) / 8.0  # exact in float16 and bfloat16 too (multiples of 1/8)


def _bf16_bytes(values: list[float]) -> bytes:
    """``values`` as little-endian bfloat16 (the upper half of each float32; exact for these values)."""
    return b"".join(struct.pack("<f", v)[2:] for v in values)


def float_vector(i: int) -> list[float]:
    """Row ``i``'s FLOAT_VECTOR."""
    return [_f32(i, k) for k in range(DIM)]


def float16_vector(i: int) -> Any:
    """Row ``i``'s FLOAT16_VECTOR (a numpy float16 array, as pymilvus takes it)."""
    import numpy as np

    return np.array(float_vector(i), dtype=np.float16)


def bfloat16_vector(i: int) -> bytes:
    """Row ``i``'s BFLOAT16_VECTOR as raw bytes (pymilvus takes bytes without ml_dtypes)."""
    return _bf16_bytes(float_vector(i))


def binary_vector(i: int) -> bytes:
    """Row ``i``'s BINARY_VECTOR (BIN_DIM bits)."""
    return bytes([(i * 37 + 5) % 256, (i * 11 + 3) % 256])


def int8_vector(i: int) -> Any:
    """Row ``i``'s INT8_VECTOR (a numpy int8 array)."""
    import numpy as np

    return np.array([((i * 5 + k * 7) % 21) - 10 for k in range(DIM)], dtype=np.int8)


def sparse_vector(i: int) -> dict[int, float]:
    """Row ``i``'s SPARSE_FLOAT_VECTOR."""
    return {i % 7: 1.0 + i / 8.0, 10 + i % 3: 0.5}


@dataclass(frozen=True)
class VectorType:
    """One vector field of ``typed``: its DataType name, dimension, index, metric and row values."""

    field: str
    dtype: str
    dim: Optional[int]
    index: str
    metric: str
    value: Callable[[int], Any]
    source: str  # the row factory's name, for Lazy sources and reproducers

    @property
    def trait(self) -> str:
        """The data trait that says whether the server supports this type."""
        return f"vector:{self.dtype}"


VECTORS: tuple[VectorType, ...] = (
    VectorType("v_float", "FLOAT_VECTOR", DIM, "AUTOINDEX", "L2", float_vector, "float_vector"),
    VectorType("v_f16", "FLOAT16_VECTOR", DIM, "FLAT", "L2", float16_vector, "float16_vector"),
    VectorType("v_bf16", "BFLOAT16_VECTOR", DIM, "FLAT", "L2", bfloat16_vector, "bfloat16_vector"),
    VectorType("v_bin", "BINARY_VECTOR", BIN_DIM, "BIN_FLAT", "HAMMING", binary_vector, "binary_vector"),
    VectorType("v_int8", "INT8_VECTOR", DIM, "HNSW", "L2", int8_vector, "int8_vector"),
    VectorType("v_sparse", "SPARSE_FLOAT_VECTOR", None, "SPARSE_INVERTED_INDEX", "IP", sparse_vector,
               "sparse_vector"),
)
#: scalar field -> (DataType name, extra add_field kwargs, row value)
SCALARS: dict[str, tuple[str, dict[str, Any], Callable[[int], Any]]] = {
    "s_bool": ("BOOL", {}, lambda i: i % 3 == 0),
    "s_int8": ("INT8", {}, lambda i: (i * 29) % 255 - 127),
    "s_int16": ("INT16", {}, lambda i: (i * 997) % 60000 - 30000),
    "s_int32": ("INT32", {}, lambda i: (i * 7919) % 2_000_000 - 1_000_000),
    "s_int64": ("INT64", {}, lambda i: (i * 1_000_000_007) % (2 ** 40) - 2 ** 39),
    "s_float": ("FLOAT", {}, lambda i: i / 4.0 - 1.5),  # exact in float32
    "s_double": ("DOUBLE", {}, lambda i: i / 3.0 + 1e-12),  # a double that float32 would round
    "s_json": ("JSON", {}, lambda i: {"k": i % 4, "name": WORDS[i % 5], "nested": {"v": i, "l": [i, i + 1]}}),
}
#: array field -> (element DataType name, extra kwargs, row value)
ARRAYS: dict[str, tuple[str, dict[str, Any], Callable[[int], Any]]] = {
    "a_bool": ("BOOL", {}, lambda i: [i % 2 == 0, i % 3 == 0][: 1 + i % 2]),
    "a_int8": ("INT8", {}, lambda i: [i % 5 - 2, -(i % 7)]),
    "a_int16": ("INT16", {}, lambda i: [i * 100 - 800]),
    "a_int32": ("INT32", {}, lambda i: [i, i * 3, -i][: 1 + i % 3]),
    "a_int64": ("INT64", {}, lambda i: [i % 5, (i + 1) % 5, 2 ** 40 + i][: 1 + i % 3]),
    "a_float": ("FLOAT", {}, lambda i: [i / 2.0, -0.25]),
    "a_double": ("DOUBLE", {}, lambda i: [i / 3.0]),
    "a_varchar": ("VARCHAR", {"max_length": 16}, lambda i: [WORDS[i % 5], WORDS[(i + 2) % 5]][: 1 + i % 2]),
}
ARRAY_CAPACITY = 4
#: nullable field -> (DataType name, extra kwargs incl. default_value, row value (None: null))
NULLABLES: dict[str, tuple[str, dict[str, Any], Callable[[int], Any]]] = {
    "n_int64": ("INT64", {"default_value": 5}, lambda i: None if i % 3 == 0 else i * 10),
    "n_varchar": ("VARCHAR", {"max_length": 16, "default_value": "none"},
                  lambda i: None if i % 4 == 1 else WORDS[i % 5]),
    "n_double": ("DOUBLE", {}, lambda i: None if i % 2 == 0 else i / 7.0),
    "n_json": ("JSON", {}, lambda i: None if i % 5 == 0 else {"k": i % 2}),
}
TEXT = "s_text"  # VARCHAR with an analyzer (text_match) where the server supports it
DYNAMIC_KEYS = ("dyn_int", "dyn_str")


#: The data traits the session measured last (:class:`conformance.data_traits.Traits`), pushed here by
#: :func:`conformance.data_traits.measure` (typed only reads them: the probes import this module, not the reverse).
_ACTIVE: list[Any] = [None]


def use_traits(traits: Any) -> None:
    """Make ``traits`` (or None: nothing measured) the ones the typed collection and its strategies follow."""
    _ACTIVE[0] = traits


def _traits() -> Any:
    return _ACTIVE[0]


def _server_has(trait: str) -> bool:
    """Whether the active server's traits list ``trait`` (False when none are active)."""
    traits = _traits()
    return traits is not None and traits.has(trait)


def vectors() -> list[VectorType]:
    """The vector fields of ``typed`` on this server (FLOAT always; the others where the server takes them)."""
    return [v for v in VECTORS if v.dtype == "FLOAT_VECTOR" or _server_has(v.trait)]


def nullable_on() -> bool:
    """Whether ``typed`` has its nullable fields on this server."""
    return _server_has("nullable")


def arrays_on() -> bool:
    """Whether ``typed`` has its array fields on this server."""
    return _server_has("arrays")


def partitions_on() -> bool:
    """Whether ``typed`` has its partition ``tpart`` on this server."""
    return _server_has("partitions")


def text_match_on() -> bool:
    """Whether ``s_text`` has an analyzer and match index (text_match filters) on this server."""
    return _server_has("text_match")


def pk(i: int) -> str:
    """The VARCHAR primary key of row ``i``."""
    return f"pk{i:04d}"


def row(i: int) -> dict[str, Any]:
    """Row ``i`` of ``typed`` (only the fields this server's ``typed`` has; dynamic keys included)."""
    out: dict[str, Any] = {"pk": pk(i)}
    for v in vectors():
        out[v.field] = v.value(i)
    for name, (_, _, value) in {**SCALARS, **(ARRAYS if arrays_on() else {})}.items():
        out[name] = value(i)
    out[TEXT] = f"{WORDS[i % 5]} {WORDS[(i * 3) % 5]} word{i}"
    if nullable_on():
        for name, (_, _, value) in NULLABLES.items():
            out[name] = value(i)
    out["dyn_int"] = i * 2
    if i % 2:
        out["dyn_str"] = WORDS[i % 5]
    return out


def rows(start: int = 0, count: int = ROWS) -> list[dict[str, Any]]:
    """Rows ``start .. start+count-1`` of ``typed``."""
    return [row(i) for i in range(start, start + count)]


def lazy_rows(start: int, count: int) -> Lazy:
    """Rows as a :class:`Lazy` value (built per side; vectors are numpy arrays a client could modify)."""
    return Lazy(lambda: rows(start, count), f"typed_rows({start}, {count})")


def add_vector_field(schema: Any, v: VectorType) -> None:
    """Add vector field ``v`` to ``schema``."""
    from pymilvus import DataType

    kwargs = {"dim": v.dim} if v.dim is not None else {}
    schema.add_field(v.field, getattr(DataType, v.dtype), **kwargs)


def add_vector_index(params: Any, v: VectorType) -> None:
    """Add the index of vector field ``v`` to ``params``."""
    extra = {"params": {"M": 8, "efConstruction": 32}} if v.index == "HNSW" else {}
    params.add_index(v.field, index_type=v.index, metric_type=v.metric, index_name=f"{v.field}_idx", **extra)


def schema(client: Any) -> Any:
    """The schema of ``typed`` on this server."""
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=True, description="conformance typed")
    s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    for v in vectors():
        add_vector_field(s, v)
    for name, (dtype, extra, _) in SCALARS.items():
        s.add_field(name, getattr(DataType, dtype), **extra)
    text_extra = {"enable_analyzer": True, "enable_match": True} if text_match_on() else {}
    s.add_field(TEXT, DataType.VARCHAR, max_length=64, **text_extra)
    for name, (elem, extra, _) in (ARRAYS if arrays_on() else {}).items():
        s.add_field(name, DataType.ARRAY, element_type=getattr(DataType, elem), max_capacity=ARRAY_CAPACITY, **extra)
    if nullable_on():
        for name, (dtype, extra, _) in NULLABLES.items():
            s.add_field(name, getattr(DataType, dtype), nullable=True, **extra)
    return s


def index_params(client: Any) -> Any:
    """Index params of ``typed``: one index per vector field."""
    params = client.prepare_index_params()
    for v in vectors():
        add_vector_index(params, v)
    return params


def build(client: Any, ns: Namespace, timeout: Any) -> None:
    """Create ``typed`` (loaded, Strong consistency) with its partition ``tpart`` and rows in ``ns``."""
    t = {"timeout": timeout}
    coll, part = ns.name("typed"), ns.name("tpart")
    client.create_collection(coll, schema=schema(client), index_params=index_params(client),
                             consistency_level="Strong", **t)
    if partitions_on():
        client.create_partition(coll, part, **t)
        client.insert(coll, rows(0, ROWS - PART_ROWS), **t)
        client.insert(coll, rows(ROWS - PART_ROWS, PART_ROWS), partition_name=part, **t)
    else:  # Milvus Lite 2.5: no create_partition (the strategies then draw no partitions either)
        client.insert(coll, rows(), **t)
    client.load_collection(coll, **t)


def output_field_names() -> list[str]:
    """Every field name of ``typed`` on this server, dynamic keys included."""
    names = ["pk"] + [v.field for v in vectors()] + list(SCALARS) + [TEXT] + (list(ARRAYS) if arrays_on() else [])
    if nullable_on():
        names += list(NULLABLES)
    return names + list(DYNAMIC_KEYS)


#: What a write on ``typed`` can change: every row with every field (per partition) and the count.
PROBES: list[tuple[str, dict[str, Any]]] = [
    ("query", {"collection_name": T, "filter": 'pk >= ""', "output_fields": ["*"], "limit": 200}),
    ("query", {"collection_name": T, "filter": 'pk >= ""', "output_fields": ["pk"], "partition_names": [TPART],
               "limit": 200}),
]


def mentions(value: Any, names: Iterable[str] = REFS) -> bool:
    """Whether ``value`` (kwargs, possibly nested) refers to one of the :class:`Ref` ``names``."""
    names = frozenset(names)
    if isinstance(value, Ref):
        return value.name in names
    if isinstance(value, dict):
        return any(mentions(v, names) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(mentions(v, names) for v in value)
    return False


def narrowed(spec: MethodSpec, kwargs: dict[str, Any]) -> MethodSpec:
    """``spec`` with only the starting state this call touches: a call on ``typed`` builds (and probes) only
    ``typed``; any other call of a spec that can draw both builds only the spec's other needs."""
    if Need.TYPED not in spec.needs:
        return spec
    if mentions(kwargs):
        return dataclasses.replace(spec, needs=(Need.TYPED,), probe=None)
    return dataclasses.replace(spec, needs=tuple(n for n in spec.needs if n is not Need.TYPED))


world.BUILDERS[Need.TYPED] = build
