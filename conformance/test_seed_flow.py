"""The seed tutorial's flow, end to end, through both clients (the async one with asyncio.gather), as one
conformance test. Uses conformance.flow (the scenario runner) and the seed_tutorial scenario."""

from __future__ import annotations

import uuid

import pymilvus
import pytest

from conformance import known, verdicts

pytestmark = pytest.mark.server


def test_seed_tutorial_flow_conforms(milvus, server_family) -> None:  # type: ignore[no-untyped-def]
    """Every step of the tutorial gives the same result (or the same error) on both clients (``server_family``
    comes from the runner, which adopts the server's traits first)."""
    flow = pytest.importorskip("conformance.flow")
    from scenarios.datasets.build import build_dataset
    from scenarios.loader import load_scenario

    from conformance.world import FEATURES

    if not FEATURES["sparse_vectors"]:
        pytest.skip("the tutorial's schema has a sparse vector field, which this server lacks (conformance/servers.py)")
    scenario = load_scenario("seed_tutorial")
    suffix = uuid.uuid4().hex[:8]
    coll = scenario.collection.model_copy(update={"name": f"seed_s_{suffix}"})
    scenario_s = scenario.model_copy(update={"collection": coll})
    scenario_a = scenario.model_copy(update={"collection": coll.model_copy(update={"name": f"seed_a_{suffix}"})})
    from scenarios.loader import resolve_scenario_path

    dataset = build_dataset(scenario, resolve_scenario_path("seed_tutorial").parent)
    try:
        sync = flow.run_sync(milvus, scenario_s, dataset)
        try:
            asyn = flow.run_async(milvus, scenario_a, dataset)
        except AttributeError as exc:  # an older pymilvus whose AsyncMilvusClient lacks a call the tutorial makes
            if "'AsyncMilvusClient' object has no attribute" not in str(exc):
                raise
            pytest.skip(f"the tutorial's flow cannot run on pymilvus {pymilvus.__version__}: {exc}")
        assert any(o.method == "hybrid_search" for o in sync), "the sync flow must reach hybrid_search"
        diverged = [c for c in flow.compare_runs(sync, asyn) if not c.match and not c.consequence_of]
        settled = known.settle("flow:seed_tutorial", server_family, diverged)
        case = verdicts.Case("flow:seed_tutorial", verdicts.method_verdict(settled.status), settled.message,
                             known.strict())
        if case.verdict == verdicts.KNOWN and not case.fails:
            pytest.xfail(settled.message)
        assert case.verdict == verdicts.PASS, f"{case.label}: {settled.message}"
    finally:
        client = milvus.sync_client()
        for name in (f"seed_s_{suffix}", f"seed_a_{suffix}"):
            try:
                client.drop_collection(name, timeout=10)
            except Exception:  # noqa: BLE001
                pass
        client.close()
