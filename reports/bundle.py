"""Certification bundles: a directory plus a ``.tar.gz`` of it, described by ``manifest.json``.

The manifest (format ``vdb-harness/bundle`` version 1) lists every other file of the bundle with its sha256 and
size, the versions of client, server and harness, dataset fingerprints and the verdict per stage. Verification
re-hashes the files: an edited, missing or extra file is reported. (This proves integrity against the manifest,
not who wrote it: someone who rewrites the manifest too is not detected; keep the archive's sha256 elsewhere or
sign it for that.) Secrets are redacted from every artifact before it is hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.results import atomic_write, atomic_write_bytes, atomic_write_text, package_version, utc_now

FORMAT = "vdb-harness/bundle"
VERSION = 1
MANIFEST = "manifest.json"
REDACTED = "***redacted***"
_SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SECRET|API_KEY|CREDENTIAL", re.IGNORECASE)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def secret_values(token_envs: Iterable[str] = (), environ: Optional[dict[str, str]] = None) -> list[str]:
    """Values that must never reach an artifact: the named token variables and any ``*TOKEN*``-like variable."""
    env = os.environ if environ is None else environ
    names = set(token_envs) | {k for k in env if _SECRET_NAME.search(k)}
    return sorted({env[n] for n in names if len(env.get(n, "")) >= 6}, key=len, reverse=True)


def redact(root: Path, secrets: list[str]) -> list[str]:
    """Replace every secret in the files under ``root`` (atomically); returns the relative paths changed."""
    changed = []
    if not secrets:
        return changed
    needles = [s.encode() for s in secrets]
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        if any(n in data for n in needles):
            for n in needles:
                data = data.replace(n, REDACTED.encode())
            atomic_write_bytes(path, data)
            changed.append(path.relative_to(root).as_posix())
    return changed


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if (p.is_file() or p.is_symlink()) and p.relative_to(root).as_posix() != MANIFEST)


def write_manifest(root: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Hash every file under ``root`` and write ``root/manifest.json`` with ``info`` (stages, versions...)."""
    manifest = {"format": FORMAT, "version": VERSION, "created_at": utc_now(),
                "harness": {"version": package_version("vdb-harness")},
                "client": {"pymilvus": package_version("pymilvus")}, **info,
                "artifacts": [{"path": rel, "sha256": sha256_file(root / rel), "bytes": (root / rel).stat().st_size}
                              for rel in _files(root)]}
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return manifest


def write_archive(root: Path) -> Path:
    """``root.tar.gz`` next to ``root`` (written to a temp file, then renamed), files under ``root.name/``."""
    archive = root.parent / f"{root.name}.tar.gz"

    def write(handle: Any) -> None:
        with tarfile.open(fileobj=handle, mode="w:gz") as tar:
            for rel in [MANIFEST, *_files(root)]:
                tar.add(root / rel, arcname=f"{root.name}/{rel}", recursive=False)

    atomic_write(archive, write)
    return archive


@dataclass
class Verification:
    """What verifying a bundle found: one line per problem (empty = intact)."""

    bundle: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every artifact matches the manifest and nothing was added."""
        return not self.problems


def _read_manifest(root: Path, shown: str) -> dict[str, Any]:
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"{shown}: not a certification bundle (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{shown}: {MANIFEST} is unreadable or corrupt ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInputError(f"{shown}: {MANIFEST} is not a vdb-harness bundle manifest")
    if data.get("version") != VERSION:
        raise BadInputError(f"{shown}: bundle format version {data.get('version')!r} is not supported "
                            f"(supports {VERSION})")
    if not isinstance(data.get("artifacts"), list):
        raise BadInputError(f"{shown}: {MANIFEST} has no artifact list")
    return data


def verify_dir(root: Path, shown: Optional[str] = None) -> Verification:
    """Re-hash a bundle directory against its manifest."""
    shown = shown or str(root)
    manifest = _read_manifest(root, shown)
    result = Verification(shown, manifest=manifest)
    listed = {}
    for a in manifest["artifacts"]:
        if not isinstance(a, dict) or "path" not in a or "sha256" not in a:
            raise BadInputError(f"{shown}: {MANIFEST} has a malformed artifact entry: {a!r}")
        listed[str(a["path"])] = a
    for rel, entry in sorted(listed.items()):
        path = root / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            result.problems.append(f"unsafe path in the manifest: {rel}")
        elif path.is_symlink() or not path.is_file():
            result.problems.append(f"missing: {rel}")
        elif sha256_file(path) != entry["sha256"]:
            result.problems.append(f"modified: {rel} (sha256 differs from the manifest)")
        result.checked += 1
    result.problems += [f"unexpected file: {rel} (not in the manifest)" for rel in _files(root) if rel not in listed]
    return result


def _safe_extract(archive: Path, dest: Path) -> Path:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                parts = Path(m.name).parts
                if m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir()):
                    raise BadInputError(f"{archive}: unsafe archive member {m.name!r} (absolute, '..' or a link)")
            tar.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BadInputError(f"{archive}: not a readable .tar.gz bundle ({exc})") from None
    tops = [p for p in dest.iterdir()]
    if len(tops) != 1 or not tops[0].is_dir():
        raise BadInputError(f"{archive}: a bundle archive holds exactly one top-level directory")
    return tops[0]


def verify(path: str | os.PathLike) -> Verification:
    """Verify a bundle directory or its ``.tar.gz``; bad input (not a bundle, unknown version) raises."""
    p = Path(path)
    if p.is_dir():
        return verify_dir(p)
    if not p.exists():
        raise BadInputError(f"{p}: no such bundle (a directory or a .tar.gz)")
    with tempfile.TemporaryDirectory(prefix="vdb-verify-") as tmp:
        return verify_dir(_safe_extract(p, Path(tmp)), shown=str(p))
