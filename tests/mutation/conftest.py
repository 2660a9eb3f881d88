"""Fixtures every mutation test file uses."""

from __future__ import annotations

import pytest

from conformance.servers import server_family


@pytest.fixture(scope="module")
def family(milvus) -> str:  # type: ignore[no-untyped-def]
    """The server family key."""
    return server_family(milvus)
