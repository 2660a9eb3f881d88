"""Result files in: read them (version-checked), and flatten the sections reports and the gate read.

Everything a reader needs from ``load`` and ``conformance`` sections goes through here, so the section layout
(``docs/result-format.md``) is interpreted in one place. Malformed sections raise ``BadInputError`` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from vdb_harness.kernel.errors import BadInputError
from vdb_harness.kernel.results import read_result

@dataclass
class LoadedResult:
    """One result file: where it came from and its parsed content."""

    path: Path
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        """The result kind (run, conformance, load, capacity, certify)."""
        return str(self.data.get("kind"))

    @property
    def status(self) -> str:
        """The result status (pass, fail, error, interrupted)."""
        return str(self.data.get("status"))

    @property
    def name(self) -> str:
        """A short display name: scenario name and kind, else the file's parent directory."""
        scenario = (self.data.get("scenario") or {}).get("name")
        return f"{scenario} ({self.kind})" if scenario else f"{self.path.parent.name or self.path.name} ({self.kind})"

    def section(self, key: Optional[str] = None) -> dict[str, Any]:
        """The section ``key`` (default: the kind's own) as a dict; ``{}`` when absent, error when malformed."""
        key = key or self.kind
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise BadInputError(f"{self.path}: section {key!r} must be an object, got {type(value).__name__}")
        return value


@dataclass
class TaskMetrics:
    """The flat per-task record the gate and the summaries compare (None = not measured)."""

    label: str
    kind: Optional[str] = None
    requests: int = 0
    failures: int = 0
    qps: Optional[float] = None
    p50_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    recall: Optional[float] = None
    errors_by_code: dict[str, int] = field(default_factory=dict)

    @property
    def error_rate(self) -> Optional[float]:
        """failures / requests, None when there were no requests."""
        return self.failures / self.requests if self.requests else None

    def get(self, key: str) -> Optional[float]:
        """The metric called ``key`` (see ``reports.metrics``)."""
        return self.error_rate if key == "error_rate" else getattr(self, key)


def result_paths(raw: str | os.PathLike) -> list[Path]:
    """The result files ``raw`` names: a file itself; a directory its ``result.json``, or else every
    ``result.json`` below it (a matrix of runs, in path order)."""
    p = Path(raw)
    if not p.is_dir():
        return [p]
    if (p / "result.json").exists():
        return [p / "result.json"]
    found = sorted(p.rglob("result.json"))
    if not found:
        raise BadInputError(f"{p}: no result.json in this directory or below it")
    return found


def load_one(path: str | os.PathLike) -> LoadedResult:
    """One result file (or a directory's ``result.json``), version-checked; a bad one raises ``BadInputError``."""
    p = Path(path)
    return LoadedResult(p, read_result(p))


def load(paths: Iterable[str | os.PathLike]) -> list[LoadedResult]:
    """Read each result file (see :func:`result_paths` for directories); the first bad one raises
    ``BadInputError``."""
    out = [load_one(p) for raw in paths for p in result_paths(raw)]
    if not out:
        raise BadInputError("no result files given")
    return out


def _num(value: Any, where: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInputError(f"{where}: expected a number or null, got {value!r}")
    return float(value)


def task_metrics(result: LoadedResult, tasks: Optional[dict[str, Any]] = None) -> dict[str, TaskMetrics]:
    """Per-task records of a ``load`` result (``tasks`` defaults to ``load.tasks``), keyed by task label."""
    raw = result.section("load").get("tasks", {}) if tasks is None else tasks
    if not isinstance(raw, dict):
        raise BadInputError(f"{result.path}: load.tasks must be an object keyed by task label")
    out: dict[str, TaskMetrics] = {}
    for label, stats in raw.items():
        where = f"{result.path}: load.tasks.{label}"
        if not isinstance(stats, dict):
            raise BadInputError(f"{where} must be an object")
        latency = stats.get("latency_ms") or {}
        recall = stats.get("recall")
        try:
            requests, failures = int(stats.get("requests") or 0), int(stats.get("failures") or 0)
        except (TypeError, ValueError):
            raise BadInputError(f"{where}: requests and failures must be integers") from None
        out[str(label)] = TaskMetrics(
            label=str(label), kind=stats.get("kind"), requests=requests, failures=failures,
            qps=_num(stats.get("qps"), f"{where}.qps"),
            p50_ms=_num(latency.get("p50"), f"{where}.latency_ms.p50"),
            p99_ms=_num(latency.get("p99"), f"{where}.latency_ms.p99"),
            recall=_num(recall.get("mean"), f"{where}.recall.mean") if isinstance(recall, dict) else None,
            errors_by_code={str(k): int(v) for k, v in (stats.get("errors_by_code") or {}).items()})
    return out


def phases(result: LoadedResult) -> list[dict[str, Any]]:
    """``load.phases`` as a list of ``{name, users, duration_s, tasks}`` (an object keyed by name is accepted)."""
    raw = result.section("load").get("phases") or []
    if isinstance(raw, dict):
        return [{"name": k, **(v if isinstance(v, dict) else {})} for k, v in raw.items()]
    return [p for p in raw if isinstance(p, dict)]


def rows(result: LoadedResult, section: str, key: str) -> list[dict[str, Any]]:
    """A list of row objects ``section.key`` (``[]`` when absent); non-object rows are a bad input."""
    value = result.section(section).get(key) or []
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise BadInputError(f"{result.path}: {section}.{key} must be a list of objects")
    return value


def conformance_matrix(result: LoadedResult) -> list[dict[str, Any]]:
    """``conformance.matrix`` rows, each with ``method`` and ``status`` checked."""
    matrix = rows(result, "conformance", "matrix")
    for i, row in enumerate(matrix):
        if "method" not in row or "status" not in row:
            raise BadInputError(f"{result.path}: conformance.matrix[{i}] needs 'method' and 'status'")
    return matrix


def conformance_key(row: dict[str, Any]) -> tuple[str, str, str]:
    """The identity of a matrix row across runs: (method, server, pymilvus)."""
    return (str(row.get("method")), str(row.get("server", "")), str(row.get("pymilvus", "")))
