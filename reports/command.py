"""Turn result files into a self-contained HTML report, a Markdown summary and JUnit XML.

Writes OUT/report.html (opens offline: inline CSS and SVG plots of latency over time, QPS and p99 vs concurrency,
recall vs QPS, recall distribution, error rate, and the conformance matrix), OUT/summary.md (for a CI job summary
or a PR comment) and OUT/junit.xml. Result files of an unknown format version are refused.

Exit 0 when the report was written (with --strict: 1 when any result did not pass), 2 for bad input.
"""

from __future__ import annotations

import argparse

from reports import html_report, inputs, junit, markdown, summary
from vdb_harness.kernel import step_summary
from vdb_harness.cli_common import EXIT_FAILED, EXIT_OK, out_dir_from_args
from vdb_harness.kernel.results import atomic_write_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness report``."""
    parser.add_argument("results", nargs="+", metavar="RESULT",
                        help="result files, or directories: their result.json, or every result.json below them")
    parser.add_argument("--out", metavar="DIR", help="where report.html, summary.md, junit.xml go "
                                                      "(default: results/report-<time>)")
    parser.add_argument("--title", default="vdb-harness report", help="report title")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any result did not pass")


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness report``; returns the exit code."""
    results = inputs.load(args.results)
    out = out_dir_from_args(args, "report")
    paths = [atomic_write_text(out / "report.html", html_report.render(results, args.title)),
             atomic_write_text(out / "summary.md", markdown.render(results, args.title)),
             atomic_write_text(out / "junit.xml", junit.render(results))]
    for p in paths:
        print(f"wrote {p}")
    step_summary.append(paths[1].read_text(encoding="utf-8"))
    failed = [r for r in results if summary.status(r) != "pass"]
    return EXIT_FAILED if args.strict and failed else EXIT_OK
