"""The subset of Milvus boolean filter expressions the scenarios use: parse to an AST, print back, evaluate to a mask.

Grammar (keywords are case-insensitive; ``&&``, ``||`` and ``!`` are the symbolic forms of and/or/not)::

    expr     := or
    or       := and (("or" | "||") and)*
    and      := unary (("and" | "&&") unary)*
    unary    := ("not" | "!") unary | atom
    atom     := "(" expr ")" | "true" | "false" | predicate
    predicate:= operand CMP operand                      (one side a field, the other a literal)
              | literal LT field LT literal              (chained range, both "<"/"<=" or both ">"/">=")
              | field ["not"] "in" "[" literal ("," literal)* "]"
              | field "like" STRING                       (% = any run of characters, _ = one character)
    field    := NAME ("[" (STRING | INT) "]")*           (JSON path / array index: meta["pct"], tags[0])
    literal  := INT | FLOAT | STRING | "true" | "false"  (numbers may carry a leading "-")
    CMP      := "==" | "!=" | "<" | "<=" | ">" | ">="

Evaluation follows Milvus where the subset allows: a JSON key that is missing (or holds a value of another type)
makes the predicate false for that row.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np

from scenarios.datasets.base import Dataset

Scalar = Union[bool, int, float, str]


# --------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Field:
    """A field reference, optionally with a JSON path / array index (``meta["pct"]`` -> path ``("pct",)``)."""

    name: str
    path: tuple[Union[str, int], ...] = ()


@dataclass(frozen=True)
class Const:
    """``true`` or ``false`` as a whole expression."""

    value: bool


@dataclass(frozen=True)
class Compare:
    """``field op value``."""

    field: Field
    op: str
    value: Scalar


@dataclass(frozen=True)
class Range:
    """``lower </<= field </<= upper``."""

    field: Field
    lower: Scalar
    upper: Scalar
    lower_inclusive: bool = False
    upper_inclusive: bool = False


@dataclass(frozen=True)
class In:
    """``field in [values]`` (``negated``: ``not in``)."""

    field: Field
    values: tuple[Scalar, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    """``field like "pattern"`` with ``%`` and ``_`` wildcards."""

    field: Field
    pattern: str


@dataclass(frozen=True)
class Not:
    """``not operand``."""

    operand: "Expr"


@dataclass(frozen=True)
class And:
    """``left and right``."""

    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Or:
    """``left or right``."""

    left: "Expr"
    right: "Expr"


Expr = Union[Const, Compare, Range, In, Like, Not, And, Or]

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


# --------------------------------------------------------------------------------------------- printing


def to_milvus(expr: Expr) -> str:
    """The expression in Milvus syntax (parsing the result gives back an equal AST)."""
    if isinstance(expr, Const):
        return "true" if expr.value else "false"
    if isinstance(expr, Compare):
        return f"{_field_text(expr.field)} {expr.op} {_literal_text(expr.value)}"
    if isinstance(expr, Range):
        lo = "<=" if expr.lower_inclusive else "<"
        hi = "<=" if expr.upper_inclusive else "<"
        return f"{_literal_text(expr.lower)} {lo} {_field_text(expr.field)} {hi} {_literal_text(expr.upper)}"
    if isinstance(expr, In):
        values = ", ".join(_literal_text(v) for v in expr.values)
        return f"{_field_text(expr.field)} {'not in' if expr.negated else 'in'} [{values}]"
    if isinstance(expr, Like):
        return f"{_field_text(expr.field)} like {_string_text(expr.pattern)}"
    if isinstance(expr, Not):
        return f"not ({to_milvus(expr.operand)})"
    if isinstance(expr, (And, Or)):
        word = "and" if isinstance(expr, And) else "or"
        return f"({to_milvus(expr.left)}) {word} ({to_milvus(expr.right)})"
    raise TypeError(f"not a filter expression: {expr!r}")


def _field_text(field: Field) -> str:
    return field.name + "".join(f"[{_string_text(p) if isinstance(p, str) else p}]" for p in field.path)


def _string_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string_text(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --------------------------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class _Token:
    kind: str  # NAME, INT, FLOAT, STRING, OP, KW, END
    value: Any
    pos: int


_KEYWORDS = {"and", "or", "not", "in", "like", "true", "false"}
_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<float>-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+)
  | (?P<int>-?\d+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\],])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def tokenize(text: str) -> list[_Token]:
    """The tokens of a filter expression (ValueError naming the position of anything unrecognised)."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise ValueError(f"filter {text!r}: unexpected character {text[pos]!r} at position {pos}")
        kind = match.lastgroup
        raw = match.group()
        if kind == "float":
            tokens.append(_Token("FLOAT", float(raw), pos))
        elif kind == "int":
            tokens.append(_Token("INT", int(raw), pos))
        elif kind == "string":
            tokens.append(_Token("STRING", _unescape(raw[1:-1]), pos))
        elif kind == "name":
            low = raw.lower()
            tokens.append(_Token("KW", low, pos) if low in _KEYWORDS else _Token("NAME", raw, pos))
        elif kind == "op":
            tokens.append(_Token("OP", {"&&": "and", "||": "or", "!": "not"}.get(raw, raw), pos))
        pos = match.end()
    tokens.append(_Token("END", None, len(text)))
    # "&&" / "||" / "!" behave exactly like the keywords
    return [_Token("KW", t.value, t.pos) if t.kind == "OP" and t.value in ("and", "or", "not") else t
            for t in tokens]


# --------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def error(self, what: str, tok: _Token | None = None) -> ValueError:
        tok = tok or self.tok
        found = "end of input" if tok.kind == "END" else repr(self.text[tok.pos:tok.pos + 20])
        return ValueError(f"filter {self.text!r}: {what} at position {tok.pos} (found {found})")

    def accept(self, kind: str, value: Any = None) -> _Token | None:
        tok = self.tok
        if tok.kind == kind and (value is None or tok.value == value):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, value: Any, what: str) -> _Token:
        tok = self.accept(kind, value)
        if tok is None:
            raise self.error(f"expected {what}")
        return tok

    def parse(self) -> Expr:
        expr = self.or_()
        if self.tok.kind != "END":
            raise self.error("unexpected token")
        return expr

    def or_(self) -> Expr:
        expr = self.and_()
        while self.accept("KW", "or"):
            expr = Or(expr, self.and_())
        return expr

    def and_(self) -> Expr:
        expr = self.unary()
        while self.accept("KW", "and"):
            expr = And(expr, self.unary())
        return expr

    def unary(self) -> Expr:
        if self.accept("KW", "not"):  # "field not in [...]" is handled in predicate(): it follows a field
            return Not(self.unary())
        return self.atom()

    def atom(self) -> Expr:
        if self.accept("OP", "("):
            expr = self.or_()
            self.expect("OP", ")", "')'")
            return expr
        tok = self.tok
        if tok.kind == "KW" and tok.value in ("true", "false"):
            nxt = self.tokens[self.i + 1]
            if not (nxt.kind == "OP" and nxt.value in COMPARISONS):
                self.i += 1
                return Const(tok.value == "true")
        return self.predicate()

    def predicate(self) -> Expr:
        start = self.tok
        left = self.operand()
        if isinstance(left, Field):
            if self.accept("KW", "in"):
                return In(left, self.list_literal())
            if self.tok.kind == "KW" and self.tok.value == "not":
                self.i += 1
                self.expect("KW", "in", "'in' after 'not'")
                return In(left, self.list_literal(), negated=True)
            if self.accept("KW", "like"):
                tok = self.expect("STRING", None, "a string pattern after 'like'")
                return Like(left, tok.value)
        op_tok = self.tok
        if not (op_tok.kind == "OP" and op_tok.value in COMPARISONS):
            raise self.error("expected a comparison operator, 'in', 'not in' or 'like'")
        self.i += 1
        right = self.operand()
        nxt = self.tok
        if nxt.kind == "OP" and nxt.value in COMPARISONS:  # chained range: lit op field op lit
            self.i += 1
            upper = self.operand()
            return self._range(start, left, op_tok, right, nxt.value, upper)
        if isinstance(left, Field) == isinstance(right, Field):
            raise self.error("a comparison needs one field and one literal", start)
        if isinstance(left, Field):
            return Compare(left, op_tok.value, right)
        return Compare(right, _FLIP[op_tok.value], left)

    def _range(self, start: _Token, lower: Any, op1: _Token, field: Any, op2: str, upper: Any) -> Range:
        if isinstance(lower, Field) or not isinstance(field, Field) or isinstance(upper, Field):
            raise self.error("a chained comparison must be 'literal < field < literal'", start)
        ops = (op1.value, op2)
        if all(o in ("<", "<=") for o in ops):
            return Range(field, lower, upper, ops[0] == "<=", ops[1] == "<=")
        if all(o in (">", ">=") for o in ops):
            return Range(field, upper, lower, ops[1] == ">=", ops[0] == ">=")
        raise self.error("a chained comparison needs both '<'/'<=' or both '>'/'>='", op1)

    def operand(self) -> Any:
        tok = self.tok
        if tok.kind == "NAME":
            self.i += 1
            path: list[Union[str, int]] = []
            while self.accept("OP", "["):
                key = self.accept("STRING") or self.accept("INT")
                if key is None:
                    raise self.error("expected a string key or an integer index")
                path.append(key.value)
                self.expect("OP", "]", "']'")
            return Field(tok.value, tuple(path))
        return self.literal()

    def literal(self) -> Scalar:
        tok = self.tok
        if tok.kind in ("INT", "FLOAT", "STRING"):
            self.i += 1
            return tok.value
        if tok.kind == "KW" and tok.value in ("true", "false"):
            self.i += 1
            return tok.value == "true"
        raise self.error("expected a field or a literal")

    def list_literal(self) -> tuple[Scalar, ...]:
        self.expect("OP", "[", "'['")
        values: list[Scalar] = []
        if not self.accept("OP", "]"):
            values.append(self.literal())
            while self.accept("OP", ","):
                values.append(self.literal())
            self.expect("OP", "]", "']' or ','")
        return tuple(values)


def parse_filter(text: str) -> Expr:
    """The AST of a filter expression; ValueError naming the position of unsupported syntax."""
    if not text or not text.strip():
        raise ValueError("filter is empty")
    return _Parser(text).parse()


# --------------------------------------------------------------------------------------------- evaluation


def evaluate(expr: Expr | str, dataset: Dataset) -> np.ndarray:
    """A bool array, one per dataset row: which rows the expression keeps."""
    if isinstance(expr, str):
        expr = parse_filter(expr)
    return _Evaluator(dataset).eval(expr)


def selectivity(text: str, dataset: Dataset) -> float:
    """Fraction of the dataset's rows the filter keeps (0.0 for an empty dataset)."""
    mask = evaluate(text, dataset)
    return float(mask.mean()) if mask.size else 0.0


def like_regex(pattern: str) -> re.Pattern:
    """A regex equal to a Milvus ``like`` pattern: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal."""
    parts = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


class _Evaluator:
    def __init__(self, dataset: Dataset) -> None:
        self.ds = dataset
        self.n = len(dataset)

    def eval(self, expr: Expr) -> np.ndarray:
        if isinstance(expr, Const):
            return np.full(self.n, expr.value, dtype=bool)
        if isinstance(expr, Not):
            return ~self.eval(expr.operand)
        if isinstance(expr, And):
            return self.eval(expr.left) & self.eval(expr.right)
        if isinstance(expr, Or):
            return self.eval(expr.left) | self.eval(expr.right)
        if isinstance(expr, Compare):
            return self.compare(expr.field, expr.op, expr.value)
        if isinstance(expr, Range):
            lo = self.compare(expr.field, ">=" if expr.lower_inclusive else ">", expr.lower)
            return lo & self.compare(expr.field, "<=" if expr.upper_inclusive else "<", expr.upper)
        if isinstance(expr, In):
            values, present = self.column(expr.field, expr.values[0] if expr.values else None)
            literals = np.array(list(expr.values))
            if values.dtype.kind in "US":
                literals = literals.astype(str)
            hit = np.isin(values, literals) if literals.size else np.zeros(self.n, dtype=bool)
            return (~hit if expr.negated else hit) & present
        if isinstance(expr, Like):
            values, present = self.column(expr.field, "")
            return _like(values, expr.pattern) & present
        raise TypeError(f"not a filter expression: {expr!r}")

    def compare(self, field: Field, op: str, value: Scalar) -> np.ndarray:
        values, present = self.column(field, value)
        return np.asarray(COMPARISONS[op](values, value), dtype=bool) & present

    def column(self, field: Field, sample: Any) -> tuple[np.ndarray, np.ndarray]:
        """(values, present): the field's values as a comparable array and which rows have one."""
        raw = self._raw(field.name)
        if field.path:
            return _json_values(raw, field.path, sample)
        if raw.dtype.kind == "O":
            if isinstance(sample, str):
                if not all(isinstance(v, str) for v in raw[:1000]):
                    raise ValueError(f"field {field.name!r} is not a string field")
                return raw.astype(str), np.ones(self.n, dtype=bool)
            raise ValueError(f"field {field.name!r} holds {type(raw[0]).__name__} values; "
                             f"cannot compare with {sample!r}")
        if isinstance(sample, str) != (raw.dtype.kind in "US"):
            raise ValueError(f"field {field.name!r} ({raw.dtype}) cannot be compared with {sample!r}")
        if isinstance(sample, bool) != (raw.dtype.kind == "b"):
            raise ValueError(f"field {field.name!r} ({raw.dtype}) cannot be compared with {sample!r}")
        return raw, np.ones(self.n, dtype=bool)

    def _raw(self, name: str) -> np.ndarray:
        if name in self.ds.scalars:
            return np.asarray(self.ds.scalars[name])
        if name == self.ds.meta.get("primary_field", "id"):
            return np.asarray(self.ds.ids)
        raise ValueError(f"filter names field {name!r}, which the dataset has no values for "
                         f"(scalar fields: {sorted(self.ds.scalars)})")


def _json_values(raw: np.ndarray, path: tuple, sample: Any) -> tuple[np.ndarray, np.ndarray]:
    """Values at ``path`` inside each row's JSON/array value, typed like ``sample``; missing -> not present."""
    want_str, want_bool = isinstance(sample, str), isinstance(sample, bool)
    out: list[Any] = []
    present = np.zeros(len(raw), dtype=bool)
    for i, value in enumerate(raw.tolist()):
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        ok = (isinstance(value, str) if want_str else isinstance(value, bool) if want_bool
              else isinstance(value, (int, float)) and not isinstance(value, bool))
        present[i] = ok
        out.append(value if ok else ("" if want_str else False if want_bool else 0))
    dtype = str if want_str else bool if want_bool else float
    return np.array(out, dtype=dtype), present


def _like(values: np.ndarray, pattern: str) -> np.ndarray:
    """Rows whose string value matches a ``like`` pattern (fast paths for prefix, suffix, infix and equality)."""
    values = values.astype(str)
    body = pattern.strip("%")
    simple = "_" not in pattern and "\\" not in pattern and "%" not in body
    if simple:
        starts, ends = pattern.startswith("%"), pattern.endswith("%") and len(pattern) > 1
        if starts and ends:
            return np.char.find(values, body) >= 0
        if ends:
            return np.char.startswith(values, body)
        if starts:
            return np.char.endswith(values, body)
        return values == body
    regex = like_regex(pattern)
    return np.fromiter((regex.fullmatch(v) is not None for v in values.tolist()), dtype=bool, count=len(values))
