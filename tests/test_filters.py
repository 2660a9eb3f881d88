"""Filter expressions: parse, print back to Milvus syntax, evaluate to masks equal to hand-written numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.datasets.base import Dataset
from scenarios.filters import (And, Compare, Const, Field, In, Like, Not, Or, Range, evaluate, like_regex,
                               parse_filter, selectivity, to_milvus)

N = 400
_rng = np.random.default_rng(5)
PCT = _rng.integers(0, 100, N)
SCORE = _rng.random(N)
FLAG = _rng.random(N) < 0.5
WORDS = np.array(["random text", "alpha", "beta random", "100%", "a_b", "omega"], dtype=object)
TEXT = WORDS[_rng.integers(0, len(WORDS), N)]
META = np.array([{"pct": int(p), "tag": t} if i % 10 else {"tag": t}
                 for i, (p, t) in enumerate(zip(PCT[::-1], np.array(["red", "blue"])[_rng.integers(0, 2, N)]))],
                dtype=object)
DS = Dataset(name="t", ids=np.arange(N, dtype=np.int64), vectors={"v": np.zeros((N, 2), np.float32)},
             scalars={"pct": PCT, "score": SCORE, "flag": FLAG, "text": TEXT, "meta": META},
             meta={"primary_field": "id"})
META_PCT = np.array([m.get("pct", -1) for m in META])
HAS_PCT = np.array(["pct" in m for m in META])
TAG = np.array([m["tag"] for m in META])
TEXT_U = TEXT.astype(str)

CASES = [
    ("pct < 10", PCT < 10),
    ("pct <= 10", PCT <= 10),
    ("10 > pct", PCT < 10),
    ("pct == 42", PCT == 42),
    ("pct != 42", PCT != 42),
    ("pct >= 90 || pct < 5", (PCT >= 90) | (PCT < 5)),
    ("pct > 20 AND pct < 30", (PCT > 20) & (PCT < 30)),
    ("20 < pct < 30", (PCT > 20) & (PCT < 30)),
    ("20 <= pct <= 30", (PCT >= 20) & (PCT <= 30)),
    ("30 > pct >= 20", (PCT >= 20) & (PCT < 30)),
    ("pct in [1, 2, 3]", np.isin(PCT, [1, 2, 3])),
    ("pct not in [1, 2, 3]", ~np.isin(PCT, [1, 2, 3])),
    ("pct IN []", np.zeros(N, bool)),
    ("score < 0.5 and flag == true", (SCORE < 0.5) & FLAG),
    ("not flag == true", ~FLAG),
    ("!(pct < 50) && flag == false", ~(PCT < 50) & ~FLAG),
    ("(pct < 10 or pct > 90) and not (score > 0.5)", ((PCT < 10) | (PCT > 90)) & ~(SCORE > 0.5)),
    ("id < 10", np.arange(N) < 10),
    ("id in [0, 399, 1000]", np.isin(np.arange(N), [0, 399])),
    ('meta["pct"] < 50', HAS_PCT & (META_PCT < 50)),
    ('not (meta["pct"] < 50)', ~(HAS_PCT & (META_PCT < 50))),
    ("meta['tag'] == \"red\"", TAG == "red"),
    ('meta["tag"] in ["red", "green"]', TAG == "red"),
    ('meta["nope"] == 1', np.zeros(N, bool)),
    ('text like "%random%"', np.char.find(TEXT_U, "random") >= 0),
    ('text like "random%"', np.char.startswith(TEXT_U, "random")),
    ('text like "%random"', np.char.endswith(TEXT_U, "random")),
    ('text like "alpha"', TEXT_U == "alpha"),
    ('text like "%"', np.ones(N, bool)),
    ('text like "a_b"', np.isin(TEXT_U, ["a_b"])),
    ('text like "_l%a"', TEXT_U == "alpha"),
    ('text like "100\\%"', TEXT_U == "100%"),
    ('text == "omega"', TEXT_U == "omega"),
    ('text > "b"', TEXT_U > "b"),
    ("true", np.ones(N, bool)),
    ("false or pct < 1", PCT < 1),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0] for c in CASES])
def test_expression_table(text, expected) -> None:
    np.testing.assert_array_equal(evaluate(text, DS), expected)
    again = parse_filter(to_milvus(parse_filter(text)))
    assert again == parse_filter(text)
    np.testing.assert_array_equal(evaluate(again, DS), expected)


def test_ast_shapes() -> None:
    assert parse_filter("a < 1 and b == 'x' or not c in [1]") == Or(
        And(Compare(Field("a"), "<", 1), Compare(Field("b"), "==", "x")),
        Not(In(Field("c"), (1,))))
    assert parse_filter('m["k"][0] like "x%"') == Like(Field("m", ("k", 0)), "x%")
    assert parse_filter("1.5e3 <= x < -2") == Range(Field("x"), 1500.0, -2, True, False)
    assert parse_filter("TRUE") == Const(True)
    assert to_milvus(parse_filter("a<1&&b>2")) == "(a < 1) and (b > 2)"


@pytest.mark.parametrize("text,pos", [
    ("pct <", 5), ("pct + 1 > 2", 4), ("array_contains(tags, 1)", 14), ("pct < 10 and", 12), ("(pct < 1", 8),
    ("pct like 5", 9), ("1 < 2", 0), ("pct < 1 < pct", 0), ("1 < pct > 2", 2), ("pct = 1", 4), ("pct not 1", 8),
])
def test_unsupported_syntax_names_the_position(text, pos) -> None:
    with pytest.raises(ValueError, match=f"position {pos}"):
        parse_filter(text)


@pytest.mark.parametrize("text,match", [("nope < 1", "nope"), ('pct == "x"', "pct"), ("flag == 1", "flag"),
                                        ("", "empty")])
def test_bad_fields_and_types_are_value_errors(text, match) -> None:
    with pytest.raises(ValueError, match=match):
        evaluate(text, DS)


def test_selectivity() -> None:
    assert selectivity("pct < 30", DS) == pytest.approx((PCT < 30).mean())


def test_like_regex_escapes() -> None:
    assert like_regex("a.c%").fullmatch("a.cde") and not like_regex("a.c%").fullmatch("abcde")


_fields = st.sampled_from(["pct", "score"])
_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
_atoms = st.one_of(
    st.builds(Const, st.booleans()),
    st.builds(Compare, _fields.map(Field), _ops, st.integers(-5, 105)),
    st.builds(In, st.just(Field("pct")), st.lists(st.integers(0, 99), max_size=4).map(tuple), st.booleans()),
)
_exprs = st.recursive(_atoms, lambda sub: st.one_of(st.builds(Not, sub), st.builds(And, sub, sub),
                                                    st.builds(Or, sub, sub)), max_leaves=8)


def _reference(expr) -> np.ndarray:
    if isinstance(expr, Const):
        return np.full(N, expr.value)
    if isinstance(expr, Compare):
        col = {"pct": PCT, "score": SCORE}[expr.field.name]
        return {"==": col == expr.value, "!=": col != expr.value, "<": col < expr.value, "<=": col <= expr.value,
                ">": col > expr.value, ">=": col >= expr.value}[expr.op]
    if isinstance(expr, In):
        hit = np.isin(PCT, list(expr.values))
        return ~hit if expr.negated else hit
    if isinstance(expr, Not):
        return ~_reference(expr.operand)
    if isinstance(expr, And):
        return _reference(expr.left) & _reference(expr.right)
    return _reference(expr.left) | _reference(expr.right)


@settings(max_examples=150, deadline=None)
@given(_exprs)
def test_printed_expressions_round_trip_and_evaluate(expr) -> None:
    text = to_milvus(expr)
    assert parse_filter(text) == expr
    np.testing.assert_array_equal(evaluate(text, DS), _reference(expr))
