"""The pieces of Python source text that every renderer shares: call syntax, keyword-safe names, the error for a
value that cannot be written, and what a renderer writes with.

:mod:`conformance.objsource` (renderers of pymilvus/numpy/scipy objects) and :mod:`conformance.pysource` (the
:class:`~conformance.pysource.Emitter` that walks a value and dispatches to them) both build on this module.
"""

from __future__ import annotations

import keyword
from typing import Any, Iterable, Optional, Protocol


class Unrenderable(TypeError):
    """A value whose faithful Python source this harness cannot write."""


class Writer(Protocol):
    """What a renderer writes with: :class:`conformance.pysource.Emitter` is the one implementation."""

    def expr(self, value: Any, indent: Optional[str] = None, top: bool = False) -> str:
        """The expression of ``value``."""

    def need(self, module: str, name: Optional[str] = None, alias: Optional[str] = None) -> None:
        """Record an import the rendered source needs."""

    def variable(self, stem: str) -> str:
        """A fresh variable name."""

    def emit(self, line: str) -> None:
        """Add a statement to run before the expression."""


def is_identifier(key: Any) -> bool:
    """Whether ``key`` can be written as a keyword argument."""
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def call(func: str, args: Iterable[str] = (), kwargs: Optional[dict[str, str]] = None) -> str:
    """``func(arg, ..., key=value, ...)`` from rendered arguments (keys that are not identifiers go in ``**{}``)."""
    parts = list(args)
    odd = {k: v for k, v in (kwargs or {}).items() if not is_identifier(k)}
    parts += [f"{k}={v}" for k, v in (kwargs or {}).items() if is_identifier(k)]
    if odd:
        parts.append("**{" + ", ".join(f"{k!r}: {v}" for k, v in odd.items()) + "}")
    return f"{func}({', '.join(parts)})"
