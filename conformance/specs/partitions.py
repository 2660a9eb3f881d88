"""Partitions: create/drop/has/list/stats/load/release."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Compare, Need, spec
from conformance.strategies import bad_names
from conformance.world import Ref

C, P = Ref("coll"), Ref("part")
CAT = "partition"
NEEDS = (Need.PARTITION,)

spec("create_partition", CAT, needs=NEEDS, mutates=True,
     args=lambda: st.one_of(st.just({"collection_name": C, "partition_name": Ref("p2")}),
                            st.just({"collection_name": C, "partition_name": P}),
                            st.builds(lambda n: {"collection_name": C, "partition_name": n}, bad_names()),
                            st.just({"collection_name": Ref("missing"), "partition_name": Ref("p2")})))
spec("drop_partition", CAT, needs=NEEDS, mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C, "partition_name": P},
                                   {"collection_name": C, "partition_name": "_default"},
                                   {"collection_name": C, "partition_name": Ref("nosuch")}]))
spec("has_partition", CAT, needs=NEEDS,
     args=lambda: st.sampled_from([{"collection_name": C, "partition_name": P},
                                   {"collection_name": C, "partition_name": "_default"},
                                   {"collection_name": C, "partition_name": Ref("nosuch")},
                                   {"collection_name": Ref("missing"), "partition_name": P}]))
# order is not part of the contract: the server lists names from a map, in no documented order
spec("list_partitions", CAT, needs=NEEDS, compare=Compare.UNORDERED,
     args=lambda: st.sampled_from([{"collection_name": C}, {"collection_name": Ref("missing")}]))
spec("get_partition_stats", CAT, needs=NEEDS,
     args=lambda: st.sampled_from([{"collection_name": C, "partition_name": P},
                                   {"collection_name": C, "partition_name": "_default"},
                                   {"collection_name": C, "partition_name": Ref("nosuch")}]))
spec("load_partitions", CAT, needs=NEEDS, mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C, "partition_names": [P]},
                                   {"collection_name": C, "partition_names": ["_default", P]},
                                   {"collection_name": C, "partition_names": P},
                                   {"collection_name": C, "partition_names": [Ref("nosuch")]}]))
spec("release_partitions", CAT, needs=NEEDS, mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C, "partition_names": [P]},
                                   {"collection_name": C, "partition_names": "_default"},
                                   {"collection_name": C, "partition_names": [Ref("nosuch")]}]))
