"""Search and hybrid search: valid requests from the strategies, and invalid ones."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Compare, Need, spec
from conformance import typed, typed_strategies as ts
from conformance.strategies import hybrid_kwargs, invalid_search_kwargs, search_kwargs

#: Both specs also draw calls on the typed collection (every supported vector type, partitions, rankers).
NEEDS = (Need.COLLECTION, Need.TYPED)
spec("search", "search", needs=NEEDS, compare=Compare.RANKED, weight=3.0,
     explicit=({"collection_name": typed.T, "data": [typed.float_vector(3)], "anns_field": "v_float", "limit": 4,
                "output_fields": ["*"], "partition_names": ["_default"]},),
     args=lambda: st.one_of(search_kwargs(), invalid_search_kwargs(), ts.search_kwargs()))
spec("hybrid_search", "search", needs=NEEDS, compare=Compare.RANKED, weight=2.0,
     args=lambda: st.one_of(hybrid_kwargs(), ts.hybrid_kwargs()))
