"""Load/release, load state, replicas and segments."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Need, spec
from conformance.world import Ref

C = Ref("coll")
CAT = "load"
MISSING = {"collection_name": Ref("missing")}

spec("load_collection", CAT, needs=(Need.BARE_COLLECTION,), mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C}, MISSING]))
spec("release_collection", CAT, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C}, MISSING]))
spec("get_load_state", CAT, needs=(Need.PARTITION,),
     args=lambda: st.sampled_from([{"collection_name": C}, MISSING]))
spec("refresh_load", CAT, needs=(Need.COLLECTION,), mutates=True, weight=0.4,
     args=lambda: st.sampled_from([{"collection_name": C}, MISSING]))
spec("describe_replica", CAT, needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C}, MISSING]))
spec("list_segments", CAT, needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C}, MISSING]))
spec("list_persistent_segments", CAT, needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C}, MISSING]))
