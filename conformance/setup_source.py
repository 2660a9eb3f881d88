"""The starting state and its cleanup as literal pymilvus calls, for reproducer scripts.

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


CLEANUP = '''def cleanup(client, prefixes):
    """Drop every object whose name contains one of prefixes (best effort: errors are ignored)."""
    def quietly(action, *args, **kwargs):
        try:
            return action(*args, **kwargs)
        except Exception:
            return None

    def ours(name):
        return any(prefix in str(name) for prefix in prefixes)

    log = logging.getLogger("pymilvus")
    level = log.level
    log.setLevel(logging.CRITICAL)  # calls failing here are expected (a server without RBAC): no tracebacks
    t = {"timeout": TIMEOUT}
    for name in filter(ours, quietly(client.list_collections, **t) or []):
        listed = quietly(client.list_aliases, name, **t)
        for alias in listed.get("aliases", []) if isinstance(listed, dict) else []:
            quietly(client.drop_alias, alias, **t)
        quietly(client.drop_collection, name, **t)
    for name in filter(ours, quietly(client.list_databases, **t) or []):
        quietly(client.drop_database, name, **t)
    for name in filter(ours, quietly(client.list_users, **t) or []):
        quietly(client.drop_user, name, **t)
    for name in filter(ours, quietly(client.list_roles, **t) or []):
        quietly(client.drop_role, name, force_drop=True, **t)
    for group in quietly(client.list_privilege_groups, **t) or []:
        name = group.get("privilege_group", "") if isinstance(group, dict) else str(group)
        if ours(name):
            quietly(client.drop_privilege_group, name, **t)
    for name in filter(ours, quietly(client.list_resource_groups, **t) or []):
        quietly(client.drop_resource_group, name, **t)
    log.setLevel(level)
'''
