"""Proven reproducer scripts for the README (``docs/reproducers/``): a script the harness wrote for a real
divergence, run against the embedded server with the pymilvus release it names, stamped with a header that says
which divergence it shows, the pymilvus versions the divergence applies to and the exit code measured.

    python -m conformance.docs_reproducers results/matrix/pymilvus265/reproducers/reproduce_use_database.py \\
        --name use_database --pymilvus ">=2.6,<2.6.6" --out docs/reproducers --link-kit

``tests/test_docs_reproducers.py`` re-runs every stamped script where its range covers the installed pymilvus and
fails when it no longer shows the divergence (a stale script).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from conformance.replay import DIVERGES
from conformance.repro_kit import write_kit
from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.results import atomic_write_text

_FIELD = re.compile(r"^# (divergence|server|pymilvus|proven): (.*)$")
_PROVEN = re.compile(r"exit (\d+)")


@dataclass(frozen=True)
class Stamp:
    """What a docs reproducer's header states."""

    divergence: str
    pymilvus: str
    proven: str
    #: Glob over the server family the divergence shows on (``lite3``; ``*``: any).
    server: str = "*"

    @property
    def exit_code(self) -> int:
        """The exit code recorded when the script was proven."""
        found = _PROVEN.search(self.proven)
        if found is None:
            raise BadInputError(f"'# proven:' line without 'exit N': {self.proven!r}")
        return int(found.group(1))

    def applies(self, version: str, server: str = "*") -> bool:
        """True when the divergence's pymilvus range covers ``version`` and its server glob ``server``."""
        import fnmatch

        return SpecifierSet(self.pymilvus).contains(version, prereleases=True) and \
            (server == "*" or fnmatch.fnmatch(server, self.server))


def header(stamp: Stamp) -> str:
    """The comment block a docs reproducer starts with."""
    return (f"# divergence: {stamp.divergence}\n# server: {stamp.server}\n# pymilvus: {stamp.pymilvus}\n"
            f"# proven: {stamp.proven}\n"
            "# (written by vdb-harness conformance, proven by conformance/docs_reproducers.py; the script exits 1 "
            "while the clients diverge, 0 once they agree)\n")


def read_stamp(path: Path) -> Stamp:
    """The header of a docs reproducer; a missing or malformed field is a bad-input error naming the file."""
    fields: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines()[:10]:
        found = _FIELD.match(line)
        if found:
            fields[found.group(1)] = found.group(2).strip()
    missing = [k for k in ("divergence", "pymilvus", "proven") if k not in fields]
    if missing:
        raise BadInputError(f"{path}: header lacks {missing} (see conformance/docs_reproducers.py)")
    try:
        SpecifierSet(fields["pymilvus"])
    except InvalidSpecifier:
        raise BadInputError(f"{path}: pymilvus {fields['pymilvus']!r} is not a version specifier") from None
    stamp = Stamp(fields["divergence"], fields["pymilvus"], fields["proven"], fields.get("server", "*"))
    stamp.exit_code  # noqa: B018 - validates the proven line
    return stamp


def run_script(path: Path, uri: str, timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    """Run a reproducer against ``uri`` with this interpreter, as a user runs it: from its own directory (where
    its kit is), without ``PYTHON*`` variables or user site-packages (``-E -s``), so no checkout of the harness
    is on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    path = Path(path).resolve()
    return subprocess.run([sys.executable, "-E", "-s", str(path), uri], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=Path(path).parent)


def prove(source: Path, name: str, pymilvus_range: str, out_dir: Path, server: Optional[str] = None,
          file_name: Optional[str] = None, family: str = "*", link_kit: bool = False) -> Path:
    """Run ``source`` (with the kit beside it) against the embedded server (or ``server``), then write it under
    ``out_dir`` with its header and the exit code measured, and the kit beside it (``link_kit``: as symlinks to
    this harness's modules, for ``docs/reproducers`` in its source tree); refuses a script that does not show
    the divergence (exit != 1)."""
    import pymilvus

    from scenarios.embedded import EmbeddedMilvus

    if not SpecifierSet(pymilvus_range).contains(pymilvus.__version__, prereleases=True):
        raise BadInputError(f"pymilvus {pymilvus.__version__} is outside {pymilvus_range!r}: prove the script with "
                            "a release the divergence applies to")
    embedded = None
    if server is None:
        embedded = EmbeddedMilvus()
        server = embedded.start().uri
    try:
        proc = run_script(Path(source), server)
    finally:
        if embedded is not None:
            embedded.stop()
    if proc.returncode != DIVERGES:
        raise BadInputError(f"{source} exited {proc.returncode} on pymilvus {pymilvus.__version__}, not "
                            f"{DIVERGES}: it does not show the divergence\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    import milvus_lite  # noqa: F401 - the server's version is part of the record

    lite = getattr(sys.modules["milvus_lite"], "__version__", "?")
    day = datetime.date.today().isoformat()
    stamp = Stamp(name, pymilvus_range, f"pymilvus {pymilvus.__version__} on Milvus Lite {lite}, {day}: "
                                        f"exit {proc.returncode} ({proc.stdout.strip().splitlines()[-1][:160]})",
                  family)
    target = Path(out_dir) / (file_name or f"reproduce_{re.sub(r'[^A-Za-z0-9_]', '_', name)}.py")
    write_kit(target.parent, link=link_kit)
    atomic_write_text(target, header(stamp) + Path(source).read_text(encoding="utf-8"))
    return target


def main(argv: Optional[list[str]] = None) -> int:
    """Command line: prove one harness-written reproducer and stamp it into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--name", required=True, help="the divergence (method, or lifecycle:<check>)")
    parser.add_argument("--pymilvus", required=True, help="PEP 440 range of the releases that diverge")
    parser.add_argument("--out", type=Path, default=Path("docs/reproducers"))
    parser.add_argument("--uri", default=None, help="a running server (default: start the embedded one)")
    parser.add_argument("--file", default=None, help="the file name under --out (default: reproduce_<name>.py)")
    parser.add_argument("--server", default="*", help="server family glob of the registry entry (lite3, *)")
    parser.add_argument("--link-kit", action="store_true",
                        help="put the kit beside the script as symlinks into this source tree (docs/reproducers)")
    args = parser.parse_args(argv)
    try:
        print(prove(args.source, args.name, args.pymilvus, args.out, args.uri, args.file, args.server,
                    args.link_kit))
    except BadInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
