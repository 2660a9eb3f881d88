"""Run the conformance ``ci`` profile against a list of pymilvus releases, each in its own managed virtualenv
(the harness wheel from this checkout plus the pinned pymilvus and the engine that can serve it), and show per
method which release brought each divergence and which one removed it.

Default releases: every 2.6.x and 3.0.x plus the first and the last 2.5.x on the package index (2.5.x on Milvus
Lite 2.5.1, which milvus-lite 3 cannot serve). Resumable: a release already swept by the same harness build is not
run again unless --force. Writes OUT/result.json (kind conformance, with a ``sweep`` section), OUT/sweep.md and
OUT/sweep.html. Exit 0 when every swept release conforms, 1 when some diverge or error, 2 when nothing could be
swept (or bad input).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from conformance import sweep
from vdb_harness.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from vdb_harness.kernel.results import atomic_write_text, write_result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``vdb-harness sweep``."""
    parser.add_argument("--releases", metavar="LIST",
                        help="comma-separated versions or specifiers, e.g. '2.6.2,2.6.5,>=3.0' (default: every "
                             "2.6.x and 3.0.x plus the first and last 2.5.x)")
    parser.add_argument("--out", metavar="DIR", default="results/sweep",
                        help="sweep directory (default results/sweep; an existing one is resumed)")
    parser.add_argument("--force", action="store_true", help="run releases already swept by this harness build again")
    parser.add_argument("--harness-wheel", metavar="WHEEL",
                        help="the vdb-harness wheel to install into each release's venv (default: built from this "
                             "checkout)")
    parser.add_argument("--release-timeout", type=float, default=3600.0, metavar="SECONDS",
                        help="give up on one release's run after this long (default 3600)")
    parser.add_argument("-k", dest="select", metavar="EXPR",
                        help="only conformance tests matching this pytest -k (default: the whole ci profile)")
    parser.add_argument("--list", action="store_true", help="only print the releases that would be swept")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: rewrite OUT's table from the releases it holds")


def run(args: argparse.Namespace) -> int:
    """Execute ``vdb-harness sweep``; returns the exit code."""
    from reports import sweep_report

    available = sweep.available_releases()
    releases = (sweep.select_releases(args.releases, available) if args.releases
                else sweep.default_selection(available))
    if args.list:
        for v in releases:
            print(f"{v}  ({' then '.join(sweep.engine_order(v))})")
        return EXIT_OK
    out = Path(args.out)
    fingerprint = sweep.harness_fingerprint()
    if args.harness_wheel:
        wheel = Path(args.harness_wheel)
        if not wheel.is_file():
            from vdb_harness.kernel.errors import BadInputError

            raise BadInputError(f"--harness-wheel {wheel}: no such file")
    elif not args.report_only:
        wheel = sweep.build_wheel(fingerprint)
    else:
        wheel = Path("unused")
    if not args.report_only:
        print(f"sweeping {len(releases)} pymilvus releases with harness {fingerprint} into {out}, in the order "
              f"{', '.join(sweep.spread(releases))} (newest, oldest, then the middle of each gap)", flush=True)
    started = time.monotonic()
    runner = sweep.VenvRunner(wheel=wheel, fingerprint=fingerprint, timeout=args.release_timeout,
                              select=args.select)

    def write(entries: list[dict]) -> dict:
        # the table covers every release this directory holds, also those swept by earlier invocations
        done = {e["version"] for e in entries}
        everything = [e for e in sweep.load_entries(out) if e["version"] not in done] + entries
        result = sweep.combined_result(everything, out, fingerprint)
        result["sweep"]["wall_seconds"] = round(time.monotonic() - started, 1)
        held = {e["version"] for e in everything if e.get("status") in ("swept", "unsupported", "uninstallable")}
        missing = [v for v in releases if v not in held]
        if missing:
            result["sweep"]["partial"] = (f"{len(releases) - len(missing)} of {len(releases)} releases done so far; "
                                          f"not yet: {', '.join(missing)}")
            result["notes"].append("partial sweep: " + result["sweep"]["partial"])
        write_result(result, out)
        atomic_write_text(out / "sweep.md", sweep_report.markdown(result["sweep"]))
        atomic_write_text(out / "sweep.html", sweep_report.html(result["sweep"]))
        return result

    if args.report_only:
        result = write([])
        print(f"table: {out / 'sweep.md'} and {out / 'sweep.html'}")
        return EXIT_OK if result["sweep"]["releases"] else EXIT_BAD_INPUT
    entries = sweep.sweep(sweep.spread(releases), out, runner, fingerprint, force=args.force, select=args.select,
                          on_entry=write)
    result = write(entries)
    print(f"result: {out / 'result.json'}\ntable: {out / 'sweep.md'} and {out / 'sweep.html'}")
    table = result["sweep"]
    if not table["releases"]:
        print("nothing could be swept: " + "; ".join(f"{e['version']}: {e['status']}" for e in table["not_swept"]))
        return EXIT_BAD_INPUT
    return EXIT_OK if result["status"] == "pass" else EXIT_FAILED
