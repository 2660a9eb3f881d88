"""A starting state as literal pymilvus calls, for reproducer scripts whose state the kit does not build.

:func:`conformance.world.build` runs against a :class:`Recorder` (a stand-in for the sync ``MilvusClient``) for a
namespace with a placeholder prefix, so the script repeats exactly the calls the harness makes, with the
features the run actually used (``world.FEATURES``).
"""

from __future__ import annotations

from typing import Any, Iterable

from conformance.pysource import PLACEHOLDER, Emitter, Source, call
from conformance.registry import Need
from conformance.world import Namespace, build

#: Client-side factories: made for real (their objects are then rendered), never recorded.
LOCAL = ("create_schema", "prepare_index_params", "create_struct_field_schema", "create_field_schema")


class Recorder:
    """Records every server call made on it as ``(method, args, kwargs)``; local factories are the real ones."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        if method in LOCAL:
            from pymilvus import MilvusClient

            return getattr(MilvusClient, method)

        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((method, args, kwargs))

        return record


def recorded_setup(needs: Iterable[Need]) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """The calls :func:`conformance.world.build` makes for ``needs`` (names carry the placeholder prefix,
    the timeout is the script's ``TIMEOUT``)."""
    recorder = Recorder()
    build(recorder, Namespace(PLACEHOLDER), needs, Source("TIMEOUT"))  # type: ignore[arg-type]
    return recorder.calls


def setup_function(needs: Iterable[Need], em: Emitter) -> str:
    """Source of ``def setup(client, p)``: the starting state ``needs`` names, built on one side."""
    needs = tuple(needs)
    for method, args, kwargs in recorded_setup(needs):
        rendered = [em.expr(a) for a in args]
        em.emit(call(f"client.{method}", rendered, {k: em.expr(v) for k, v in kwargs.items()}))
    what = ", ".join(n.value for n in needs) or "nothing"
    doc = f'    """The starting state ({what}) on one side; p(name) is that side\'s name of an object."""\n'
    return "def setup(client, p):\n" + doc + "".join(f"{line}\n" for line in em.statements)
