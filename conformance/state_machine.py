"""A Hypothesis state machine that interleaves DDL, DML, load/release and reads on a sync and an async client
side by side (twin collections), and checks after every step that both sides see the same world."""

from __future__ import annotations

from typing import Any, Optional

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, precondition, rule

from conformance import known, normalize
from conformance.compare import Outcome, difference
from conformance.registry import Compare, Need
from conformance.runner import Runner
from conformance.strategies import filters, search_kwargs
from conformance.world import Namespace, Ref, build, cleanup, new_namespaces, standard_rows


class TwinWorld(RuleBasedStateMachine):
    """Every rule runs the same call on both sides and compares outcomes; invariants compare what both see."""

    runner: Optional[Runner] = None  # set by the test before running
    #: The client methods the rules and invariants call (an older AsyncMilvusClient may lack some).
    CALLS = ("insert", "delete", "upsert", "release_collection", "load_collection", "create_partition", "search",
             "get_load_state", "list_partitions", "query")

    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.ns: tuple[Namespace, Namespace] = new_namespaces()
        self.next_id = 1000
        self.loaded = True
        self.partitions = 0

    @initialize(target=ids)
    def create(self) -> Any:
        """Twin loaded collections with the standard rows."""
        assert self.runner is not None
        for ns in self.ns:
            build(self.runner.sync, ns, (Need.COLLECTION,), self.runner.timeout)
        return 0  # row 0 exists from the start

    def both(self, method: str, kwargs: dict[str, Any], mode: Compare = Compare.EXACT) -> None:
        """The same call through both clients; fail with the difference if they disagree."""
        assert self.runner is not None
        outcomes = []
        for side, ns in zip(("sync", "async"), self.ns):
            concrete = {**ns.resolve(kwargs), "timeout": self.runner.timeout}
            try:
                raw = (self.runner.call_sync if side == "sync" else self.runner.call_async)(method, concrete)
                outcomes.append(Outcome(True, normalize.mask(normalize.plain(raw), (ns.prefix,))))
            except Exception as exc:  # noqa: BLE001
                self.runner.check_server(exc)
                outcomes.append(Outcome(False, error=normalize.error_record(exc, (ns.prefix,))))
        why = difference(mode, outcomes[0], outcomes[1])
        if why is None:
            return
        sig = known.signature_of(why, outcomes[0].as_dict(), outcomes[1].as_dict())
        entry = self._known(method, sig)
        if entry is not None:
            note(f"{method}: known divergence ({entry.name}), not counted here (the method matrix reports it): {why}")
            return
        assert why is None, f"{method}({kwargs!r:.300}) differs between the clients: {why} [new: {sig.describe()}]"

    def _known(self, method: str, sig: known.Signature) -> Optional[known.KnownDivergence]:
        """The registry entry for ``method`` on this server and pymilvus whose signature accepts ``sig``, if any."""
        import pymilvus

        assert self.runner is not None
        return known.match(known.applicable(known.load(), method, self.runner.family, pymilvus.__version__), sig)

    @rule(target=ids, count=st.integers(1, 4))
    def insert(self, count: int) -> Any:
        """Insert new rows on both sides."""
        rows = standard_rows(self.next_id, count)
        self.next_id += count
        self.both("insert", {"collection_name": Ref("coll"), "data": rows})
        return rows[0]["id"]

    @rule(key=consumes(ids))
    def delete(self, key: int) -> None:
        """Delete a row both sides have."""
        self.both("delete", {"collection_name": Ref("coll"), "ids": [key]})

    @rule(key=ids)
    def upsert(self, key: int) -> None:
        """Upsert an existing row with new values."""
        row = standard_rows(key, 1)[0]
        row["num"] = -row["num"]
        self.both("upsert", {"collection_name": Ref("coll"), "data": [row]})

    @rule(expr=filters())
    def delete_by_filter(self, expr: str) -> None:
        """Delete by a drawn filter."""
        self.both("delete", {"collection_name": Ref("coll"), "filter": expr})

    @precondition(lambda self: self.loaded)
    @rule()
    def release(self) -> None:
        """Release both collections."""
        self.both("release_collection", {"collection_name": Ref("coll")})
        self.loaded = False

    @precondition(lambda self: not self.loaded)
    @rule()
    def load(self) -> None:
        """Load both collections again."""
        self.both("load_collection", {"collection_name": Ref("coll")})
        self.loaded = True

    @precondition(lambda self: self.partitions < 2)
    @rule()
    def create_partition(self) -> None:
        """A new partition on both sides."""
        self.partitions += 1
        self.both("create_partition", {"collection_name": Ref("coll"), "partition_name": f"p{self.partitions}"})

    @rule(kwargs=search_kwargs())
    def search(self, kwargs: dict[str, Any]) -> None:
        """A drawn search (an error when released: the same error on both sides)."""
        self.both("search", kwargs, Compare.RANKED)

    @invariant()
    def same_world(self) -> None:
        """Both sides see the same rows, load state, partitions and schema."""
        if self.runner is None or not hasattr(self, "ns"):
            return
        self.both("get_load_state", {"collection_name": Ref("coll")})
        self.both("list_partitions", {"collection_name": Ref("coll")}, Compare.UNORDERED)
        if self.loaded:
            self.both("query", {"collection_name": Ref("coll"), "filter": "id >= 0", "output_fields": ["*"],
                                "limit": 500})

    def teardown(self) -> None:
        """Drop both twins."""
        if self.runner is not None:
            cleanup(self.runner.sync, [ns.prefix for ns in self.ns], self.runner.timeout)
