"""Server behaviours the harness found that are wrong, pinned as strict xfails: when a release fixes one, the
xfail turns into a failure so the finding is retired on purpose, never silently."""

from __future__ import annotations

import pytest

from scenarios.targets import Connection


def _lite3(milvus: Connection) -> bool:
    return bool(milvus.embedded and milvus.embedded.engine == "milvus-lite-python")


def test_drop_index_of_a_missing_index_leaves_other_indexes_alone(milvus: Connection, collection_name: str,
                                                                   request: pytest.FixtureRequest) -> None:
    """Found by `vdb-harness run seed_tutorial`: after it, dense search on the sync side had recall 0.0 against
    exact IP ground truth, because the IP index was gone and the server searched with its default metric."""
    if _lite3(milvus):
        request.applymarker(pytest.mark.xfail(strict=True, reason="Milvus Lite 3.2.2: drop_index('missing') "
                                              "succeeds and drops the index of another field"))
    from pymilvus import DataType

    client = milvus.sync_client()
    try:
        schema = client.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("a", DataType.FLOAT_VECTOR, dim=2)
        schema.add_field("b", DataType.FLOAT_VECTOR, dim=2)
        client.create_collection(collection_name, schema=schema, timeout=10)
        params = client.prepare_index_params()
        params.add_index(field_name="a", index_type="AUTOINDEX", metric_type="IP")
        client.create_index(collection_name, params, timeout=10)
        client.release_collection(collection_name, timeout=10)
        try:
            client.drop_index(collection_name, "no_such_index", timeout=10)
        except Exception:  # noqa: BLE001 - refusing to drop a missing index is a correct answer too
            pass
        assert client.list_indexes(collection_name, timeout=10) == ["a"]
    finally:
        client.drop_collection(collection_name, timeout=10)
        client.close()
