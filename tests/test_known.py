"""The known-divergence matching model (conformance/known.py) and the per-example verdicts of check_method, with
fakes of our own code only (no server): a signature is computed from a divergence, an entry accepts exactly the
signature it states, malformed entries are errors naming them, and a known example never stops the others."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Any, Optional

import pytest

from conformance import check, known
from conformance.example import Divergence
from conformance.specs import load_all
from vdb_harness.kernel.errors import BadInputError


class Code(IntEnum):
    UNEXPECTED_ERROR = 1


def ok(value: Any = None, effects: Any = None) -> dict[str, Any]:
    return {"ok": True, "value": value, "error": None, "effects": effects}


def err(cls: str, code: Any, message: str) -> dict[str, Any]:
    return {"ok": False, "value": None, "error": {"class": cls, "code": code, "message": message}, "effects": None}


def div(why: str, sync: dict[str, Any], asyn: dict[str, Any], method: str = "m", kwargs: Any = None) -> Divergence:
    return Divergence(method, why, kwargs or {}, (), sync, asyn)


def entry(**fields: Any) -> known.KnownDivergence:
    return known.KnownDivergence(**{"method": "m", "server": "*", "pymilvus": "", "reason": "r", "name": "e",
                                    **fields})


def test_signature_kind_path_and_errors_come_from_the_divergence() -> None:
    s = known.signature(div("sync returned a value, async raised {...}", ok(1), err("ParamError", 1, "bad")))
    assert (s.kind, s.path, s.raised, s.async_error["class"]) == ("async-raised", "", "async", "ParamError")
    s = known.signature(div("sync raised {...}, async returned {}", err("MilvusException", 6, "x"), ok({})))
    assert (s.kind, s.raised, s.sync_error["code"]) == ("sync-raised", "sync", 6)
    s = known.signature(div("error.class: 'grpc.RpcError' != 'AttributeError'", err("grpc.RpcError", "UNIMPLEMENTED", ""),
                            err("AttributeError", None, "no attribute")))
    assert (s.kind, s.path, s.raised) == ("error-differs", "error.class", "both")
    assert known.signature(div("result.aliases[0]: 'a' != 'b'", ok(), ok())).path == "result.aliases[0]"
    assert known.signature(div("structure differs: result.x: 'int' != 'str'", ok(), ok())).path == "result.x"
    assert known.signature(div("[0]: scores differ (...)", ok(), ok())).path == "result[0]"
    s = known.signature(div("side effects.0:describe_collection.fields: length 2 != 3", ok(), ok()))
    assert (s.kind, s.path, s.raised) == ("effects-differs", "side effects.0:describe_collection.fields", "neither")
    s = known.signature(div("side effects.1:list_collections[0]: 'a' != 'b'", err("E", 1, "m"), err("E", 1, "m")))
    assert s.kind == "effects-differs" and s.raised == "both"


def test_every_stated_field_must_match() -> None:
    rejected = known.signature(div("sync raised {...}, async returned {}", err("MilvusException", 6, "num >"),
                                   ok({"delete_count": 0})))
    assert entry(kind=("sync-raised",)).matches(rejected)
    assert entry(kind=("sync-raised",), sync_error="MilvusException", sync_code=6, sync_message="num").matches(rejected)
    assert not entry(kind=("async-raised",)).matches(rejected)
    assert not entry(kind=("sync-raised",), sync_code=5).matches(rejected)
    assert not entry(kind=("sync-raised",), sync_error="ParamError").matches(rejected)
    assert not entry(kind=("sync-raised",), sync_message="^collection").matches(rejected)
    assert not entry(kind=("sync-raised",), async_error="MilvusException").matches(rejected)  # async did not raise
    assert entry(kind=("sync-raised",), why="async returned").matches(rejected)
    assert entry(kind=("async-raised", "sync-raised")).matches(rejected)  # a list: any of them


def test_path_matches_itself_and_what_lies_inside_it() -> None:
    value = known.signature(div("result.aliases[0]: 'a' != 'b'", ok(), ok()))
    for path in ("result", "result.aliases", "result.aliases[0]"):
        assert entry(kind=("value-differs",), path=path).matches(value), path
    for path in ("result.alias", "result.aliases[1]", "side effects"):
        assert not entry(kind=("value-differs",), path=path).matches(value), path


def test_codes_match_as_numbers_or_names() -> None:
    unimpl = known.signature(div("sync returned a value, async raised {...}", ok(), err("grpc.RpcError", "UNIMPLEMENTED", "")))
    assert entry(kind=("async-raised",), async_code="UNIMPLEMENTED").matches(unimpl)
    assert not entry(kind=("async-raised",), async_code=12).matches(unimpl)
    enum = known.signature(div("sync returned a value, async raised {...}", ok(), err("MilvusException", Code(1), "x")))
    assert entry(kind=("async-raised",), async_code=1).matches(enum)
    assert entry(kind=("async-raised",), async_code="1").matches(enum)


BAD = [
    ('kind = "async-raised"\nsurprise = 1\n', "unknown key"),
    ('kind = "async-raised"\nasync_message = "(unclosed"\n', "async_message is not a valid regular expression"),
    ('kind = "async-raised"\npymilvus = "three"\n', "not a version specifier"),
    ('', "needs 'kind'"),
    ('kind = "raised"\n', "is not one of"),
    ('kind = "value-differs"\nsync_error = "ParamError"\n', "can never match"),
    ('kind = "async-raised"\npath = 3\n', "path must be a string"),
]


@pytest.mark.parametrize("extra,problem", BAD, ids=[p for _, p in BAD])
def test_a_malformed_entry_is_a_bad_input_naming_it(tmp_path: Path, extra: str, problem: str) -> None:
    path = tmp_path / "k.toml"
    good = '[[divergence]]\nmethod = "ok"\nreason = "r"\nkind = "async-raised"\n\n'
    path.write_text(good + '[[divergence]]\nmethod = "m"\nreason = "r"\n' + extra)
    with pytest.raises(BadInputError, match=r"k\.toml: divergence\[1\] \(m\)") as info:
        known.load(path)
    assert problem in str(info.value)


def test_the_shipped_registry_is_well_formed_and_every_entry_states_a_signature() -> None:
    entries = known.load()
    assert entries and all(e.kind for e in entries)
    assert all(e.name.startswith("known_divergences.toml: divergence[") for e in entries)


# --- per-example verdicts of check_method, on a fake runner and a fake example (our own code) -------------------

class FakeRunner:
    """What check_method asks of a runner when the example itself is faked."""

    timeout = 1.0
    conn = type("Conn", (), {"uri": "fake://"})()
    sync = None

    def server_alive(self) -> bool:
        return True


def _fake_examples(monkeypatch: pytest.MonkeyPatch, outcome: Any) -> list[dict[str, Any]]:
    """run_example replaced: ``outcome(kwargs)`` returns None (agree) or a Divergence to raise."""
    seen: list[dict[str, Any]] = []

    def run_example(runner: Any, spec: Any, kwargs: dict[str, Any], shared: Any = None) -> Any:
        seen.append(kwargs)
        found = outcome(kwargs)
        if found is not None:
            raise found
        from conformance.compare import Outcome

        return Outcome(True, 1), Outcome(True, 1)

    monkeypatch.setattr(check, "run_example", run_example)
    monkeypatch.setattr(check, "build", lambda *a, **k: None)
    monkeypatch.setattr(check, "cleanup", lambda *a, **k: None)
    return seen


KNOWN = "sync raised {...}, async returned {}"


def _spec(explicit: list[dict[str, Any]]) -> Any:
    import dataclasses

    from hypothesis import strategies as st

    return dataclasses.replace(load_all()["delete"], explicit=tuple(explicit),
                               args=lambda: st.fixed_dictionaries({"n": st.integers(0, 10_000)}))


def test_a_known_example_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _fake_examples(monkeypatch, lambda kw: div(KNOWN, err("MilvusException", 6, "x"), ok({}), "delete", kw)
                          if kw.get("reject") else None)
    spec = _spec([{"reject": True}, {"n": -1}])
    v = check.check_method(FakeRunner(), spec, "lite3", entries=[entry(method="delete", kind=("sync-raised",))],
                           max_examples=8)
    assert v.status == "known-divergence", v.as_dict()
    assert v.examples == len(seen) >= 2 + 5  # both explicit examples and the drawn ones all ran
    assert (v.known, v.new, v.agreeing) == (1, 0, v.examples - 1)
    assert list(v.signatures.values())[0]["verdict"] == "known"


def test_a_new_divergence_beside_a_known_one_diverges_and_is_shrunk(monkeypatch: pytest.MonkeyPatch) -> None:
    def outcome(kw: dict[str, Any]) -> Optional[Divergence]:
        if kw.get("reject"):
            return div(KNOWN, err("MilvusException", 6, "x"), ok({}), "delete", kw)
        if kw.get("n", 0) >= 10:  # the new bug: a different value for n >= 10
            return div("result.delete_count: 1 != 0", ok({"delete_count": 1}), ok({"delete_count": 0}), "delete", kw)
        return None

    _fake_examples(monkeypatch, outcome)
    spec = _spec([{"reject": True}])
    v = check.check_method(FakeRunner(), spec, "lite3", entries=[entry(method="delete", kind=("sync-raised",))],
                           max_examples=50)
    assert v.status == "diverges" and v.new >= 1 and v.known == 1, v.as_dict()
    assert "result.delete_count" in v.detail and "kind=value-differs" in v.detail
    assert v.extra["kwargs"] == repr({"n": 10})  # Hypothesis shrank the new one to its minimal example


def test_a_new_explicit_example_is_shown_and_the_drawn_ones_still_run(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _fake_examples(monkeypatch, lambda kw: div("result: 1 != 0", ok(1), ok(0), "delete", kw)
                          if kw.get("bad") or kw.get("n", 0) >= 5000 else None)
    v = check.check_method(FakeRunner(), _spec([{"bad": True}]), "lite3", entries=[], max_examples=30)
    assert v.status == "diverges" and v.extra["kwargs"] == repr({"bad": True})  # hand-picked: shown as it is
    assert v.examples >= 2 and v.examples == v.agreeing + v.new
    assert len(seen) <= v.examples + 1  # no shrinking pass after it (at most the replay of the drawn failure)


def test_an_example_whose_state_cannot_be_built_is_an_error_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.example import SetupError

    def outcome(kw: dict[str, Any]) -> Any:
        if kw.get("unbuildable"):
            raise SetupError("the server refused the twin collection")
        return None

    _fake_examples(monkeypatch, outcome)
    v = check.check_method(FakeRunner(), _spec([{"n": 1}, {"unbuildable": True}]), "lite3", entries=[], max_examples=3)
    assert v.status == "error" and "refused" in v.detail
    assert (v.examples, v.agreeing, v.errors) == (2, 1, 1)


def test_a_new_divergence_is_not_hidden_by_a_later_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.example import SetupError

    def outcome(kw: dict[str, Any]) -> Any:
        if kw.get("unbuildable"):
            raise SetupError("the server refused the twin collection")
        return div("result: 1 != 0", ok(1), ok(0), "delete", kw) if kw.get("bad") else None

    _fake_examples(monkeypatch, outcome)
    v = check.check_method(FakeRunner(), _spec([{"bad": True}, {"unbuildable": True}]), "lite3", entries=[],
                           max_examples=3)
    assert v.status == "diverges" and "refused" in v.detail and (v.new, v.errors) == (1, 1)


def test_an_entry_matching_no_example_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_examples(monkeypatch, lambda kw: None)
    v = check.check_method(FakeRunner(), _spec([]), "lite3", max_examples=3,
                           entries=[entry(method="delete", kind=("sync-raised",), name="k.toml: divergence[4] (delete)")])
    assert v.status == "error" and "k.toml: divergence[4] (delete)" in v.detail and "matched none" in v.detail


def test_an_entry_for_another_server_or_method_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_examples(monkeypatch, lambda kw: div(KNOWN, err("E", 6, "x"), ok({}), "delete", kw))
    v = check.check_method(FakeRunner(), _spec([]), "lite3", max_examples=3,
                           entries=[entry(method="delete", server="standalone", kind=("sync-raised",)),
                                    entry(method="query", kind=("sync-raised",))])
    assert v.status == "diverges" and v.new == 1


# --- whole-flow checks --------------------------------------------------------------------------------------

class Step:
    def __init__(self, step: str, why: str, sync: Any, asyn: Any) -> None:
        self.step, self.why, self.sync, self.asyn = step, why, sync, asyn


class Out:
    def __init__(self, ok: bool, error_type: str = "", error_code: Any = None, error: str = "") -> None:
        self.ok, self.error_type, self.error_code, self.error = ok, error_type, error_code, error


def test_flow_steps_are_settled_by_step_signature() -> None:
    entries = [entry(method="flow:f", kind=("error-differs",), step="create_index", async_code="UNIMPLEMENTED")]
    idx = Step("create_index", "different errors: ...", Out(False, "MilvusException", 6), Out(False, "AioRpcError",
                                                                                               "UNIMPLEMENTED"))
    other = Step("search", "one client raised, the other did not", Out(True), Out(False, "AioRpcError", "INTERNAL"))
    assert known.settle("flow:f", "lite3", [idx], entries, "3.0.2").status == "known-divergence"
    new = known.settle("flow:f", "lite3", [idx, other], entries, "3.0.2")
    assert new.status == "diverges" and "search" in new.message and "kind=async-raised" in new.message
    stale = known.settle("flow:f", "lite3", [], entries, "3.0.2")
    assert stale.status == "error" and "matched none" in stale.message
    assert known.settle("flow:f", "lite3", [], [], "3.0.2").status == "pass"


def test_a_step_pattern_must_match_the_whole_step_name() -> None:
    """``step`` is a regular expression over the whole step name: one entry can cover every index's create_index
    step and its fallbacks, and no other step."""
    entries = [entry(method="flow:f", kind=("async-raised",), step=r"create_index\[\w+\]( fallback \w+)?",
                     async_code="UNIMPLEMENTED")]
    unimpl = Out(False, "AioRpcError", "UNIMPLEMENTED")
    steps = [Step(name, "one client raised, the other did not", Out(True), unimpl)
             for name in ("create_index[dense]", "create_index[sparse] fallback SPARSE_INVERTED_INDEX")]
    assert known.settle("flow:f", "lite3", steps, entries, "3.0.2").status == "known-divergence"
    for name in ("create_index", "create_index[dense] and more", "load_collection"):
        verdict = known.settle("flow:f", "lite3", [Step(name, "one client raised", Out(True), unimpl)], entries, "3.0.2")
        assert verdict.status == "diverges", name


def test_a_malformed_registry_stops_the_conformance_command_with_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from vdb_harness.cli import main

    bad = tmp_path / "k.toml"
    bad.write_text('[[divergence]]\nmethod = "delete"\nreason = "r"\nkind = "sync-raised"\nsync_mesage = "x"\n')
    monkeypatch.setenv("VDB_HARNESS_KNOWN_DIVERGENCES", str(bad))
    assert main(["conformance", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "divergence[0] (delete)" in err and "sync_mesage" in err


def test_a_method_glob_entry_covers_many_methods_but_never_flows_and_is_never_stale_alone() -> None:
    shared = entry(method="*", kind=("async-raised",))
    assert shared.pattern and shared.applies("query", "lite3", "3.0.2") and shared.applies("list_collections", "x", "1")
    assert not shared.applies("flow:seed_tutorial", "lite3", "3.0.2")
    assert entry(method="list_*", kind=("async-raised",)).covers("list_collections")
    assert not entry(method="list_*", kind=("async-raised",)).covers("query")
    assert not entry(kind=("async-raised",)).pattern


def test_timeout_below_matches_only_calls_with_a_short_per_call_timeout() -> None:
    timed_out = err("MilvusException", 1, "[query] Retry timeout: 0.001s")
    race = entry(kind=("async-raised",), async_message=r"Retry timeout: 0\.\d+s", timeout_below=1.0)
    assert race.matches(known.signature(div("sync returned a value, async raised", ok(), timed_out,
                                            kwargs={"timeout": 0.001})))
    assert race.matches(known.signature(div("x", ok(), timed_out, kwargs={"timeout": 0})))
    assert not race.matches(known.signature(div("x", ok(), timed_out, kwargs={"timeout": 10.0})))
    assert not race.matches(known.signature(div("x", ok(), timed_out, kwargs={})))  # the harness' own timeout
    positional = {"__positional__": ["c", "", None, 0.001]}  # query(collection_name, filter, output_fields, timeout)
    assert known.call_timeout("query", positional) == 0.001
    assert race.matches(known.signature(div("x", ok(), timed_out, method="query", kwargs=positional)))


def test_timeout_below_must_be_a_number(tmp_path: Path) -> None:
    bad = tmp_path / "k.toml"
    bad.write_text('[[divergence]]\nmethod = "*"\nreason = "r"\nkind = "async-raised"\ntimeout_below = "1"\n')
    with pytest.raises(BadInputError, match="timeout_below must be a number"):
        known.load(bad)


def test_an_occasional_entry_is_never_stale_and_must_be_a_boolean(tmp_path: Path) -> None:
    assert entry(kind=("async-raised",), occasional=True).may_be_unseen
    assert not entry(kind=("async-raised",)).may_be_unseen
    bad = tmp_path / "k.toml"
    bad.write_text('[[divergence]]\nmethod = "q"\nreason = "r"\nkind = "async-raised"\noccasional = "yes"\n')
    with pytest.raises(BadInputError, match="occasional must be true or false"):
        known.load(bad)


def test_a_method_glob_never_covers_a_whole_run_check() -> None:
    """``method = "*"`` (one signature many methods share) covers methods, not whole-run checks such as flows or
    lifecycle checks; ``lifecycle:*`` does."""
    everything = entry(method="*", kind=("async-raised",))
    assert everything.covers("search") and not everything.covers("flow:seed_tutorial")
    assert not everything.covers("lifecycle:close")
    assert entry(method="lifecycle:*", kind=("async-raised",)).covers("lifecycle:close")
