"""The side-effect probes (conformance.probes, conformance.example): derived from each spec's needs and category, made after every
call, and naming only methods the clients have (a misspelt probe would fail the same way on both sides and hide)."""

from __future__ import annotations

from pymilvus import AsyncMilvusClient, MilvusClient

from conformance.example import TYPED_NEED_PROBES, probe_calls
from conformance.probes import CATEGORY_PROBES, CLIENT_PROBES, GLOBAL_PROBES, NEED_PROBES
from conformance.registry import Need
from conformance.specs import load_all

SPECS = load_all()


def test_every_spec_probes_the_global_listings_and_what_its_needs_can_touch() -> None:
    """Every spec, mutating or not, lists the global objects; each need adds the probes of that object."""
    for spec in SPECS.values():
        calls = probe_calls(spec)
        for call in GLOBAL_PROBES:
            assert call in calls, (spec.name, call)
        for need in spec.needs:
            for call in {**NEED_PROBES, **TYPED_NEED_PROBES}.get(need.value, []):
                assert call in calls, (spec.name, need, call)
        for call in CATEGORY_PROBES.get(spec.category, []):
            assert call in calls, (spec.name, spec.category, call)
        assert len({repr(c) for c in calls}) == len(calls), f"{spec.name}: a probe is made twice"


def test_a_create_without_needs_still_probes_what_it_creates() -> None:
    """create_user needs no user, but the users are listed after it (its category says it can touch them)."""
    assert ("list_users", {}) in probe_calls(SPECS["create_user"])


def test_every_need_has_probes() -> None:
    """A new kind of starting state must say how its changes are seen."""
    assert set(NEED_PROBES) | set(TYPED_NEED_PROBES) == {need.value for need in Need}


def test_probes_name_real_client_methods() -> None:
    """Server probes exist on MilvusClient; client probes on both clients (they go through the calling client)."""
    server_probes = [c for spec in SPECS.values() for c in probe_calls(spec)]
    for method, _ in server_probes:
        assert callable(getattr(MilvusClient, method, None)), method
    for method, _ in CLIENT_PROBES:
        assert callable(getattr(MilvusClient, method, None)) and callable(getattr(AsyncMilvusClient, method, None))
