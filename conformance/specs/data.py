"""Writes (insert/upsert/delete), point reads (get/query), flush, compaction, optimize, analyzer."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Compare, Need, fixed, spec
from conformance.strategies import (bad_filters, existing_ids, filters, invalid_rows, output_fields, query_kwargs,
                                    standard_rows)
from conformance import typed, typed_strategies as ts, world
from conformance.probes import READ_BACK
from conformance.world import Lazy, Ref

C = Ref("coll")
CAT = "data"
NEEDS = (Need.COLLECTION,)
#: The data methods also draw calls on the typed collection (every supported type, a partition): a mutating call
#: builds only the collection it names (conformance.typed.narrowed), a read-only method builds both once.
DATA_NEEDS = (Need.COLLECTION, Need.TYPED)
T, TPART = typed.T, typed.TPART

spec("insert", CAT, needs=DATA_NEEDS, mutates=True, probe=lambda: READ_BACK,
     args=lambda: st.one_of(st.builds(lambda r: {"collection_name": C, "data": r}, standard_rows()),
                            ts.insert_kwargs(),
                            st.builds(lambda r: {"collection_name": C, "data": r[0]}, standard_rows(max_size=1)),
                            st.builds(lambda r: {"collection_name": C, "data": r}, invalid_rows()),
                            st.builds(lambda r: {"collection_name": Ref("missing"), "data": r}, standard_rows(max_size=1))),
     # one plain valid row, always: the basic path is checked first, and a divergence there needs no shrinking
     # (each example of a mutating spec rebuilds the twin collections, ~2 s on Lite 3)
     explicit=({"collection_name": C, "data": Lazy(lambda: world.standard_rows(30, 1), "standard_rows(30, 1)")},
               {"collection_name": T, "data": typed.lazy_rows(100, 2), "partition_name": TPART}))
spec("upsert", CAT, needs=DATA_NEEDS, mutates=True, probe=lambda: READ_BACK,
     explicit=({"collection_name": T, "data": typed.lazy_rows(typed.ROWS - 2, 3), "partition_name": TPART},),
     args=lambda: st.one_of(st.builds(lambda r: {"collection_name": C, "data": r}, standard_rows(first_id=0)),
                            ts.upsert_kwargs(),
                            st.builds(lambda r: {"collection_name": C, "data": r}, standard_rows(first_id=20)),
                            st.builds(lambda r: {"collection_name": C, "data": r}, invalid_rows())))
spec("delete", CAT, needs=DATA_NEEDS, mutates=True, probe=lambda: READ_BACK,
     args=lambda: st.one_of(st.builds(lambda ids: {"collection_name": C, "ids": ids}, existing_ids()),
                            ts.delete_kwargs(),
                            st.builds(lambda f: {"collection_name": C, "filter": f}, filters()),
                            st.just({"collection_name": C, "ids": 3}),
                            st.just({"collection_name": C}),
                            st.just({"collection_name": C, "filter": "nosuch > 1"}),
                            st.builds(lambda f: {"collection_name": C, "filter": f}, bad_filters())),
     # the plain path first (existing ids: a divergence there needs no shrinking, ~2 s per example on Lite 3), then
     # a filter the server rejects: AsyncMilvusClient.delete never checks the response status (pymilvus 2.5-3.0)
     explicit=({"collection_name": C, "ids": [0, 1]}, {"collection_name": C, "filter": "num >"},
               {"collection_name": T, "ids": [typed.pk(1), typed.pk(typed.ROWS - 1)], "partition_name": TPART}))
# get and query: Milvus documents no order for rows without order_by, but both sides make the same request on
# the same data and the server answers it deterministically (it merges segment results by primary key), so an order
# difference can only come from a client, and a caller sees it: compared in order (Compare.EXACT). A spec that ever
# draws order_by_fields stays EXACT too; one whose two sides query differently-built data would be UNORDERED.
spec("get", CAT, needs=DATA_NEEDS,
     explicit=({"collection_name": T, "ids": [typed.pk(0), typed.pk(typed.ROWS - 1)], "output_fields": ["*"],
                "partition_names": [TPART]},),
     args=lambda: st.one_of(st.builds(lambda ids, o: {"collection_name": C, "ids": ids, "output_fields": o},
                                      existing_ids(), output_fields()),
                            ts.get_kwargs(),
                            st.just({"collection_name": C, "ids": 1}),
                            st.just({"collection_name": C, "ids": ["a"]}),
                            st.just({"collection_name": C, "ids": [1], "output_fields": ["nosuch"]})))
spec("query", CAT, needs=DATA_NEEDS, compare=Compare.EXACT,
     explicit=({"collection_name": T, "filter": 'pk >= ""', "output_fields": ["*", "dyn_str"],
                "partition_names": [TPART]},
               {"collection_name": T, "filter": 'array_contains(a_int64, 1) or s_json["k"] == 2',
                "output_fields": ["s_json", "a_float", "a_varchar", "dyn_int"], "limit": 5, "offset": 2}),
     args=lambda: st.one_of(query_kwargs(),
                            ts.query_kwargs(),
                            st.just({"collection_name": C, "filter": "nosuch > 1"}),
                            st.just({"collection_name": C, "filter": "num >"}),
                            st.just({"collection_name": C, "filter": ""}),
                            st.just({"collection_name": Ref("missing"), "filter": "id > 0"})))
spec("flush", CAT, needs=NEEDS, mutates=True, args=lambda: st.sampled_from([{"collection_name": C},
                                                                           {"collection_name": Ref("missing")}]))
spec("flush_all", CAT, needs=NEEDS, probe=lambda: [], args=fixed())
spec("get_flush_all_state", CAT, args=fixed(), notes="needs the flush_all timestamp; called without it")
spec("compact", CAT, needs=NEEDS, mutates=True, compare=Compare.STRUCTURAL,
     weight=1.5, args=lambda: st.sampled_from([{"collection_name": Ref("missing")}, {"collection_name": C}, {"collection_name": C, "is_clustering": True},
                                   {"collection_name": C, "is_l0": True}]))
spec("get_compaction_state", CAT, args=lambda: st.sampled_from([{"job_id": 0}, {"job_id": 123456789}, {"job_id": -1}]))
spec("get_compaction_plans", CAT, args=lambda: st.sampled_from([{"job_id": 0}, {"job_id": 123456789}]))
spec("list_compaction_tasks", CAT, needs=NEEDS, args=lambda: st.sampled_from([{"collection_name": C},
                                                                             {"collection_name": Ref("missing")}]))
spec("optimize", CAT, needs=NEEDS, mutates=True, compare=Compare.STRUCTURAL,
     args=lambda: st.sampled_from([{"collection_name": C, "wait": True}, {"collection_name": Ref("missing")}]))
spec("run_analyzer", CAT,
     args=lambda: st.one_of(
         st.builds(lambda t, h, d: {"texts": t, "analyzer_params": {"tokenizer": "standard"}, "with_hash": h,
                                    "with_detail": d},
                   st.one_of(st.text("ab c.", max_size=12), st.lists(st.text("ab c", max_size=8), min_size=1,
                                                                     max_size=3)), st.booleans(), st.booleans()),
         st.just({"texts": "hello world"}),
         st.just({"texts": "x", "analyzer_params": {"tokenizer": "nosuch"}})))
