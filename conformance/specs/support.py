"""Per-server support, measured: methods a server family answers with UNIMPLEMENTED (or cannot set up).

Kept apart from the specs so one table shows what each server lacks. The suite checks this table against the
server: a method the server does not implement but the table does not list is an error, and a listed method
the server answers is flagged as a possibly stale entry.
"""

from __future__ import annotations

LITE3_UNIMPLEMENTED = {
    # schema evolution and functions
    "add_collection_field", "add_collection_function", "add_collection_struct_field", "alter_collection_field",
    "alter_collection_function", "drop_collection_field", "drop_collection_function", "drop_function_field",
    "add_function_field",
    # index properties, partial load, segments, compaction listing, analyzer
    "alter_index_properties", "drop_index_properties", "load_partitions", "release_partitions", "list_segments",
    "list_persistent_segments", "list_compaction_tasks", "run_analyzer",
    # snapshots, file resources, external collections, replication
    "create_snapshot", "describe_snapshot", "drop_snapshot", "list_snapshots", "pin_snapshot_data",
    "restore_snapshot", "list_restore_snapshot_jobs", "add_file_resource", "list_file_resources",
    "remove_file_resource", "refresh_external_collection", "get_refresh_external_collection_progress",
    "list_refresh_external_collection_jobs", "get_replicate_configuration", "get_replicate_info",
}

#: Observed on milvus-lite 2.5.1 (C++ engine). Methods whose starting state Lite 2.5 cannot build (partitions,
#: aliases, databases, RBAC) are unsupported there through conformance.servers.LACKING_NEEDS instead.
LITE25_UNIMPLEMENTED = {
    "alter_collection_properties", "drop_collection_properties", "truncate_collection", "rename_collection",
    "create_database", "drop_database", "describe_database", "list_databases", "alter_database_properties",
    "drop_database_properties", "use_database", "using_database", "get_compaction_state", "run_analyzer",
    "get_refresh_external_collection_progress", "list_refresh_external_collection_jobs", "add_file_resource",
    "list_file_resources", "remove_file_resource", "get_replicate_configuration", "get_replicate_info",
    "list_restore_snapshot_jobs",
} | LITE3_UNIMPLEMENTED

#: Observed on the PyPI 'milvus' package's embedded standalone (Milvus 2.3.5): the newer RPCs.
STANDALONE_UNIMPLEMENTED = {
    "add_collection_field", "add_collection_function", "add_collection_struct_field", "add_file_resource",
    "add_function_field", "alter_collection_field", "alter_collection_function", "alter_database_properties",
    "alter_role", "create_privilege_group", "create_snapshot", "describe_database", "describe_snapshot",
    "drop_collection_field", "drop_collection_function", "drop_database_properties", "drop_function_field",
    "drop_snapshot", "get_refresh_external_collection_progress", "get_replicate_configuration", "get_replicate_info",
    "grant_privilege_v2", "hybrid_search", "list_file_resources", "list_refresh_external_collection_jobs",
    "list_restore_snapshot_jobs", "list_snapshots", "pin_snapshot_data", "refresh_external_collection",
    "remove_file_resource", "restore_snapshot", "revoke_privilege_v2", "run_analyzer", "truncate_collection",
    "update_resource_groups", "use_database", "using_database",
}

#: server family -> {method: reason}
UNSUPPORTED: dict[str, dict[str, str]] = {
    "lite3": {m: "Milvus Lite 3.x answers UNIMPLEMENTED" for m in LITE3_UNIMPLEMENTED},
    "lite25": {m: "Milvus Lite 2.5 answers UNIMPLEMENTED" for m in LITE25_UNIMPLEMENTED},
    "standalone": {m: "Milvus 2.3 standalone answers UNIMPLEMENTED" for m in STANDALONE_UNIMPLEMENTED},
}
