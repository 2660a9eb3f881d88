"""The load user of each ``--client`` kind (sync, async, lean), bound to a run's context: the one place that knows
all of them, so :mod:`loadtests.users` stays below :mod:`loadtests.lean` in the import graph."""

from __future__ import annotations

from typing import Any

from loadtests import lean, users  # lean registers USER_CLASSES["lean"] on import
from loadtests.context import RunContext
from loadtests.users import USER_CLASSES, MilvusUserBase


def user_class(client: str, context: RunContext, wait_time: Any = None) -> type[MilvusUserBase]:
    """A concrete user class of the ``client`` kind bound to ``context`` (and an optional wait time)."""
    if client == "lean":
        lean.check_plans(context.plans)  # an unsupported task is refused before any user starts
    attrs: dict[str, Any] = {"abstract": False, "context": context, "__module__": users.__name__}
    if wait_time is not None:
        attrs["wait_time"] = wait_time
    return type(f"Milvus{client.capitalize()}LoadUser", (USER_CLASSES[client],), attrs)
