"""Search and hybrid search: valid requests from the strategies, and invalid ones."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Compare, Need, spec
from conformance.strategies import hybrid_kwargs, invalid_search_kwargs, search_kwargs

spec("search", "search", needs=(Need.COLLECTION,), compare=Compare.RANKED, weight=3.0,
     args=lambda: st.one_of(search_kwargs(), invalid_search_kwargs()))
spec("hybrid_search", "search", needs=(Need.COLLECTION,), compare=Compare.RANKED, weight=2.0, args=hybrid_kwargs)
