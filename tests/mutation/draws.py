"""The Hypothesis profile the mutation tests draw with, also when a file runs without conformance/conftest.py."""

from __future__ import annotations

from typing import Any, Iterator

from hypothesis import settings

from conformance import profiles


def ci_profile(name: str = "ci", **changes: Any) -> Iterator[None]:
    """Load the ``ci`` profile (registered as ``name`` with ``changes``, if any) until resumed, then the previous one."""
    previous = getattr(settings, "_current_profile", None) or "default"
    profiles.register()
    if changes:
        settings.register_profile(name, settings.get_profile("ci"), **changes)
    settings.load_profile(name)
    yield
    settings.load_profile(previous)
