"""Setup of the harness' own tests (not shipped)."""

import os
import sys

import pytest

# The commands these tests run must not append to a CI job summary: that summary is the job's own commands'.
os.environ.pop("GITHUB_STEP_SUMMARY", None)


@pytest.fixture(autouse=True)
def _test_process_stays_unpatched():  # type: ignore[no-untyped-def]
    """No test may switch the test process itself to gevent (importing the load command does): every later
    subprocess would then be forked by gevent under gRPC's threads and may crash. Run such code in a child."""
    before = _gevent_patched()
    yield
    if not before and _gevent_patched():
        pytest.fail("this test gevent-patched the test process (it imported loadtests.command / users in-process)")


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("socket")
