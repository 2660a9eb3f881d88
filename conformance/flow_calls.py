"""A scenario's flow as a list of client calls: the same :class:`FlowCall` objects drive both clients.

The calls come from :mod:`scenarios.calls`, the builder the load users share: the collection's preparation in
the tutorial's order (create, create each index, load, insert in ``insert_batch_size`` batches), then each
workload task once, its first request over ``flow_queries`` queries. Here they only get what the side-by-side run
needs: groups the async client gathers, which steps must succeed, and the fallback of a rejected index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from scenarios import calls as builder
from scenarios.datasets.base import Dataset
from scenarios.model import Scenario


@dataclass
class FlowCall:
    """One step: a client method and its keyword arguments (identical for the sync and the async client)."""

    step: str
    method: str
    kwargs: dict[str, Any]
    #: Steps in the same non-empty group may run concurrently (``asyncio.gather``) on the async client.
    group: str = ""
    #: A tidying step whose error is expected at times (dropping what may not exist): compared, not reported.
    optional: bool = False
    #: A step that must succeed for the flow to continue (setup steps).
    required: bool = False
    #: Called with the error when the server rejects this step; returns replacement calls (or []) to go on.
    on_reject: Callable[[BaseException], list["FlowCall"]] | None = field(default=None, repr=False)


def _flow_call(call: builder.ClientCall, **extra: Any) -> FlowCall:
    return FlowCall(call.step, call.method, call.kwargs, **extra)


def setup_calls(scenario: Scenario, dataset: Dataset) -> list[FlowCall]:
    """The collection's preparation (:func:`scenarios.calls.preparation_calls`, tutorial order) as flow steps:
    creating the collection must succeed, the inserts run together on the async client, a rejected index falls
    back."""
    out = []
    indexes = iter(scenario.indexes)
    for call in builder.preparation_calls(scenario, dataset, builder.Order.tutorial):
        if call.method == "create_collection":
            out.append(_flow_call(call, required=True))
        elif call.method == "insert":
            out.append(_flow_call(call, group="insert"))
        elif call.method == "create_index":
            index = next(indexes)
            out.append(_flow_call(call, on_reject=lambda exc, index=index: _index_fallback(scenario, index, exc)))
        else:
            out.append(_flow_call(call))
    return out


def already_exists(exc: BaseException) -> bool:
    """True when a create call failed only because what it creates is there already."""
    return "already exist" in str(getattr(exc, "message", "") or exc).lower()


def _index_fallback(scenario: Scenario, index: Any, exc: BaseException) -> list[FlowCall]:
    """The fallback index after a rejection; none when the index is there already or has no fallback (a scalar
    index is an optimisation: the flow goes on without it)."""
    if already_exists(exc):
        return []
    fallback = builder.index_fallback_call(scenario, index)
    return [] if fallback is None else [_flow_call(fallback)]


def task_calls(scenario: Scenario, dataset: Dataset) -> list[FlowCall]:
    """One call per workload task (writes use ids past the dataset so they do not disturb the reads)."""
    return [_flow_call(call, group="tasks") for call in builder.task_calls(scenario, dataset)]
