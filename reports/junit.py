"""JUnit XML for CI systems: one test suite per result file, one test case per check it made.

The cases and their verdicts come from :func:`reports.summary.cases` (decided by :mod:`conformance.verdicts`), and
the XML from :func:`conformance.verdicts.junit_xml`: a new divergence, an error, a broken SLO (and a known
divergence under strict) fail; a known divergence, an unsupported method and a flow step that only follows from
another one's divergence are skipped.
"""

from __future__ import annotations

from conformance.verdicts import junit_xml
from reports.inputs import LoadedResult
from reports.summary import cases


def render(results: list[LoadedResult]) -> str:
    """The JUnit XML document for ``results``."""
    return junit_xml([(r.name, f"vdb_harness.{r.kind}", cases(r)) for r in results])
