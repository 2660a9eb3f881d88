"""Aliases and databases (including switching a client's database)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Compare, Need, spec
from conformance.strategies import bad_names
from conformance.world import Ref

C, A, DB = Ref("coll"), Ref("alias"), Ref("db")
ALIAS_PROBES = lambda: [("list_aliases", {"collection_name": C}),  # noqa: E731
                        ("describe_alias", {"alias": Ref("alias2")}), ("describe_alias", {"alias": A})]
DB_PROBES = lambda: [("list_databases", {}), ("describe_database", {"db_name": DB})]  # noqa: E731

spec("create_alias", "alias", needs=(Need.ALIAS,), mutates=True, probe=ALIAS_PROBES,
     args=lambda: st.one_of(st.just({"collection_name": C, "alias": Ref("alias2")}),
                            st.just({"collection_name": C, "alias": A}),
                            st.just({"collection_name": C, "alias": C}),
                            st.just({"collection_name": Ref("missing"), "alias": Ref("alias2")}),
                            st.builds(lambda n: {"collection_name": C, "alias": n}, bad_names())))
spec("alter_alias", "alias", needs=(Need.ALIAS,), mutates=True, probe=ALIAS_PROBES,
     args=lambda: st.sampled_from([{"collection_name": C, "alias": A}, {"collection_name": C, "alias": Ref("nosuch")},
                                   {"collection_name": Ref("missing"), "alias": A}]))
spec("drop_alias", "alias", needs=(Need.ALIAS,), mutates=True, probe=ALIAS_PROBES,
     args=lambda: st.sampled_from([{"alias": A}, {"alias": Ref("nosuch")}]))
spec("describe_alias", "alias", needs=(Need.ALIAS,),
     args=lambda: st.sampled_from([{"alias": A}, {"alias": Ref("nosuch")}, {"alias": ""}]))
spec("list_aliases", "alias", needs=(Need.ALIAS,),
     args=lambda: st.sampled_from([{"collection_name": C}, {}, {"collection_name": Ref("missing")}]))

spec("create_database", "database", needs=(Need.DATABASE,), mutates=True, probe=DB_PROBES,
     args=lambda: st.one_of(st.just({"db_name": Ref("db2")}), st.just({"db_name": DB}),
                            st.builds(lambda p: {"db_name": Ref("db2"), "properties": p},
                                      st.sampled_from([{"database.replica.number": 1}, {"database.max.collections": 5}])),
                            st.builds(lambda n: {"db_name": n}, bad_names())))
spec("drop_database", "database", needs=(Need.DATABASE,), mutates=True, probe=DB_PROBES,
     args=lambda: st.sampled_from([{"db_name": DB}, {"db_name": Ref("nosuch")}, {"db_name": "default"}]))
spec("describe_database", "database", needs=(Need.DATABASE,),
     args=lambda: st.sampled_from([{"db_name": DB}, {"db_name": "default"}, {"db_name": Ref("nosuch")}]))
# order is not part of the contract: the server lists names from a map, in no documented order
spec("list_databases", "database", needs=(Need.DATABASE,), compare=Compare.UNORDERED, args=lambda: st.just({}))
spec("alter_database_properties", "database", needs=(Need.DATABASE,), mutates=True, probe=DB_PROBES,
     args=lambda: st.builds(lambda p: {"db_name": DB, "properties": p},
                            st.sampled_from([{"database.max.collections": 7}, {"database.force.deny.writing": True}])))
spec("drop_database_properties", "database", needs=(Need.DATABASE,), mutates=True, probe=DB_PROBES,
     args=lambda: st.just({"db_name": DB, "property_keys": ["database.max.collections"]}))
# a collection in the default database and none in ``db``: the client probe (list_collections through the client
# that switched) shows which database its next call lands in
spec("use_database", "database", needs=(Need.DATABASE, Need.BARE_COLLECTION), fresh_clients=True,
     args=lambda: st.sampled_from([{"db_name": DB}, {"db_name": "default"}, {"db_name": Ref("nosuch")}]))
spec("using_database", "database", needs=(Need.DATABASE, Need.BARE_COLLECTION), fresh_clients=True,
     args=lambda: st.sampled_from([{"db_name": DB}, {"db_name": Ref("nosuch")}]))
