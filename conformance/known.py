"""The known-divergence registry (``known_divergences.toml``): divergences already understood, per server family
and pymilvus version, each with a reason. They are reported as known (xfail strict: a fix is noticed);
``--strict`` fails on them too."""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from scenarios.errors import BadInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_PATH = Path(__file__).with_name("known_divergences.toml")


@dataclass(frozen=True)
class KnownDivergence:
    """One entry: which method, where (server glob, pymilvus specifier), and why."""

    method: str
    server: str
    pymilvus: str
    reason: str
    issue: str = ""

    def applies(self, method: str, server: str, pymilvus_version: str) -> bool:
        """True when this entry covers ``method`` on ``server`` with ``pymilvus_version``."""
        if method != self.method or not fnmatch.fnmatch(server, self.server):
            return False
        return not self.pymilvus or Version(pymilvus_version) in SpecifierSet(self.pymilvus)


def load(path: Optional[Path] = None) -> list[KnownDivergence]:
    """The entries of the registry file; a malformed file is a bad-input error naming the entry."""
    p = Path(path or os.environ.get("VDB_HARNESS_KNOWN_DIVERGENCES") or DEFAULT_PATH)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"{p}: cannot read the known-divergence registry: {exc}") from None
    out = []
    for i, entry in enumerate(data.get("divergence", [])):
        try:
            out.append(KnownDivergence(method=entry["method"], server=entry.get("server", "*"),
                                       pymilvus=entry.get("pymilvus", ""), reason=entry["reason"],
                                       issue=entry.get("issue", "")))
        except KeyError as exc:
            raise BadInputError(f"{p}: divergence[{i}] needs {exc.args[0]!r}") from None
    return out


def lookup(entries: list[KnownDivergence], method: str, server: str, pymilvus_version: str) -> Optional[KnownDivergence]:
    """The entry covering this method/server/version, if any."""
    return next((e for e in entries if e.applies(method, server, pymilvus_version)), None)


def strict() -> bool:
    """True when known divergences must fail too (``--strict`` / VDB_HARNESS_CONFORMANCE_STRICT=1)."""
    return os.environ.get("VDB_HARNESS_CONFORMANCE_STRICT", "") not in ("", "0", "false")


def settle(name: str, server: str, divergence: Optional[str]) -> tuple[str, str]:
    """(status, message) for a whole-flow check ``name``: pass, diverges, or known-divergence (strict xfail)."""
    import pymilvus

    entry = lookup(load(), name, server, pymilvus.__version__)
    if entry is None:
        return ("diverges", divergence) if divergence else ("pass", "")
    if divergence is None:
        return "diverges", f"{name} is listed as a known divergence ({entry.reason}) but conforms now: remove the entry"
    if strict():
        return "diverges", f"known divergence (strict): {entry.reason}: {divergence}"
    return "known-divergence", f"{entry.reason}: {divergence}"
