"""Coverage that cannot rot: every public AsyncMilvusClient method of the installed pymilvus has a spec, and the
API asymmetries between the two clients are reported as findings."""

from __future__ import annotations

import pytest
from packaging.version import Version

from conformance.discovery import discover
from conformance.registry import BASELINE_PYMILVUS
from conformance.specs import load_all


def test_every_async_method_has_a_spec(matrix) -> None:  # type: ignore[no-untyped-def]
    """A new pymilvus method without a spec fails here, by name."""
    surface = discover()
    missing = sorted(set(surface.async_methods) - set(load_all()))
    assert not missing, (f"AsyncMilvusClient methods without a conformance spec (pymilvus {surface.pymilvus}): "
                         f"{', '.join(missing)}; add one in conformance/specs/")


def test_no_spec_for_a_method_that_is_gone() -> None:
    """A spec for a method pymilvus no longer has is stale (renamed or removed upstream). On a pymilvus older than
    the registry's baseline the absent methods are simply newer ones: the matrix shows them as absent."""
    surface = discover()
    stale = sorted(set(load_all()) - set(surface.async_methods))
    if stale and Version(surface.pymilvus) < Version(BASELINE_PYMILVUS):
        pytest.skip(f"pymilvus {surface.pymilvus} predates the registry's baseline {BASELINE_PYMILVUS}: "
                    f"{len(stale)} specified methods are not in its AsyncMilvusClient")
    assert not stale, f"specs for methods AsyncMilvusClient does not have: {', '.join(stale)}"


def test_asymmetries_are_reported(matrix) -> None:  # type: ignore[no-untyped-def]
    """Methods on one side only and signature differences are findings in the report, never ignored."""
    surface = discover()
    matrix.findings.append({"name": "methods only on MilvusClient", "status": "finding",
                            "detail": ", ".join(surface.sync_only) or "none"})
    matrix.findings.append({"name": "methods only on AsyncMilvusClient", "status": "finding",
                            "detail": ", ".join(surface.async_only) or "none"})
    for method, diffs in sorted(surface.signature_differences.items()):
        matrix.findings.append({"name": f"signature of {method}", "status": "finding", "detail": "; ".join(diffs)})
    assert set(surface.shared) | set(surface.sync_only) == set(surface.sync_methods)
    assert set(surface.shared) | set(surface.async_only) == set(surface.async_methods)
