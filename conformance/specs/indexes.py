"""Indexes: create/drop/describe/list and index properties."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conformance.registry import Need, spec
from conformance.world import Lazy, Ref

C = Ref("coll")
CAT = "index"
SCALAR_INDEX = {"num": ("INVERTED", "STL_SORT", "AUTOINDEX"), "text": ("INVERTED", "TRIE", "AUTOINDEX"),
                "flag": ("INVERTED", "BITMAP"), "score": ("INVERTED", "STL_SORT")}


def _index(field: str, index_type: str, metric: str | None, name: str) -> Any:
    from pymilvus import MilvusClient

    params = MilvusClient.prepare_index_params()
    extra = {"metric_type": metric} if metric else {}
    params.add_index(field, index_type=index_type, index_name=name, **extra)
    return params


def _lazy_index(field: str, index_type: str, metric: str | None = None, name: str = "") -> Lazy:
    source = f"index_params({field!r}, {index_type!r}, {metric!r}, {name!r})"
    return Lazy(lambda: _index(field, index_type, metric, name), source)


def _create_index_args() -> st.SearchStrategy[dict[str, Any]]:
    scalar = st.sampled_from(sorted(SCALAR_INDEX)).flatmap(
        lambda f: st.sampled_from(SCALAR_INDEX[f]).map(lambda t: _lazy_index(f, t, None, f"{f}_idx")))
    vector = st.sampled_from([("vec", "FLAT", "L2"), ("vec", "HNSW", "COSINE"), ("vec", "IVF_FLAT", "IP"),
                              ("sparse", "SPARSE_WAND", "IP"), ("sparse", "AUTOINDEX", "IP")]).map(
        lambda t: _lazy_index(t[0], t[1], t[2], ""))
    bad = st.sampled_from([_lazy_index("nosuch", "AUTOINDEX"), _lazy_index("vec", "NOT_AN_INDEX", "L2"),
                           _lazy_index("meta", "STL_SORT")])
    return st.one_of(vector, scalar, bad).map(lambda p: {"collection_name": C, "index_params": p})


spec("create_index", CAT, needs=(Need.BARE_COLLECTION,), mutates=True, weight=2.0, fresh_clients=True,
     args=_create_index_args, notes="on new clients: a long-lived async client hides the Lite 3 divergence")
spec("drop_index", CAT, needs=(Need.COLLECTION,), mutates=True,
     args=lambda: st.sampled_from([{"collection_name": C, "index_name": "vec_idx"},
                                   {"collection_name": C, "index_name": "nosuch"}]))
spec("describe_index", CAT, needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C, "index_name": "vec_idx"},
                                   {"collection_name": C, "index_name": "sparse_idx"},
                                   {"collection_name": C, "index_name": "nosuch"}]))
spec("list_indexes", CAT, needs=(Need.COLLECTION,),
     args=lambda: st.sampled_from([{"collection_name": C}, {"collection_name": C, "field_name": "vec"},
                                   {"collection_name": Ref("missing")}]))
spec("alter_index_properties", CAT, needs=(Need.COLLECTION,), mutates=True,
     probe=lambda: [("describe_index", {"collection_name": C, "index_name": "vec_idx"})],
     args=lambda: st.builds(lambda p: {"collection_name": C, "index_name": "vec_idx", "properties": p},
                            st.sampled_from([{"mmap.enabled": True}, {"mmap.enabled": False}, {"nosuch": 1}])))
spec("drop_index_properties", CAT, needs=(Need.COLLECTION,), mutates=True,
     probe=lambda: [("describe_index", {"collection_name": C, "index_name": "vec_idx"})],
     args=lambda: st.just({"collection_name": C, "index_name": "vec_idx", "property_keys": ["mmap.enabled"]}))
