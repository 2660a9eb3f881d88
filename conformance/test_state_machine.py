"""The stateful conformance test: DDL, DML, load/release and reads interleaved on both clients."""

from __future__ import annotations

import pytest
from hypothesis import settings

from conformance import profiles
from conformance.discovery import discover
from conformance.state_machine import TwinWorld

pytestmark = pytest.mark.server


def test_twin_worlds_stay_equal(runner) -> None:  # type: ignore[no-untyped-def]
    """Random programs of writes, loads and reads: both clients see the same world after every step."""
    surface = discover()
    absent = [m for m in TwinWorld.CALLS if m not in surface.async_methods]
    if absent:
        pytest.skip(f"the AsyncMilvusClient of pymilvus {surface.pymilvus} lacks {', '.join(absent)}")
    TwinWorld.runner = runner
    try:
        examples = {"ci": 4, "nightly": 60, "replay": 4}[profiles.active()]
        TwinWorld.TestCase.settings = settings(max_examples=examples, stateful_step_count=10, deadline=None)
        TwinWorld.TestCase().runTest()
    finally:
        TwinWorld.runner = None
