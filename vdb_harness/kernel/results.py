"""The versioned result file (``DIR/result.json``) every run writes and every report, gate and bundle reads.

Layout (format ``vdb-harness/result`` version 1; the JSON Schema is ``vdb_harness/kernel/result.schema.json``)::

    {
      "format": "vdb-harness/result", "version": 1,
      "kind": "run" | "conformance" | "load" | "capacity" | "certify",
      "run_id": "...", "started_at": ISO-8601, "finished_at": ISO-8601,
      "status": "pass" | "fail" | "error" | "interrupted",
      "harness": {...}, "environment": {...}, "target": {...}, "scenario": {"name", "sha256"},
      "dataset": {"name", "fingerprint", "rows", "queries"},
      "<kind>": { ...the kind's own section... },
      "notes": [...]
    }

Sections are owned by the step that writes them; readers must ignore keys they do not know and refuse a
``version`` they do not know. Files are written atomically: a reader never sees half a file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import tempfile
import uuid
from pathlib import Path
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator

from vdb_harness.kernel.errors import BadInputError, read_input_text

FORMAT = "vdb-harness/result"
VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
KINDS = ("run", "conformance", "load", "capacity", "certify")
STATUSES = ("pass", "fail", "error", "interrupted")
SCHEMA_PATH = Path(__file__).with_name("result.schema.json")


def utc_now() -> str:
    """The current UTC time as ISO-8601 with a trailing ``Z``."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def package_version(name: str) -> str:
    """The installed version of a distribution, or ``"not installed"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def environment_fingerprint() -> dict[str, Any]:
    """Machine and library versions that make results comparable (or explain why they are not)."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
        "packages": {name: package_version(name)
                     for name in ("vdb-harness", "pymilvus", "milvus-lite", "locust", "numpy", "hypothesis")},
    }


def new_result(kind: str, **sections: Any) -> dict[str, Any]:
    """A result skeleton of ``kind`` with the header filled in; the caller adds its section and ``status``."""
    if kind not in KINDS:
        raise ValueError(f"unknown result kind {kind!r}; one of {KINDS}")
    result: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "kind": kind, "run_id": uuid.uuid4().hex,
        "started_at": utc_now(), "finished_at": None, "status": "error",
        "harness": {"version": package_version("vdb-harness")},
        "environment": environment_fingerprint(), "notes": [],
    }
    result.update(sections)
    return result


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "value") and hasattr(value, "name"):  # enums
        return value.value
    return repr(value)


def _finite(value: Any) -> Any:
    """Replace NaN/inf (not JSON) with None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Create ``path`` through ``write(handle)`` on a temp file in the same directory + fsync + rename: a reader
    sees the old file or the whole new one, never half of it (also when interrupted)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results and reports are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_result(result: dict[str, Any], out_dir: str | os.PathLike, name: str = "result.json") -> Path:
    """Stamp ``finished_at`` and write ``out_dir/name`` atomically; returns the path."""
    if result.get("finished_at") is None:
        result["finished_at"] = utc_now()
    text = json.dumps(_finite(json.loads(json.dumps(result, default=_json_default))), indent=2, sort_keys=False)
    return atomic_write_text(Path(out_dir) / name, text + "\n")


@contextmanager
def recorded(result: dict[str, Any], out_dir: str | os.PathLike,
             on_written: Callable[[Path], None] = lambda _p: None) -> Iterator[dict[str, Any]]:
    """Write ``result`` to ``out_dir/result.json`` however the block ends, keeping whatever it gathered: the
    status the block set, ``interrupted`` on Ctrl-C, or ``error`` with the message as a note on a harness error."""
    from vdb_harness.kernel.errors import HarnessError

    try:
        yield result
    except KeyboardInterrupt:
        result["status"] = "interrupted"
        result["notes"].append("interrupted (Ctrl-C); the data up to then is kept")
        raise
    except HarnessError as exc:
        result["status"] = "error"
        result["notes"].append(str(exc))
        raise
    finally:
        on_written(write_result(result, out_dir))


def read_result(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check one result file: format and version must be known; errors name the file."""
    p = Path(path)
    if p.is_dir():
        p = p / "result.json"
    text = read_input_text(p, "result")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{p}: not a valid result file (corrupt or truncated JSON at line {exc.lineno}, "
                            f"column {exc.colno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInputError(f"{p}: not a vdb-harness result file (expected \"format\": \"{FORMAT}\")")
    if data.get("version") not in SUPPORTED_VERSIONS:
        raise BadInputError(f"{p}: result format version {data.get('version')!r} is not supported by this "
                            f"vdb-harness (supports {sorted(SUPPORTED_VERSIONS)}); upgrade the harness")
    if data.get("kind") not in KINDS:
        raise BadInputError(f"{p}: unknown result kind {data.get('kind')!r}")
    return data
