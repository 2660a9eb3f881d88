"""Unit tests of the value comparison (conformance.compare) and normalisation (conformance.normalize): what a
caller observes is kept (types, pymilvus result classes and their attributes, exact data values), and only computed
scores get a tolerance. Results are built with pymilvus' own classes from protobuf messages, as the clients do."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pytest

from conformance import normalize
from conformance.compare import Outcome, difference, first_difference, ranking_difference, structure
from conformance.registry import Compare
from conformance.specs import load_all


def exact(x: Any, y: Any) -> Optional[str]:
    return difference(Compare.EXACT, Outcome(True, normalize.plain(x)), Outcome(True, normalize.plain(y)))


def ranked(x: Any, y: Any) -> Optional[str]:
    return difference(Compare.RANKED, Outcome(True, normalize.plain(x)), Outcome(True, normalize.plain(y)))


def search_result(ids: list[int], scores: list[float], doubles: Optional[list[float]] = None,
                  topks: Optional[list[int]] = None, recalls: Optional[list[float]] = None) -> Any:
    """A pymilvus SearchResult as the clients build it from the server's SearchResultData."""
    from pymilvus.client.search_result import SearchResult
    from pymilvus.client.types import DataType
    from pymilvus.grpc_gen import schema_pb2

    fields = []
    if doubles is not None:
        fields.append(schema_pb2.FieldData(type=DataType.DOUBLE, field_name="score",
                                           scalars=schema_pb2.ScalarField(
                                               double_data=schema_pb2.DoubleArray(data=doubles))))
    data = schema_pb2.SearchResultData(
        num_queries=len(topks or [len(ids)]), top_k=max(topks or [len(ids)]), scores=scores,
        ids=schema_pb2.IDs(int_id=schema_pb2.LongArray(data=ids)), topks=topks or [len(ids)],
        fields_data=fields, output_fields=["score"] if doubles is not None else [], recalls=recalls or [])
    return SearchResult(data)


# ------------------------------------------------------------------ exact values


def test_an_int_stays_an_int_and_a_bool_a_bool() -> None:
    assert "type int != float" in exact([{"id": 1}], [{"id": 1.0}])
    assert exact([{"id": 1}], [{"id": 1}]) is None
    assert exact(True, 1) is not None
    assert exact({1: 0.5}, {"1": 0.5}) is not None  # sparse vectors keep their int keys


def test_data_floats_compare_exactly_at_their_precision() -> None:
    third = 1 / 3  # a DOUBLE field
    assert exact([third], [third * (1 + 1e-7)]) is not None
    assert exact([third], [1 / 3]) is None
    f32 = float(np.float32(0.1))  # a FLOAT field / float vector element as pymilvus gives it
    assert exact([f32], [float(np.nextafter(np.float32(0.1), np.float32(1)))]) is not None
    assert exact([f32], [0.1]) is not None  # the float32 value, not the decimal it came from
    assert exact([np.float32(0.1)], [f32]) is not None  # a numpy float32 is not a Python float
    assert exact(np.array([0.1], dtype=np.float32), np.array([0.1], dtype=np.float64)) is not None
    assert exact(np.array([0.1], dtype=np.float32), np.array([0.1], dtype=np.float32)) is None


def test_strings_bytes_and_containers_compare_exactly() -> None:
    assert exact(b"\x01\x02", b"\x01\x03") is not None
    assert exact(b"\x01", "0x01") is not None
    assert exact((1, 2), [1, 2]) is not None
    assert exact({"a": 1, "b": 2}, {"b": 2, "a": 1}) is not None  # iteration order is observable
    assert exact(float("nan"), float("nan")) is None


def test_pymilvus_list_and_dict_subclasses_keep_class_and_attributes() -> None:
    from pymilvus.client.types import ExtraList, OmitZeroDict

    rows = [{"id": 1, "score": 0.5}]
    assert "type ExtraList != list" in exact(ExtraList(rows, extra={"cost": 0}), list(rows))
    assert "@extra" in exact(ExtraList(rows, extra={"cost": 0}), ExtraList(rows, extra={"cost": 2, "x": 1}))
    assert exact(ExtraList(rows, extra={"cost": 0}), ExtraList(rows, extra={"cost": 0})) is None
    assert exact(OmitZeroDict({"insert_count": 1}), {"insert_count": 1}) is not None


def test_async_mirror_classes_are_the_same_type_other_classes_are_not() -> None:
    class Session(list):
        pass

    class AsyncSession(list):
        pass

    class Other(list):
        pass

    assert exact(Session([1]), AsyncSession([1])) is None
    assert exact(Session([1]), Other([1])) is not None


def test_volatile_attribute_values_are_masked_but_stay_present() -> None:
    from pymilvus.client.types import ExtraList

    a = normalize.mask(normalize.plain(ExtraList([1], extra={"cost": 0, "iterator_session_ts": 4587})))
    b = normalize.mask(normalize.plain(ExtraList([1], extra={"cost": 0, "iterator_session_ts": 9999})))
    c = normalize.mask(normalize.plain(ExtraList([1], extra={"cost": 0})))
    assert difference(Compare.EXACT, Outcome(True, a), Outcome(True, b)) is None
    assert difference(Compare.EXACT, Outcome(True, a), Outcome(True, c)) is not None


def test_unordered_and_structural_keep_the_container_type() -> None:
    from pymilvus.client.types import ExtraList

    x, y = normalize.plain(ExtraList(["b", "a"])), normalize.plain(ExtraList(["a", "b"]))
    assert difference(Compare.UNORDERED, Outcome(True, x), Outcome(True, y)) is None
    assert difference(Compare.UNORDERED, Outcome(True, x), Outcome(True, ["a", "b"])) is not None
    assert difference(Compare.STRUCTURAL, Outcome(True, x), Outcome(True, ["a", "b"])) is not None
    assert structure(x)["__type__"] == "ExtraList"


def test_first_difference_keeps_its_signature_and_tolerates_only_computed_paths() -> None:
    assert first_difference({"a": 1.0}, {"a": 1.0 + 1e-9}) is not None
    assert first_difference({"a": 1.0}, {"a": 1.0 + 1e-9}, computed=lambda p: p == ".a") is None
    assert first_difference({"a": 1.0}, {"a": 1.1}, computed=lambda p: p == ".a") is not None
    assert first_difference([1], [2], "x") == "x[0]: 1 != 2"


# ------------------------------------------------------------------ search results


def test_search_results_keep_their_classes_and_attributes() -> None:
    res = search_result([1, 2], [0.1, 0.2], doubles=[0.5, 0.25])
    value = normalize.plain(res)
    assert value["__type__"] == "SearchResult" and value["__value__"][0]["__type__"] == "HybridHits"
    assert value["__value__"][0]["__value__"][0]["__type__"] == "Hit"
    assert ranked(res, search_result([1, 2], [0.1, 0.2], doubles=[0.5, 0.25])) is None
    assert "type SearchResult != list" in ranked(res, [[dict(h) for h in q] for q in res])
    assert "@recalls" in ranked(search_result([1], [0.1], recalls=[0.9]), search_result([1], [0.1], recalls=[0.5]))
    assert ranked(search_result([1], [0.1], recalls=[0.9]), search_result([1], [0.1], recalls=[0.9 + 1e-9])) is None


def test_scores_are_computed_entity_values_are_not() -> None:
    base = search_result([1, 2], [0.1, 0.2], doubles=[0.5, 0.25])
    assert ranked(base, search_result([1, 2], [0.1 + 1e-8, 0.2], doubles=[0.5, 0.25])) is None
    # the entity's DOUBLE field is named "score": data, compared exactly
    assert "entity.score" in ranked(base, search_result([1, 2], [0.1, 0.2], doubles=[0.5 * (1 + 1e-7), 0.25]))


def test_only_the_tie_with_the_last_kept_hit_may_differ() -> None:
    a = search_result([1, 2, 3, 4], [0.1, 0.5, 0.5, 0.9], doubles=[1.0, 2.0, 3.0, 4.0])
    # ties that are not last: any order, the same members, each with its own entity
    assert ranked(a, search_result([1, 3, 2, 4], [0.1, 0.5, 0.5, 0.9], doubles=[1.0, 3.0, 2.0, 4.0])) is None
    assert ranked(a, search_result([1, 3, 2, 4], [0.1, 0.5, 0.5, 0.9], doubles=[1.0, 2.0, 3.0, 4.0])) is not None
    assert ranked(a, search_result([1, 2, 5, 4], [0.1, 0.5, 0.5, 0.9], doubles=[1.0, 2.0, 3.0, 4.0])) is not None
    # a hit outside any tie must be the same hit (id and entity)
    assert ranked(a, search_result([1, 2, 3, 5], [0.1, 0.5, 0.5, 0.9], doubles=[1.0, 2.0, 3.0, 4.0])) is None
    assert ranked(a, search_result([6, 2, 3, 4], [0.1, 0.5, 0.5, 0.9], doubles=[1.0, 2.0, 3.0, 4.0])) is not None
    # a cut through the last tie group may pick different members; the shared ones must still match
    b = search_result([1, 2, 3], [0.1, 0.5, 0.5], doubles=[1.0, 2.0, 3.0])
    assert ranked(b, search_result([1, 3, 7], [0.1, 0.5, 0.5], doubles=[1.0, 3.0, 7.0])) is None
    assert ranked(b, search_result([1, 3, 7], [0.1, 0.5, 0.5], doubles=[1.0, 3.5, 7.0])) is not None


def test_limit_one_differs_only_on_a_true_tie() -> None:
    best = search_result([1], [0.1], doubles=[1.0])
    assert ranked(best, search_result([2], [0.1], doubles=[2.0])) is None  # another candidate with the same score
    assert "scores differ" in ranked(best, search_result([2], [0.2], doubles=[2.0]))  # the second best
    assert ranked(best, search_result([1], [0.1], doubles=[1.5])) is not None  # same id, other entity


def test_hits_attributes_are_exact_when_the_hits_are_the_same() -> None:
    a = search_result([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], topks=[2, 2])
    same = normalize.plain(search_result([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], topks=[2, 2]))
    other = normalize.plain(search_result([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], topks=[2, 2]))
    other["__value__"][1]["__attrs__"]["start"] = 0
    assert ranked(a, search_result([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], topks=[2, 2])) is None
    assert difference(Compare.RANKED, Outcome(True, same), Outcome(True, other)) is not None
    assert "@start" in difference(Compare.RANKED, Outcome(True, same), Outcome(True, other))


def test_plain_lists_of_hits_are_still_compared_tie_aware() -> None:
    def hits(*pairs: tuple[int, float]) -> list[dict]:
        return [{"id": i, "distance": d} for i, d in pairs]

    a = [hits((1, 0.1), (2, 0.5), (3, 0.5), (4, 0.9))]
    assert ranking_difference(a, [hits((1, 0.1), (3, 0.5), (2, 0.5), (4, 0.9))]) is None
    assert ranking_difference(a, [hits((2, 0.5), (1, 0.1), (3, 0.5), (4, 0.9))]) is not None
    assert ranking_difference([hits((1, 0.1), (2, 0.5))], [hits((1, 0.1))]) is not None


# ------------------------------------------------------------------ specs


@pytest.mark.parametrize("method", ["list_collections", "list_databases", "list_partitions", "list_users",
                                    "list_roles", "list_privilege_groups"])
def test_listings_of_per_side_names_are_unordered(method: str) -> None:
    assert load_all()[method].compare is Compare.UNORDERED


@pytest.mark.parametrize("method", ["query", "get"])
def test_point_reads_keep_their_order(method: str) -> None:
    assert load_all()[method].compare is Compare.EXACT


def test_listings_of_per_side_names_are_canonical_other_string_lists_keep_order() -> None:
    own, other = "cf1x2s_", "cf1x3a_"
    assert normalize.only_own([f"{own}b", "default", f"{other}c", f"{own}a"], [own]) == \
        ["cf1x2s_a", "cf1x2s_b", "default"]
    assert normalize.only_own(["vec_idx", "sparse_idx"], [own]) == ["vec_idx", "sparse_idx"]


def test_after_a_cut_through_the_last_tie_only_the_parallel_lists_are_loose() -> None:
    sync = normalize.plain(search_result([1, 2, 3], [0.1, 0.5, 0.5], doubles=[1.0, 2.0, 3.0]))
    asyn = normalize.plain(search_result([1, 3, 7], [0.1, 0.5, 0.5], doubles=[1.0, 3.0, 7.0]))
    assert sync["__value__"][0]["__attrs__"]["ids"] != asyn["__value__"][0]["__attrs__"]["ids"]
    assert difference(Compare.RANKED, Outcome(True, sync), Outcome(True, asyn)) is None
    asyn["__value__"][0]["__attrs__"]["start"] = 5
    assert "@start" in difference(Compare.RANKED, Outcome(True, sync), Outcome(True, asyn))


def test_objects_show_their_public_attributes_and_properties() -> None:
    class Info:
        def __init__(self) -> None:
            self._name, self.level = "db", 2

        @property
        def name(self) -> str:
            return self._name

    class AsyncInfo(Info):
        pass

    assert normalize.plain(Info()) == {"__type__": "Info", "level": 2, "name": "db"}
    assert exact(Info(), AsyncInfo()) is None
