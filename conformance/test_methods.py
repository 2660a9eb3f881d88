"""Every AsyncMilvusClient method, differentially against MilvusClient, with Hypothesis-drawn arguments."""

from __future__ import annotations

from pathlib import Path

import pymilvus
import pytest

from conformance import known, verdicts
from conformance.check import check_method
from conformance.discovery import discover
from conformance.specs import load_all

SPECS = load_all()
ASYNC_METHODS = frozenset(discover().async_methods)


@pytest.mark.server
@pytest.mark.parametrize("method", sorted(SPECS))
def test_method_conforms(method: str, runner, server_family: str, matrix, conformance_out: Path) -> None:  # type: ignore[no-untyped-def]
    """The async method behaves like the sync one (values, errors, side effects) on this server."""
    if method not in ASYNC_METHODS:  # an older pymilvus: the matrix leaves the cell empty
        pytest.skip(f"the AsyncMilvusClient of pymilvus {pymilvus.__version__} has no {method}")
    verdict = check_method(runner, SPECS[method], server_family, out_dir=conformance_out)
    matrix.verdicts.append(verdict)
    case = verdicts.method_case(verdict.as_dict(), known.strict())
    if case.verdict == verdicts.KNOWN and not case.fails:
        pytest.xfail(f"known divergence: {case.detail}")
    if case.verdict == verdicts.UNSUPPORTED:
        pytest.skip(f"unsupported on {server_family}: {verdict.detail}")
    script = Path(verdict.reproducer).read_text() if verdict.reproducer and case.fails else ""
    assert not case.fails, f"{method} on {server_family}: {case.label}: {case.detail}\n{script}"
