"""Cluster operations: resource groups and replicas, replication, snapshots, file resources, external
collections, server info, sessions and closing the client."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Compare, Need, fixed, spec
from conformance.replay import POSITIONAL
from conformance.world import Ref

C, RG = Ref("coll"), Ref("rgroup")
NO_RG = {"lite3": "Milvus Lite has no resource groups", "lite25": "Milvus Lite has no resource groups"}
RG_PROBES = lambda: [("list_resource_groups", {})]  # noqa: E731


spec("create_resource_group", "resource_group", mutates=True, probe=RG_PROBES, unsupported=NO_RG,
     args=lambda: st.just({"name": Ref("rg2")}))
spec("drop_resource_group", "resource_group", needs=(Need.RESOURCE_GROUP,), mutates=True, probe=RG_PROBES,
     unsupported=NO_RG, args=lambda: st.sampled_from([{"name": RG}, {"name": Ref("nosuch")}]))
spec("describe_resource_group", "resource_group", needs=(Need.RESOURCE_GROUP,), unsupported=NO_RG,
     args=lambda: st.sampled_from([{"name": RG}, {"name": "__default_resource_group"}]))
# order is not part of the contract: the server lists names from a map, in no documented order
spec("list_resource_groups", "resource_group", needs=(Need.RESOURCE_GROUP,), unsupported=NO_RG,
     compare=Compare.UNORDERED, args=fixed())
spec("update_resource_groups", "resource_group", needs=(Need.RESOURCE_GROUP,), mutates=True, probe=RG_PROBES,
     unsupported=NO_RG, args=lambda: st.just({"configs": {}}),
     notes="called with an empty config map: changes nothing on a real cluster")
spec("transfer_replica", "resource_group", needs=(Need.COLLECTION,), mutates=True, unsupported=NO_RG,
     args=lambda: st.just({POSITIONAL: ["__default_resource_group", Ref("nosuch_rg"), C, 1]}),
     notes="sync and async name these parameters differently, so the call is made positionally")

# ---- replication (called with harmless or invalid arguments: a real cluster's topology must not change)
spec("get_replicate_configuration", "replication", args=fixed())
spec("get_replicate_info", "replication", args=fixed(source_cluster_id="nosuch", target_pchannel="nosuch"))
spec("update_replicate_configuration", "replication",
     args=fixed(clusters=[{"cluster_id": "", "connection_param": {}, "pchannels": []}]),
     notes="an invalid cluster entry (empty id): must be rejected, never applied")
spec("dump_messages", "replication", args=fixed(pchannel="nosuch", start_message_id={"id": "", "wal_name": ""}))

# ---- snapshots
SNAP = Ref("snap")
SNAP_PROBES = lambda: [("list_snapshots", {"collection_name": C})]  # noqa: E731
spec("create_snapshot", "snapshot", needs=(Need.COLLECTION,), mutates=True, probe=SNAP_PROBES,
     args=lambda: st.sampled_from([{"snapshot_name": SNAP, "collection_name": C},
                                   {"snapshot_name": SNAP, "collection_name": Ref("missing")}]))
spec("drop_snapshot", "snapshot", needs=(Need.COLLECTION,), mutates=True, probe=SNAP_PROBES,
     args=fixed(snapshot_name=SNAP, collection_name=C))
spec("describe_snapshot", "snapshot", needs=(Need.COLLECTION,), args=fixed(snapshot_name=SNAP, collection_name=C))
spec("list_snapshots", "snapshot", needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C}, {}]))
spec("pin_snapshot_data", "snapshot", needs=(Need.COLLECTION,), compare=Compare.STRUCTURAL,
     args=fixed(snapshot_name=SNAP, collection_name=C, ttl_seconds=1))
spec("unpin_snapshot_data", "snapshot", args=fixed(pin_id=0))
spec("restore_snapshot", "snapshot", needs=(Need.COLLECTION,), mutates=True, compare=Compare.STRUCTURAL,
     args=fixed(snapshot_name=SNAP, source_collection_name=C, target_collection_name=Ref("restored")))
spec("get_restore_snapshot_state", "snapshot", args=fixed(job_id=0))
spec("list_restore_snapshot_jobs", "snapshot", args=fixed())

# ---- file resources and external collections
spec("add_file_resource", "file_resource", mutates=True, probe=lambda: [("list_file_resources", {})],
     args=fixed(name=Ref("file"), path="/nonexistent/conformance.txt"))
spec("remove_file_resource", "file_resource", mutates=True, probe=lambda: [("list_file_resources", {})],
     args=fixed(name=Ref("nosuch")))
spec("list_file_resources", "file_resource", args=fixed())
spec("refresh_external_collection", "external", needs=(Need.COLLECTION,), mutates=True, compare=Compare.STRUCTURAL,
     args=fixed(collection_name=C))
spec("get_refresh_external_collection_progress", "external", args=fixed(job_id=0))
spec("list_refresh_external_collection_jobs", "external", args=lambda: st.sampled_from([{}, {"collection_name": "x"}]))

# ---- server and client
spec("get_server_version", "server", args=lambda: st.sampled_from([{}, {"detail": True}]),
     unsupported={"lite25": "Milvus Lite 2.5 answers GetVersion with UNIMPLEMENTED"})
spec("get_server_type", "server", timeout=False, fresh_clients=True, args=fixed(),
     notes="on a fresh client, before any other call (what a user does first)")
spec("session", "server", local=True, timeout=False,
     args=lambda: st.sampled_from([{"cluster_id": "c1"}, {"cluster_id": 5}]))
spec("close", "server", timeout=False, fresh_clients=True, args=fixed())
