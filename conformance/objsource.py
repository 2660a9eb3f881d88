"""Renderers (object -> Python source) and canonical forms for the argument objects conformance calls use:
collection/field/struct schemas, index params, functions, search requests, rankers, pymilvus enums, numpy
arrays and scalars, scipy sparse matrices: the tables :data:`RENDERERS` and :data:`CANONS` that
:class:`conformance.pysource.Emitter` dispatches on.
"""

from __future__ import annotations

import enum
from typing import Any, Callable

import numpy as np
import pymilvus
import scipy.sparse
from pymilvus import AnnSearchRequest, CollectionSchema, FieldSchema, Function, RRFRanker, WeightedRanker
from pymilvus.milvus_client.index import IndexParam, IndexParams

from conformance.pyexpr import Unrenderable, Writer, call

#: Types only some installed versions have (pymilvus 2.5 has no struct fields, older scipy no sparse arrays).
StructFieldSchema = getattr(pymilvus, "StructFieldSchema", None)
SPARSE_TYPES = tuple(t for t in (scipy.sparse.spmatrix, getattr(scipy.sparse, "sparray", None)) if t is not None)


def _kwargs(em: Writer, values: dict[str, Any], indent: str) -> dict[str, str]:
    return {k: em.expr(v, indent) for k, v in values.items()}


def _enum(em: Writer, value: enum.Enum, indent: str) -> str:
    name = type(value).__name__
    if getattr(pymilvus, name, None) is not type(value):
        raise Unrenderable(f"{type(value).__module__}.{name} is not importable from pymilvus")
    em.need("pymilvus", name)
    return f"{name}.{value.name}"


def _field_kwargs(field: Any) -> dict[str, Any]:
    """The keyword arguments a field was made with (``description`` first when there is one)."""
    return {**({"description": field.description} if field.description else {}), **field._kwargs}


def _add_fields(em: Writer, owner: str, fields: list[Any], indent: str) -> None:
    for field in fields:
        args = [em.expr(field.name, indent), em.expr(field.dtype, indent)]
        em.emit(call(f"{owner}.add_field", args, _kwargs(em, _field_kwargs(field), indent)))


def _schema(em: Writer, schema: CollectionSchema, indent: str) -> str:
    if getattr(schema, "_struct_fields", None):
        raise Unrenderable("a collection schema with struct fields (its rendering is not implemented)")
    options = {k: v for k, v in schema._kwargs.items() if not (k == "check_fields" and v is False)}
    if schema.description:
        options = {"description": schema.description, **options}
    name = em.variable("schema")
    em.need("pymilvus", "MilvusClient")
    em.emit(f"{name} = " + call("MilvusClient.create_schema", kwargs=_kwargs(em, options, indent)))
    _add_fields(em, name, schema._fields, indent)
    for function in getattr(schema, "_functions", None) or []:
        em.emit(f"{name}.add_function({em.expr(function, indent)})")
    return name


def _struct(em: Writer, struct: Any, indent: str) -> str:
    options = {**({"nullable": True} if struct.nullable else {}),
               **({"description": struct.description} if struct.description else {})}
    name = em.variable("struct_schema")
    em.need("pymilvus", "MilvusClient")
    em.emit(f"{name} = " + call("MilvusClient.create_struct_field_schema", kwargs=_kwargs(em, options, indent)))
    _add_fields(em, name, struct._fields, indent)
    return name


def _field(em: Writer, field: FieldSchema, indent: str) -> str:
    em.need("pymilvus", "FieldSchema")
    args = [em.expr(field.name, indent), em.expr(field.dtype, indent)]
    return call("FieldSchema", args, _kwargs(em, _field_kwargs(field), indent))


def _indexes(params: IndexParams) -> list[Any]:
    """The IndexParam objects of ``params`` (a list in pymilvus 3, a dict of them in 2.5)."""
    return list(params._indexes.values()) if hasattr(params, "_indexes") else list(params)


def _index_dict(index: IndexParam) -> dict[str, Any]:
    return index.to_dict() if hasattr(index, "to_dict") else dict(index)


def _index_kwargs(index: IndexParam) -> dict[str, Any]:
    """``add_index`` keyword arguments rebuilding ``index`` (configs that clash with a parameter go in params)."""
    named = {"index_type": index.index_type, "index_name": index.index_name}
    kwargs = {k: v for k, v in named.items() if v}
    if not hasattr(index, "_configs"):  # pymilvus 2.5 keeps the keyword arguments as given
        return {**kwargs, **index._kwargs}
    configs = dict(index._configs)
    if index.index_type and configs.get("index_type") == index.index_type:
        configs.pop("index_type")  # added by pymilvus when the params were used (get_index_configs)
    reserved = {"field_name", "index_type", "index_name", "params"}
    kwargs.update({k: v for k, v in configs.items() if k not in reserved})
    odd = {k: v for k, v in configs.items() if k in reserved}
    return {**kwargs, "params": odd} if odd else kwargs


def _index_params(em: Writer, params: IndexParams, indent: str) -> str:
    name = em.variable("index_params")
    em.need("pymilvus", "MilvusClient")
    em.emit(f"{name} = MilvusClient.prepare_index_params()")
    for index in _indexes(params):
        kwargs = _kwargs(em, _index_kwargs(index), indent)
        em.emit(call(f"{name}.add_index", [em.expr(index.field_name, indent)], kwargs))
    return name


def _index_param(em: Writer, index: IndexParam, indent: str) -> str:
    em.need("pymilvus.milvus_client.index", "IndexParam")
    kwargs = _index_kwargs(index)
    args = [index.field_name, kwargs.pop("index_type", ""), kwargs.pop("index_name", "")]
    return call("IndexParam", [em.expr(a, indent) for a in args], _kwargs(em, kwargs, indent))


def _function(em: Writer, fn: Function, indent: str) -> str:
    em.need("pymilvus", "Function")
    kwargs: dict[str, Any] = {"name": fn.name, "function_type": fn.type, "input_field_names": fn.input_field_names,
                              "output_field_names": fn.output_field_names}
    if fn.description:
        kwargs["description"] = fn.description
    if fn.params:
        kwargs["params"] = fn.params
    return call("Function", kwargs=_kwargs(em, kwargs, indent))


def _request(em: Writer, req: AnnSearchRequest, indent: str) -> str:
    em.need("pymilvus", "AnnSearchRequest")
    kwargs = {"data": req.data, "anns_field": req.anns_field, "param": req.param, "limit": req.limit}
    kwargs.update({k: v for k, v in (("expr", req.expr), ("expr_params", getattr(req, "expr_params", None)))
                   if v is not None})
    return call("AnnSearchRequest", kwargs=_kwargs(em, kwargs, indent))


def _rrf(em: Writer, ranker: RRFRanker, indent: str) -> str:
    em.need("pymilvus", "RRFRanker")
    return f"RRFRanker({em.expr(ranker._k, indent)})"


def _weighted(em: Writer, ranker: WeightedRanker, indent: str) -> str:
    em.need("pymilvus", "WeightedRanker")
    extra = {} if ranker._norm_score is True else {"norm_score": em.expr(ranker._norm_score, indent)}
    return call("WeightedRanker", [em.expr(w, indent) for w in ranker._weights], extra)


def _numpy_name(dtype: Any) -> str:
    name = np.dtype(dtype).name
    if getattr(np, name, None) is not np.dtype(dtype).type:
        raise Unrenderable(f"numpy dtype {name} has no numpy attribute of that name")
    return name


def _ndarray(em: Writer, array: np.ndarray, indent: str) -> str:
    em.need("numpy", alias="np")
    return f"np.array({em.expr(array.tolist(), indent)}, dtype=np.{_numpy_name(array.dtype)})"


def _np_scalar(em: Writer, value: np.generic, indent: str) -> str:
    em.need("numpy", alias="np")
    return f"np.{_numpy_name(value.dtype)}({em.expr(value.item(), indent)})"


def _sparse(em: Writer, matrix: Any, indent: str) -> str:
    name = type(matrix).__name__
    if getattr(scipy.sparse, name, None) is not type(matrix) or matrix.format not in ("csr", "csc", "coo"):
        raise Unrenderable(f"scipy sparse {name} (only csr, csc and coo matrices/arrays are written)")
    em.need("numpy", alias="np")
    em.need("scipy.sparse")
    coo = matrix.tocoo()
    data = f"np.array({em.expr(coo.data.tolist(), indent)}, dtype=np.{_numpy_name(coo.data.dtype)})"
    coords = f"({em.expr(coo.row.tolist(), indent)}, {em.expr(coo.col.tolist(), indent)})"
    return f"scipy.sparse.{name}(({data}, {coords}), shape={em.expr(tuple(int(n) for n in matrix.shape), indent)})"


def _sparse_canon(matrix: Any) -> Any:
    coo = matrix.tocoo()
    coo.sum_duplicates()
    triples = sorted(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    return {"dtype": coo.data.dtype.str, "shape": tuple(int(n) for n in matrix.shape), "entries": triples}


#: type -> renderer(writer, value, indent) -> expression (the most specific class in a value's MRO wins).
RENDERERS: dict[type, Callable[[Writer, Any, str], str]] = {
    enum.Enum: _enum, CollectionSchema: _schema, FieldSchema: _field, IndexParams: _index_params,
    IndexParam: _index_param, Function: _function, AnnSearchRequest: _request, RRFRanker: _rrf,
    WeightedRanker: _weighted, np.ndarray: _ndarray, np.generic: _np_scalar, **{t: _sparse for t in SPARSE_TYPES},
}
#: type -> the canonical plain form a rendering is checked by.
CANONS: dict[type, Callable[[Any], Any]] = {
    CollectionSchema: lambda s: s.to_dict(), FieldSchema: lambda f: f.to_dict(),
    IndexParams: lambda ps: [_index_dict(p) for p in _indexes(ps)], IndexParam: _index_dict,
    Function: lambda f: f.to_dict(),
    AnnSearchRequest: lambda r: {"data": r.data, "anns_field": r.anns_field, "param": r.param, "limit": r.limit,
                                 "expr": r.expr, "expr_params": getattr(r, "expr_params", None)},
    RRFRanker: lambda r: r.dict(), WeightedRanker: lambda r: r.dict(),
    np.ndarray: lambda a: {"dtype": a.dtype.str, "shape": a.shape, "values": a.tolist()},
    np.generic: lambda v: {"dtype": v.dtype.str, "value": v.item()}, **{t: _sparse_canon for t in SPARSE_TYPES},
}
if StructFieldSchema is not None:
    RENDERERS[StructFieldSchema] = _struct
    CANONS[StructFieldSchema] = lambda s: s.to_dict()
