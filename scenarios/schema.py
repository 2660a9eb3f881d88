"""Turn a scenario's collection and index sections into pymilvus schema and index objects.

Shared by the flow runner (``conformance.flow``) and the load preparation (``loadtests``), so both build
exactly the same collection from a scenario.
"""

from __future__ import annotations

from typing import Any, Optional

from scenarios.model import CollectionSpec, FieldSpec, FieldType, IndexSpec, Scenario


def data_type(field_type: FieldType) -> Any:
    """The ``pymilvus.DataType`` member for a scenario field type (a clear error if this pymilvus lacks it)."""
    from pymilvus import DataType

    try:
        return getattr(DataType, field_type.value)
    except AttributeError:
        raise ValueError(f"this pymilvus has no DataType.{field_type.value}") from None


def field_kwargs(field: FieldSpec) -> dict[str, Any]:
    """Keyword arguments of ``schema.add_field`` for one field."""
    kwargs: dict[str, Any] = {}
    if field.primary:
        kwargs["is_primary"] = True
    if field.auto_id:
        kwargs["auto_id"] = True
    if field.dim is not None:
        kwargs["dim"] = field.dim
    if field.max_length is not None:
        kwargs["max_length"] = field.max_length
    if field.element_type is not None:
        kwargs["element_type"] = data_type(field.element_type)
    if field.max_capacity is not None:
        kwargs["max_capacity"] = field.max_capacity
    if field.nullable:
        kwargs["nullable"] = True
    if field.default is not None:
        kwargs["default_value"] = field.default
    if field.description:
        kwargs["description"] = field.description
    return kwargs


def build_schema(spec: CollectionSpec) -> Any:
    """A ``pymilvus.CollectionSchema`` for the scenario's collection."""
    from pymilvus import MilvusClient

    schema = MilvusClient.create_schema(auto_id=spec.primary.auto_id,
                                        enable_dynamic_field=spec.enable_dynamic_field,
                                        description=spec.description)
    for field in spec.fields:
        schema.add_field(field.name, data_type(field.type), **field_kwargs(field))
    return schema


def index_kwargs(index: IndexSpec) -> dict[str, Any]:
    """Keyword arguments of ``IndexParams.add_index`` for one index."""
    kwargs: dict[str, Any] = {"field_name": index.field, "index_type": index.index_type}
    if index.metric is not None:
        kwargs["metric_type"] = index.metric.value
    if index.params:
        kwargs["params"] = dict(index.params)
    if index.name:
        kwargs["index_name"] = index.name
    return kwargs


def build_index_params(indexes: list[IndexSpec]) -> Any:
    """A ``pymilvus`` ``IndexParams`` holding every index of the list."""
    from pymilvus import MilvusClient

    params = MilvusClient.prepare_index_params()
    for index in indexes:
        params.add_index(**index_kwargs(index))
    return params


#: The index type every Milvus server builds, tried when a server rejects a scenario's vector index type.
FALLBACK_INDEX_TYPE = {True: "SPARSE_INVERTED_INDEX", False: "FLAT"}


def fallback_index(index: IndexSpec, collection: CollectionSpec) -> Optional[IndexSpec]:
    """The index to build instead of a rejected vector ``index`` (None for scalar fields, for an index that is
    already the fallback type, and when the scenario's index sets ``fallback = false``)."""
    field = collection.field(index.field)
    if not field.type.is_vector or not index.fallback:
        return None
    replacement = FALLBACK_INDEX_TYPE[field.type.is_sparse]
    if replacement == index.index_type:
        return None
    return index.model_copy(update={"index_type": replacement, "params": {}})


def describe_indexes(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's index definitions as plain data, for result files."""
    return [{"field": i.field, "index_type": i.index_type, "metric": i.metric.value if i.metric else None,
             "params": dict(i.params)} for i in scenario.indexes]
