"""Hypothesis profiles for the conformance suite: ``ci`` (default: deterministic, bounded), ``nightly`` (many
examples, random, failures saved) and ``replay`` (re-run the failures the example database saved)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXAMPLE_DB = Path(os.environ.get("VDB_HARNESS_HYPOTHESIS_DB", ".hypothesis/conformance"))
SUPPRESS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large,
            HealthCheck.filter_too_much, HealthCheck.differing_executors]
#: Examples per method in each profile (scaled by a spec's weight; mutating specs get half).
BASE_EXAMPLES = {"ci": 6, "nightly": 100, "replay": 6}
#: Most rows one drawn insert/upsert on the typed collection writes (every type per row): the ci profile keeps
#: batches small (each mutating example rebuilds the twin collections), nightly goes deep.
TYPED_BATCH = {"ci": 4, "nightly": 40, "replay": 4}


def register() -> None:
    """Register the three profiles (idempotent)."""
    common = dict(deadline=None, suppress_health_check=SUPPRESS, report_multiple_bugs=False, print_blob=True)
    settings.register_profile("ci", derandomize=True, database=None, max_examples=BASE_EXAMPLES["ci"], **common)
    settings.register_profile("nightly", max_examples=BASE_EXAMPLES["nightly"],
                              database=DirectoryBasedExampleDatabase(str(EXAMPLE_DB)), **common)
    settings.register_profile("replay", max_examples=BASE_EXAMPLES["replay"],
                              database=DirectoryBasedExampleDatabase(str(EXAMPLE_DB)),
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink], **common)


def active() -> str:
    """The profile chosen by HYPOTHESIS_PROFILE (``ci`` when unset or unknown to this suite)."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    return name if name in BASE_EXAMPLES else "ci"


def examples_for(weight: float, mutates: bool, profile: str | None = None) -> int:
    """How many examples a method gets under ``profile``."""
    base = BASE_EXAMPLES[profile or active()]
    return max(1, round(base * weight * (0.5 if mutates else 1.0)))


def typed_batch(profile: str | None = None) -> int:
    """The most rows a drawn write on the typed collection carries under ``profile``."""
    return TYPED_BATCH[profile or active()]
