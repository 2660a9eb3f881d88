"""A server that dies during a conformance run is an infrastructure error, never a divergence (issue: reliability).
The test owns its server (not the session's) and kills it."""

from __future__ import annotations

import pytest

from conformance.check import check_method
from conformance.servers import server_family
from conformance.runner import Runner
from conformance.specs import load_all
from scenarios.embedded import EmbeddedMilvus
from scenarios.targets import Connection


@pytest.mark.timeout(240)
def test_a_dead_server_is_reported_as_an_error_not_a_divergence(tmp_path) -> None:
    specs = load_all()
    server = EmbeddedMilvus()
    info = server.start()
    conn = Connection(uri=info.uri, timeout=10, kind="embedded", embedded=info)
    runner = Runner(conn)
    try:
        family = server_family(conn)
        before = check_method(runner, specs["list_collections"], family, out_dir=tmp_path, max_examples=2)
        assert before.status == "pass", before.detail
        server.kill()
        after = [check_method(runner, specs[m], family, out_dir=tmp_path, max_examples=2)
                 for m in ("list_collections", "has_collection")]
        for verdict in after:
            assert verdict.status == "error", (verdict.method, verdict.status, verdict.detail)
            assert verdict.status != "diverges"
    finally:
        runner.close()
        server.stop()
