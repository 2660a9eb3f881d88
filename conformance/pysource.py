"""Python source for call arguments, for reproducer scripts that must run without this harness.

An :class:`Emitter` turns a value into an expression, plus the statements that build it first (a schema is
``schema = MilvusClient.create_schema(...)`` and one ``schema.add_field(...)`` line per field). Names of setup
objects become ``p('coll')``. Every object that is not plain data (pymilvus objects, numpy arrays, scipy
matrices) is checked at once: its source is executed and the result must equal the original, otherwise
:class:`Unrenderable` is raised, so a reproducer never silently calls something else.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any, Callable, Iterable, Optional

from conformance.objsource import CANONS, RENDERERS
from conformance.pyexpr import Unrenderable, call, is_identifier  # noqa: F401 - call, is_identifier: re-exported
from conformance.world import Lazy, Named, Namespace, Ref

#: An import a rendering needs: (module, name or None, alias or None), e.g. ("pymilvus", "DataType", None) is
#: ``from pymilvus import DataType``, ("numpy", None, "np") is ``import numpy as np``.
Import = tuple[str, Optional[str], Optional[str]]

#: Stands for a side's name prefix in values recorded or built for a placeholder namespace.
PLACEHOLDER = "\x00prefix\x00"
#: Lines longer than this are broken (one item per line) where a break keeps them readable.
WIDTH = 110
STEP = "    "


class Source:
    """Source text used verbatim (``TIMEOUT``, a variable name)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def placeholder_name(ref: str) -> str:
    """The name of setup object ``ref`` in the placeholder namespace (``p`` of the checking sandbox)."""
    return PLACEHOLDER + ref


def _plain_scalar(value: Any) -> Optional[str]:
    kind = type(value)
    if kind in (type(None), bool, int, bytes):
        return repr(value)
    if kind is float:
        return repr(value) if math.isfinite(value) else f"float({repr(value)!r})"
    if kind is str:
        return _string(value)
    return None


def _string(value: str) -> str:
    if PLACEHOLDER not in value:
        return repr(value)
    rest = value[len(PLACEHOLDER):]
    if value.startswith(PLACEHOLDER) and PLACEHOLDER not in rest:
        return f"p({rest!r})"
    template = value.replace("{", "{{").replace("}", "}}").replace(PLACEHOLDER, "{p}")
    return f"{template!r}.format(p=p(''))"


class Emitter:
    """Renders values for one function body: :attr:`statements` to run first, imports the source needs."""

    def __init__(self, indent: str = STEP) -> None:
        self.indent = indent
        self.statements: list[str] = []
        self.imports: set[Import] = set()
        self._names: dict[str, int] = {}

    def need(self, module: str, name: Optional[str] = None, alias: Optional[str] = None) -> None:
        """Record an import the rendered source needs."""
        self.imports.add((module, name, alias))

    def variable(self, stem: str) -> str:
        """A fresh variable name (``schema``, ``schema_2``, ...)."""
        n = self._names[stem] = self._names.get(stem, 0) + 1
        return stem if n == 1 else f"{stem}_{n}"

    def emit(self, line: str) -> None:
        """Add a statement (one logical line, continuation lines already indented)."""
        self.statements.append(self.indent + line)

    def expr(self, value: Any, indent: Optional[str] = None, top: bool = False) -> str:
        """The expression of ``value``; ``top`` lets a long dict break into one key per line."""
        indent = self.indent if indent is None else indent
        scalar = _plain_scalar(value)
        if scalar is not None:
            return scalar
        if isinstance(value, Source):
            return value.text
        if isinstance(value, Ref):
            return f"p({value.name!r})"
        if isinstance(value, Named):
            return f"{value.template!r}.format(p=p(''))"
        if isinstance(value, Lazy):  # built as the harness builds it for a side, then written out
            return self.expr(Namespace(PLACEHOLDER).resolve(value), indent, top)
        if type(value) in (dict, list, tuple, set):
            return self._container(value, indent, top)
        renderer = _renderer(value)
        if renderer is None:
            raise Unrenderable(f"cannot write {type(value).__module__}.{type(value).__qualname__} as Python source: "
                               f"{value!r:.200}")
        start = len(self.statements)
        text = renderer(self, value, indent)
        check(value, self.statements[start:], text, self.imports)
        return text

    def _container(self, value: Any, indent: str, top: bool) -> str:
        inner = indent + STEP
        if isinstance(value, dict):
            items = [f"{self.expr(k, inner)}: {self.expr(v, inner)}" for k, v in value.items()]
            opening, closing, breakable = "{", "}", top
        else:
            items = [self.expr(v, inner) for v in value]
            opening, closing = {list: "[]", tuple: "()", set: "{}"}[type(value)]
            breakable = len(items) > 1 and any(_plain_scalar(v) is None for v in value)
            if isinstance(value, set) and not items:
                return "set()"
        one = opening + ", ".join(items) + ("," if isinstance(value, tuple) and len(items) == 1 else "") + closing
        multiline = any("\n" in item for item in items)
        if not multiline and (len(one) + len(indent) <= WIDTH or not breakable):
            return one
        return opening + "\n" + "".join(f"{inner}{item},\n" for item in items) + indent + closing


def _renderer(value: Any) -> Optional[Callable[[Emitter, Any, str], str]]:
    for kind in type(value).__mro__:
        if kind in RENDERERS:
            return RENDERERS[kind]
    return None


def canon(value: Any) -> Any:
    """A plain, order-independent form of ``value`` (names as the placeholder namespace spells them)."""
    if isinstance(value, Lazy):
        return canon(Namespace(PLACEHOLDER).resolve(value))
    if isinstance(value, Ref):
        return placeholder_name(value.name)
    if isinstance(value, Named):
        return value.template.format(p=PLACEHOLDER)
    for kind in type(value).__mro__:
        if kind in CANONS:
            return (type(value).__qualname__, canon(CANONS[kind](value)))
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((repr(canon(k)), canon(v)) for k, v in value.items()))))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canon(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, tuple(sorted(repr(canon(v)) for v in value)))
    return (type(value).__name__, repr(value))


def import_lines(imports: Iterable[Import]) -> list[str]:
    """``import`` statements for ``imports``: plain imports first, then one ``from`` line per module."""
    plain = sorted(f"import {m}" + (f" as {a}" if a else "") for m, n, a in set(imports) if n is None)
    modules = sorted({m for m, n, _ in imports if n is not None})
    return plain + [f"from {m} import " + ", ".join(sorted({n for mm, n, _ in imports if mm == m and n}))
                    for m in modules]


def sandbox(imports: Iterable[Import]) -> dict[str, Any]:
    """Globals a reproducer's argument code runs with: its imports and ``p`` (the placeholder namespace)."""
    space: dict[str, Any] = {"p": placeholder_name}
    exec("\n".join(import_lines(imports)), space)  # noqa: S102 - import lines we wrote
    return space


def check(value: Any, statements: list[str], text: str, imports: Iterable[Import] = ()) -> None:
    """Raise :class:`Unrenderable` unless running ``statements`` then ``text`` rebuilds ``value``."""
    code = textwrap.dedent("\n".join(statements)) + f"\n__value__ = {text}\n"
    space = sandbox(imports)
    try:
        exec(compile(code, "<reproducer argument>", "exec"), space)  # noqa: S102 - our own generated code
    except Exception as exc:  # noqa: BLE001
        raise Unrenderable(f"the source written for a {type(value).__qualname__} does not run: {exc}\n{code}") from exc
    if repr(canon(space["__value__"])) != repr(canon(value)):
        raise Unrenderable(f"the source written for a {type(value).__qualname__} builds something else:\n{code}\n"
                           f"original: {canon(value)!r:.1000}\nrebuilt:  {canon(space['__value__'])!r:.1000}")

