"""Users, roles, privileges and privilege groups (RBAC)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.registry import Compare, Need, spec
from conformance.world import PASSWORD, Ref

U, R, G, C = Ref("user"), Ref("role"), Ref("pgroup"), Ref("coll")
CAT = "rbac"
NO_RBAC = {"lite3": "Milvus Lite has no RBAC (users, roles, privileges)",
           "lite25": "Milvus Lite has no RBAC (users, roles, privileges)"}
USERS = lambda: [("list_users", {}), ("describe_user", {"user_name": U})]  # noqa: E731
ROLES = lambda: [("list_roles", {}), ("describe_role", {"role_name": R})]  # noqa: E731
GROUPS = lambda: [("list_privilege_groups", {})]  # noqa: E731


def rbac(name: str, needs: tuple, args, **kw) -> None:  # type: ignore[no-untyped-def]
    """Register an RBAC spec (unsupported on Milvus Lite)."""
    spec(name, CAT, needs=needs, args=args, unsupported=NO_RBAC, **kw)


rbac("create_user", (), lambda: st.sampled_from([{"user_name": Ref("u2"), "password": PASSWORD},
                                                  {"user_name": Ref("u2"), "password": "short"}]),
     mutates=True, probe=USERS)
rbac("drop_user", (Need.USER,), lambda: st.sampled_from([{"user_name": U}, {"user_name": Ref("nosuch")}]),
     mutates=True, probe=USERS)
rbac("describe_user", (Need.USER,), lambda: st.sampled_from([{"user_name": U}, {"user_name": Ref("nosuch")}]))
# order is not part of the contract: the server lists names from a map, in no documented order
rbac("list_users", (Need.USER,), lambda: st.just({}), compare=Compare.UNORDERED)
rbac("update_password", (Need.USER,), lambda: st.sampled_from([
    {"user_name": U, "old_password": PASSWORD, "new_password": "N3wPassw0rd"},
    {"user_name": U, "old_password": "wrong", "new_password": "N3wPassw0rd"}]), mutates=True, probe=USERS)
rbac("update_user", (Need.USER,), lambda: st.just({"user_name": U, "description": "updated"}),
     mutates=True, probe=USERS)
rbac("create_role", (), lambda: st.sampled_from([{"role_name": Ref("r2")}, {"role_name": Ref("r2"),
                                                                             "description": "d"}]),
     mutates=True, probe=ROLES)
rbac("drop_role", (Need.ROLE,), lambda: st.sampled_from([{"role_name": R}, {"role_name": Ref("nosuch")},
                                                          {"role_name": R, "force_drop": True}]),
     mutates=True, probe=ROLES)
rbac("describe_role", (Need.ROLE,), lambda: st.sampled_from([{"role_name": R}, {"role_name": "admin"}]))
# order is not part of the contract: the server lists names from a map, in no documented order
rbac("list_roles", (Need.ROLE,), lambda: st.just({}), compare=Compare.UNORDERED)
rbac("alter_role", (Need.ROLE,), lambda: st.just({"role_name": R, "description": "altered"}),
     mutates=True, probe=ROLES)
rbac("grant_role", (Need.USER, Need.ROLE), lambda: st.sampled_from([{"user_name": U, "role_name": R},
                                                                     {"user_name": U, "role_name": Ref("nosuch")}]),
     mutates=True, probe=USERS)
rbac("revoke_role", (Need.USER, Need.ROLE), lambda: st.just({"user_name": U, "role_name": R}),
     mutates=True, probe=USERS)
_GRANT = {"role_name": R, "object_type": "Collection", "privilege": "Search", "object_name": "*"}
rbac("grant_privilege", (Need.ROLE,), lambda: st.sampled_from([_GRANT, {**_GRANT, "privilege": "NoSuchPrivilege"}]),
     mutates=True, probe=ROLES)
rbac("revoke_privilege", (Need.ROLE,), lambda: st.just(_GRANT), mutates=True, probe=ROLES)
_GRANT2 = {"role_name": R, "privilege": "Search", "collection_name": "*", "db_name": "default"}
rbac("grant_privilege_v2", (Need.ROLE,), lambda: st.sampled_from([_GRANT2, {**_GRANT2, "privilege": "Nope"}]),
     mutates=True, probe=ROLES)
rbac("revoke_privilege_v2", (Need.ROLE,), lambda: st.just(_GRANT2), mutates=True, probe=ROLES)
rbac("create_privilege_group", (), lambda: st.just({"group_name": Ref("g2")}), mutates=True, probe=GROUPS)
rbac("drop_privilege_group", (Need.PRIVILEGE_GROUP,), lambda: st.sampled_from([{"group_name": G},
                                                                                {"group_name": Ref("nosuch")}]),
     mutates=True, probe=GROUPS)
# order is not part of the contract: the server lists names from a map, in no documented order
rbac("list_privilege_groups", (Need.PRIVILEGE_GROUP,), lambda: st.just({}), compare=Compare.UNORDERED)
rbac("add_privileges_to_group", (Need.PRIVILEGE_GROUP,),
     lambda: st.sampled_from([{"group_name": G, "privileges": ["Search", "Query"]},
                              {"group_name": G, "privileges": ["Nope"]}]), mutates=True, probe=GROUPS)
rbac("remove_privileges_from_group", (Need.PRIVILEGE_GROUP,),
     lambda: st.just({"group_name": G, "privileges": ["Search"]}), mutates=True, probe=GROUPS)
