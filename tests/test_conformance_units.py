"""Unit tests of the conformance machinery that need no server: comparison, normalisation, registry, report."""

from __future__ import annotations

import json

import pytest

from conformance import known, normalize
from conformance.check import Verdict
from conformance.compare import Outcome, difference, ranking_difference
from conformance.discovery import discover, signature_difference
from conformance.registry import Compare, spec
from conformance.specs import load_all
from conformance.report import junit, markdown, section, status_of


def hits(*pairs: tuple[int, float]) -> list[dict]:
    return [{"id": i, "distance": d} for i, d in pairs]


def test_ties_may_swap_but_other_orders_may_not() -> None:
    a = [hits((1, 0.1), (2, 0.5), (3, 0.5), (4, 0.9))]
    assert ranking_difference(a, [hits((1, 0.1), (3, 0.5), (2, 0.5), (4, 0.9))]) is None
    assert ranking_difference(a, [hits((2, 0.5), (1, 0.1), (3, 0.5), (4, 0.9))]) is not None
    # a cut through the last tie group may pick different members
    assert ranking_difference([hits((1, 0.1), (2, 0.5))], [hits((1, 0.1), (3, 0.5))]) is None
    assert ranking_difference([hits((1, 0.1), (2, 0.5))], [hits((1, 0.1))]) is not None


def test_data_floats_exact_and_bool_int_distinction() -> None:
    # data the server returns unchanged compares exactly; only computed scores have a tolerance (tests/test_compare.py)
    assert difference(Compare.EXACT, Outcome(True, [1.0000001]), Outcome(True, [1.0])) is not None
    assert difference(Compare.RANKED, Outcome(True, [[{"id": 1, "distance": 1.0000001}]]),
                      Outcome(True, [[{"id": 1, "distance": 1.0}]])) is None
    assert difference(Compare.EXACT, Outcome(True, [1.01]), Outcome(True, [1.0])) is not None
    assert difference(Compare.EXACT, Outcome(True, True), Outcome(True, 1)) is not None


def test_one_side_raising_is_a_divergence() -> None:
    err = {"class": "MilvusException", "code": 100, "message": "x"}
    assert "async raised" in difference(Compare.EXACT, Outcome(True, 1), Outcome(False, error=err))
    assert difference(Compare.EXACT, Outcome(False, error=err), Outcome(False, error=dict(err))) is None


def test_masking_of_names_ids_and_volatile_keys() -> None:
    text = normalize.mask_text("collection cf1a2x3s_coll id=458123456789012 at 127.0.0.1:19530", ["cf1a2x3s_"])
    assert text == "collection <ns>_coll id=<n> at <addr>"
    masked = normalize.mask({"collection_id": 99, "name": "cf1a2x3a_coll"}, ["cf1a2x3a_"])
    assert masked == {"collection_id": "<int>", "name": "<ns>_coll"}


def test_plain_handles_numpy_and_async_type_names() -> None:
    np = pytest.importorskip("numpy")
    assert normalize.plain({"v": np.float32(0.5), "a": np.arange(2)}) == {
        "v": {"__type__": "numpy.float32", "__value__": 0.5, "__attrs__": {"dtype": "float32"}},
        "a": {"__type__": "numpy.ndarray", "__value__": [0, 1], "__attrs__": {"dtype": "int64"}}}


def test_registry_covers_discovered_methods_and_rejects_bad_specs() -> None:
    assert set(discover().async_methods) <= set(load_all())
    with pytest.raises(ValueError, match="registered twice"):
        spec("search", "x", args=lambda: None)
    with pytest.raises(TypeError, match="unknown options"):
        spec("zz_not_a_method", "x", args=lambda: None, colour="red")


def test_signature_difference_names_parameters() -> None:
    def s(self, a, b=1): ...  # noqa: E704
    async def a(self, a, c=1): ...  # noqa: E704
    assert signature_difference(s, a) == ["only sync: b", "only async: c"]


def test_known_registry_matches_server_glob_and_version(tmp_path) -> None:
    path = tmp_path / "k.toml"
    path.write_text('[[divergence]]\nmethod = "m"\nserver = "lite*"\npymilvus = ">=3,<4"\nreason = "r"\n'
                    'kind = "async-raised"\n')
    entries = known.load(path)
    assert known.lookup(entries, "m", "lite3", "3.0.2") is not None
    assert known.lookup(entries, "m", "milvus", "3.0.2") is None
    assert known.lookup(entries, "m", "lite3", "2.6.1") is None
    path.write_text('[[divergence]]\nmethod = "m"\n')
    with pytest.raises(Exception, match="reason"):
        known.load(path)


def test_report_formats_agree() -> None:
    verdicts = [Verdict("search", "search", "lite3", "3.0.2", "pass"),
                Verdict("list_users", "rbac", "lite3", "3.0.2", "unsupported", "no RBAC"),
                Verdict("list_aliases", "alias", "lite3", "3.0.2", "known-divergence", known_reason="raw protobuf"),
                Verdict("compact", "data", "lite3", "3.0.2", "diverges", "sync 0, async raised")]
    sec = section(verdicts, discover())
    assert sec["counts"] == {"pass": 1, "diverges": 1, "unsupported": 1, "known-divergence": 1, "error": 0}
    assert status_of(sec) == "fail"
    assert "**unsupported**" in markdown(sec, {"kind": "embedded"})
    xml = junit(sec)
    assert 'failures="1"' in xml and 'skipped="2"' in xml
    json.dumps(sec)


def test_a_server_lacking_templates_gets_plain_filters_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lite 2.5.1 dies on `like {w}` templates: once the family is adopted, no drawn query carries filter_params,
    and a family without the trait still gets them."""
    from hypothesis import HealthCheck, given, settings

    from conformance import servers, world
    from conformance.strategies import query_kwargs

    monkeypatch.setitem(world.FEATURES, "filter_templates", True)  # restored after the test
    drawn: list[dict] = []

    @settings(max_examples=150, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(query_kwargs())
    def draw(kwargs: dict) -> None:
        drawn.append(kwargs)

    draw()
    assert any("filter_params" in k for k in drawn)
    servers.adopt("lite3")
    assert world.FEATURES["filter_templates"]
    servers.adopt("lite25")
    drawn.clear()
    draw()
    assert drawn and not any("filter_params" in k for k in drawn)


def test_a_spec_needing_what_the_server_lacks_is_unsupported_with_the_reason() -> None:
    from conformance.registry import Need
    from conformance.servers import lacking_need, trait_findings

    assert lacking_need("lite3", (Need.COLLECTION, Need.PARTITION)) is None
    why = lacking_need("lite25", (Need.COLLECTION, Need.PARTITION))
    assert why and "partition" in why and "create_partition" in why
    names = [f["name"] for f in trait_findings("lite25")]
    assert "lite25: filter_templates left out" in names
    # the static tables list nothing for Lite 3 (what a live server lacks is measured: data_traits' findings, which
    # depend on the server this session measured, are left out of this unit check)
    assert not [f for f in trait_findings("lite3") if f["name"].startswith("lite3:")]


def test_resolving_names_keeps_pymilvus_objects_that_subclass_list() -> None:
    """IndexParams is a list: resolving must hand it over as it is (a plain list made every drawn create_index
    example fail the same client-side type check on both sides, so the method was never really tested)."""
    from pymilvus import MilvusClient

    from conformance.world import Lazy, Namespace, Ref

    def params() -> object:
        p = MilvusClient.prepare_index_params()
        p.add_index("vec", index_type="FLAT", metric_type="L2")
        return p

    resolved = Namespace("x_").resolve({"collection_name": Ref("coll"), "index_params": Lazy(params, "params()"),
                                        "names": [Ref("a"), (Ref("b"),)]})
    assert type(resolved["index_params"]) is type(params())
    assert resolved["collection_name"] == "x_coll" and resolved["names"] == ["x_a", ("x_b",)]


def test_stored_reads_a_wrapped_container_as_what_it_holds_and_plain_keeps_the_wrapper() -> None:
    """pymilvus 3.0.0 reads an ARRAY field back as a protobuf repeated container: what the server stored is the
    list; the type stays visible to the client comparison."""
    from collections.abc import Sequence

    class Repeated(Sequence):  # like protobuf's RepeatedScalarContainer: a sequence, not a list
        def __init__(self, items: list) -> None:
            self._items = items

        def __getitem__(self, i):  # type: ignore[no-untyped-def]
            return self._items[i]

        def __len__(self) -> int:
            return len(self._items)

    row = {"id": 5, "tags": Repeated([0, 1]), "meta": {"k": 1}, "sparse": {3: 0.5}}
    assert normalize.stored(row) == {"id": 5, "tags": [0, 1], "meta": {"k": 1}, "sparse": [[3, 0.5]]}
    assert normalize.stored({"id": 5, "tags": [0, 1], "meta": {"k": 1}, "sparse": {3: 0.5}}) == normalize.stored(row)
    assert normalize.is_tagged(normalize.plain(row)["tags"])
    assert list(normalize.stored({"b": 1, "a": {"d": 2, "c": 3}})) == ["a", "b"]  # key order is not content


def test_every_listed_server_crash_has_a_trigger() -> None:
    """A crash the suite avoids must be one the trait test can set off (else a fixed server would go unnoticed)."""
    from conformance.servers import CRASH_TRIGGERS, CRASHES

    listed = {crash for crashes in CRASHES.values() for crash in crashes}
    assert listed == set(CRASH_TRIGGERS)
