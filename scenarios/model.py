"""The scenario file, as pydantic models: what to run, where, on which data, and what counts as good enough.

A scenario is TOML. Every section is a model below; unknown keys are errors (a typo must not be silently ignored).
``scenarios/examples/*.toml`` are complete, commented examples.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal, Optional, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vdb_harness.kernel.errors import BadInputError

_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,254}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(str, Enum):
    """Similarity metrics. L2 is squared euclidean distance (lower is better); IP and COSINE are similarities."""

    L2 = "L2"
    IP = "IP"
    COSINE = "COSINE"

    @property
    def higher_is_better(self) -> bool:
        """True for similarities (IP, COSINE), false for distances (L2)."""
        return self is not Metric.L2


class FieldType(str, Enum):
    """Milvus field data types a scenario can declare (the names of ``pymilvus.DataType``)."""

    BOOL = "BOOL"
    INT8 = "INT8"
    INT16 = "INT16"
    INT32 = "INT32"
    INT64 = "INT64"
    FLOAT = "FLOAT"
    DOUBLE = "DOUBLE"
    VARCHAR = "VARCHAR"
    JSON = "JSON"
    ARRAY = "ARRAY"
    FLOAT_VECTOR = "FLOAT_VECTOR"
    FLOAT16_VECTOR = "FLOAT16_VECTOR"
    BFLOAT16_VECTOR = "BFLOAT16_VECTOR"
    BINARY_VECTOR = "BINARY_VECTOR"
    SPARSE_FLOAT_VECTOR = "SPARSE_FLOAT_VECTOR"
    INT8_VECTOR = "INT8_VECTOR"

    @property
    def is_vector(self) -> bool:
        """True for every vector type."""
        return self.value.endswith("_VECTOR")

    @property
    def is_sparse(self) -> bool:
        """True for SPARSE_FLOAT_VECTOR."""
        return self is FieldType.SPARSE_FLOAT_VECTOR


class FieldSpec(_Strict):
    """One field of the collection schema."""

    name: str = Field(pattern=_NAME)
    type: FieldType
    primary: bool = False
    auto_id: bool = False
    dim: Optional[int] = Field(default=None, ge=1, le=32768, description="vector dimension (dense vectors only)")
    max_length: Optional[int] = Field(default=None, ge=1, le=65535, description="VARCHAR length")
    element_type: Optional[FieldType] = Field(default=None, description="ARRAY element type")
    max_capacity: Optional[int] = Field(default=None, ge=1, le=4096, description="ARRAY capacity")
    nullable: bool = False
    default: Optional[Union[bool, int, float, str]] = None
    description: str = ""

    @model_validator(mode="after")
    def _check_type_params(self) -> "FieldSpec":
        t = self.type
        if t.is_vector and not t.is_sparse and self.dim is None:
            raise ValueError(f"field {self.name!r}: {t.value} needs 'dim'")
        if (not t.is_vector or t.is_sparse) and self.dim is not None:
            raise ValueError(f"field {self.name!r}: 'dim' only applies to dense vector fields, not {t.value}")
        if t is FieldType.VARCHAR and self.max_length is None:
            raise ValueError(f"field {self.name!r}: VARCHAR needs 'max_length'")
        if t is FieldType.ARRAY and (self.element_type is None or self.max_capacity is None):
            raise ValueError(f"field {self.name!r}: ARRAY needs 'element_type' and 'max_capacity'")
        if self.primary and t not in (FieldType.INT64, FieldType.VARCHAR):
            raise ValueError(f"field {self.name!r}: a primary key must be INT64 or VARCHAR, not {t.value}")
        if self.auto_id and not self.primary:
            raise ValueError(f"field {self.name!r}: 'auto_id' only applies to the primary key")
        return self


class CollectionSpec(_Strict):
    """The collection: name, schema fields and schema options."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    fields: list[FieldSpec] = Field(min_length=2)
    enable_dynamic_field: bool = False
    drop_existing: bool = Field(default=True, description="drop a collection of the same name before the run")
    shards: Optional[int] = Field(default=None, ge=1, le=64)

    @model_validator(mode="after")
    def _check_fields(self) -> "CollectionSpec":
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate field names: {dupes}")
        primaries = [f.name for f in self.fields if f.primary]
        if len(primaries) != 1:
            raise ValueError(f"exactly one field must have primary = true, found {len(primaries)}: {primaries}")
        if not any(f.type.is_vector for f in self.fields):
            raise ValueError("the schema needs at least one vector field")
        return self

    @property
    def primary(self) -> FieldSpec:
        """The primary key field."""
        return next(f for f in self.fields if f.primary)

    def field(self, name: str) -> FieldSpec:
        """The field called ``name`` (KeyError if there is none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def vector_fields(self) -> list[FieldSpec]:
        """Every vector field, in schema order."""
        return [f for f in self.fields if f.type.is_vector]


class IndexSpec(_Strict):
    """An index on one field. ``metric`` is required on vector fields and absent on scalar ones."""

    field: str = Field(pattern=_NAME)
    index_type: str = "AUTOINDEX"
    metric: Optional[Metric] = None
    params: dict[str, Any] = Field(default_factory=dict)
    name: Optional[str] = Field(default=None, pattern=_NAME)
    fallback: bool = Field(default=True, description="if the server rejects this vector index type, build the "
                                                     "type every server has (FLAT / SPARSE_INVERTED_INDEX) and say so")


class GeneratedDataset(_Strict):
    """A deterministic synthetic dataset. Every vector field of the schema gets generated vectors.

    ``generator``:
      - ``seed_tutorial``: exactly the rows of the AsyncMilvusClient tutorial (``default_rng(seed)``, rows drawn one
        by one: dense ``rng.random(dim)``, sparse ``csr_matrix(rng.random(dim))``, text of 10 random seed words);
        queries continue the same generator as the tutorial does.
      - ``gaussian``: i.i.d. standard normal dense vectors.
      - ``clustered``: dense vectors around ``clusters`` gaussian centres (harder for ANN, more realistic).
    Sparse fields get ``sparse_nnz`` random non-zeros out of ``sparse_dim`` positions. Scalar fields get values
    whose filters have a known selectivity (see ``scenarios.datasets.synthetic``).
    """

    kind: Literal["generated"] = "generated"
    generator: Literal["seed_tutorial", "gaussian", "clustered"] = "gaussian"
    rows: int = Field(ge=1, le=100_000_000)
    queries: int = Field(default=100, ge=1, le=1_000_000)
    seed: int = 42
    clusters: int = Field(default=64, ge=1, le=1_000_000)
    sparse_dim: int = Field(default=30_000, ge=1, le=4_294_967_295)
    sparse_nnz: int = Field(default=32, ge=1, le=10_000)
    normalize: bool = Field(default=False, description="L2-normalise dense vectors (for COSINE / IP datasets)")


class FileDataset(_Strict):
    """A dataset read from files: ``.npy``, ``.fvecs/.ivecs/.bvecs``, ann-benchmarks ``.hdf5`` or a VectorDBBench dir."""

    kind: Literal["file"] = "file"
    format: Literal["npy", "vecs", "hdf5", "vectordbbench"]
    path: str = Field(min_length=1, description="file or directory, relative to the scenario file")
    query_path: Optional[str] = Field(default=None, description="queries file for npy/vecs formats")
    neighbors_path: Optional[str] = Field(default=None, description="ground-truth ids file (ivecs/npy), optional")
    field: Optional[str] = Field(default=None, description="vector field the file fills (default: the first one)")
    limit_rows: Optional[int] = Field(default=None, ge=1)
    limit_queries: Optional[int] = Field(default=None, ge=1)


DatasetSpec = Annotated[Union[GeneratedDataset, FileDataset], Field(discriminator="kind")]


class RankerSpec(_Strict):
    """Hybrid-search reranker: reciprocal rank fusion or a weighted sum of normalised scores."""

    kind: Literal["rrf", "weighted"] = "rrf"
    k: int = Field(default=60, ge=1, le=16384, description="RRF smoothing constant")
    weights: list[float] = Field(default_factory=list, description="one weight per route (weighted ranker)")

    @field_validator("weights")
    @classmethod
    def _weights_in_range(cls, v: list[float]) -> list[float]:
        if any(not 0.0 <= w <= 1.0 for w in v):
            raise ValueError("every weight must be within [0, 1]")
        return v


class TaskKind(str, Enum):
    """Kinds of request a workload can issue."""

    dense_search = "dense_search"
    sparse_search = "sparse_search"
    hybrid_search = "hybrid_search"
    filtered_search = "filtered_search"
    query = "query"
    get = "get"
    insert = "insert"
    upsert = "upsert"
    delete = "delete"

    @property
    def is_search(self) -> bool:
        """True for the kinds that return ranked neighbours (and so have a recall)."""
        return self.value.endswith("search")

    @property
    def is_write(self) -> bool:
        """True for the kinds that change the collection."""
        return self in (TaskKind.insert, TaskKind.upsert, TaskKind.delete)


class TaskSpec(_Strict):
    """One task of the workload mix, drawn with probability proportional to ``weight``."""

    kind: TaskKind
    name: Optional[str] = Field(default=None, description="label in stats and reports (default: the kind)")
    weight: float = Field(default=1.0, gt=0, le=1e6)
    field: Optional[str] = Field(default=None, description="vector field searched (default: first of the right type)")
    fields: list[str] = Field(default_factory=list, description="hybrid_search: one vector field per route")
    top_k: Optional[int] = Field(default=None, ge=1, le=16384)
    filter: Optional[str] = Field(default=None, max_length=65536, description="boolean expression (Milvus syntax)")
    output_fields: list[str] = Field(default_factory=list)
    search_params: dict[str, Any] = Field(default_factory=dict)
    ranker: Optional[RankerSpec] = None
    route_limit: Optional[int] = Field(default=None, ge=1, le=16384, description="hybrid: per-route limit")
    batch_size: int = Field(default=1, ge=1, le=100_000, description="vectors per request / rows per write")

    @property
    def label(self) -> str:
        """The name shown in stats: ``name`` or the kind."""
        return self.name or self.kind.value

    @model_validator(mode="after")
    def _check_kind_params(self) -> "TaskSpec":
        if self.kind is TaskKind.hybrid_search and len(self.fields) < 2:
            raise ValueError("hybrid_search needs 'fields' with at least two vector fields (one per route)")
        if self.kind is TaskKind.filtered_search and not self.filter:
            raise ValueError("filtered_search needs a 'filter'")
        if self.kind is TaskKind.query and not self.filter:
            raise ValueError("query needs a 'filter'")
        return self


class WorkloadSpec(_Strict):
    """What the load run and the flow issue: the task mix and defaults shared by the tasks."""

    top_k: int = Field(default=10, ge=1, le=16384)
    consistency_level: Literal["Strong", "Bounded", "Session", "Eventually"] = "Bounded"
    tasks: list[TaskSpec] = Field(min_length=1)
    insert_batch_size: int = Field(default=1000, ge=1, le=100_000, description="rows per insert while loading")
    flow_queries: int = Field(default=3, ge=1, le=10_000, description="queries per task in `vdb-harness run`")

    @model_validator(mode="after")
    def _unique_labels(self) -> "WorkloadSpec":
        labels = [t.label for t in self.tasks]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"task labels must be unique, give the repeated ones a 'name': {dupes}")
        return self


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``2m``, ``1h``, ``500ms`` or a bare number of seconds."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 2m, 1h)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


class LoadSpec(_Strict):
    """The load profile. ``shape`` picks Locust users over time:

    ``fixed`` (``users`` for ``run_time``), ``ladder`` (``steps`` of users, ``step_time`` each), ``spike``
    (``users``, then ``spike_users`` for ``spike_time``, then back), ``arrival`` (open model, ``rate`` requests/s).
    """

    shape: Literal["fixed", "ladder", "spike", "arrival"] = "fixed"
    users: int = Field(default=4, ge=1, le=100_000)
    spawn_rate: float = Field(default=10.0, gt=0, le=100_000)
    run_time: str = "30s"
    steps: list[int] = Field(default_factory=lambda: [1, 2, 4, 8])
    step_time: str = "10s"
    spike_users: int = Field(default=16, ge=1, le=100_000)
    spike_time: str = "5s"
    rate: float = Field(default=100.0, gt=0, le=10_000_000)
    max_requests: Optional[int] = Field(default=None, ge=1, description="stop after this many requests")
    client: Literal["sync", "async", "lean"] = "sync"
    processes: int = Field(default=1, ge=1, le=256)
    serial_phase: str = Field(default="0s", description="one-user latency phase before the concurrent one")
    sweep: list[dict[str, Any]] = Field(default_factory=list, description="search_params sets for a recall/QPS sweep")
    on_server_loss: Literal["stop", "continue"] = Field(
        default="stop", description="when the server stops answering (its process died, its port refuses "
        "connections): 'stop' ends the run at once (exit 2, partial result kept); 'continue' keeps the load going "
        "for up to server_loss_grace while waiting for the server to come back (the outage is recorded and breaks "
        "the run's SLO: exit 1), and stops as 'stop' does if it does not. An embedded server that died is never "
        "restarted, so it always stops the run")
    server_loss_grace: str = Field(default="10s", description="how long 'continue' waits for a lost server")

    @field_validator("run_time", "step_time", "spike_time", "serial_phase", "server_loss_grace")
    @classmethod
    def _valid_duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class _Range(_Strict):
    """Rows ``[start, end)`` of the dataset's pool."""

    start: int = Field(ge=0, description="first pool row (a dataset row index)")
    end: int = Field(ge=1, description="one past the last pool row")
    name: Optional[str] = Field(default=None, max_length=128, description="label in the result (default: op[i])")

    @model_validator(mode="after")
    def _ordered(self) -> "_Range":
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be greater than start ({self.start})")
        return self


class InsertStep(_Range):
    """Insert pool rows ``[start, end)`` as new rows (ids past the dataset's, in the runbook's own lane; each row a
    copy of its dataset row), ``batch`` rows per insert, paced at ``rate`` rows/s (absent: as fast as acknowledged)."""

    op: Literal["insert"] = "insert"
    rate: Optional[float] = Field(default=None, gt=0, le=10_000_000, description="rows per second")
    batch: int = Field(default=1000, ge=1, le=100_000, description="rows per insert request")


class DeleteStep(_Range):
    """Delete the rows the runbook inserted from pool rows ``[start, end)`` (every one must be present)."""

    op: Literal["delete"] = "delete"
    batch: int = Field(default=10_000, ge=1, le=100_000, description="ids per delete request")


class SearchStep(_Strict):
    """Search ``queries`` queries of a search task (``task``: its label; default the first single-route search
    task), ``batch`` per request, each scored live against the rows that must be visible to it."""

    op: Literal["search"] = "search"
    queries: int = Field(default=100, ge=1, le=1_000_000)
    batch: int = Field(default=1, ge=1, le=16384, description="query vectors per request")
    task: Optional[str] = None
    name: Optional[str] = Field(default=None, max_length=128)


class WaitStep(_Strict):
    """Wait for ``until``: ``flush`` (seal what was written) or ``index`` (flush, then until the index covers every
    row), at most ``timeout``."""

    op: Literal["wait"] = "wait"
    until: Literal["flush", "index"] = "flush"
    timeout: str = "120s"
    name: Optional[str] = Field(default=None, max_length=128)

    @field_validator("timeout")
    @classmethod
    def _valid_timeout(cls, v: str) -> str:
        parse_duration(v)
        return v


class SleepStep(_Strict):
    """Let the concurrent load run alone for ``duration``."""

    op: Literal["sleep"] = "sleep"
    duration: str = "1s"
    name: Optional[str] = Field(default=None, max_length=128)

    @field_validator("duration")
    @classmethod
    def _valid_duration(cls, v: str) -> str:
        parse_duration(v)
        return v


RunbookStep = Annotated[Union[InsertStep, DeleteStep, SearchStep, WaitStep, SleepStep], Field(discriminator="op")]


def _live_ranges(ranges: list[tuple[int, int]], start: int, end: int) -> int:
    """Rows of ``[start, end)`` covered by the disjoint sorted ``ranges``."""
    return sum(max(0, min(b, end) - max(a, start)) for a, b in ranges)


def _add_range(ranges: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges + [(start, end)]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _remove_range(ranges: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if b <= start or a >= end:
            out.append((a, b))
            continue
        if a < start:
            out.append((a, start))
        if b > end:
            out.append((end, b))
    return out


class RunbookSpec(_Strict):
    """A streaming runbook (as the NeurIPS'23 Big-ANN streaming track and VectorDBBench's streaming cases): steps
    run one after the other under the concurrent load, each with its latency and recall in the result.

    The *pool* is the dataset's rows: ``insert`` adds copies of pool rows ``[start, end)`` as new rows, ``delete``
    removes rows the runbook inserted. A runbook may not insert a pool row it already holds, delete one it does not
    hold, or reach past the pool.
    """

    steps: list[RunbookStep] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _rows_written_before_deleted(self) -> "RunbookSpec":
        alive: list[tuple[int, int]] = []
        for i, step in enumerate(self.steps):
            if isinstance(step, InsertStep):
                dup = _live_ranges(alive, step.start, step.end)
                if dup:
                    raise ValueError(f"steps[{i}] (insert {step.start}..{step.end}): {dup} of these pool rows are "
                                     "already inserted by an earlier step (delete them first)")
                alive = _add_range(alive, step.start, step.end)
            elif isinstance(step, DeleteStep):
                held = _live_ranges(alive, step.start, step.end)
                if held != step.end - step.start:
                    raise ValueError(f"steps[{i}] (delete {step.start}..{step.end}): deletes "
                                     f"{step.end - step.start - held} rows the runbook never wrote (or already "
                                     f"deleted); rows held before this step: {_ranges_text(alive)}")
                alive = _remove_range(alive, step.start, step.end)
        return self

    @property
    def writes(self) -> bool:
        """Whether any step writes (insert or delete)."""
        return any(isinstance(s, (InsertStep, DeleteStep)) for s in self.steps)

    @property
    def pool_end(self) -> int:
        """One past the highest pool row any step inserts."""
        return max((s.end for s in self.steps if isinstance(s, InsertStep)), default=0)


def _ranges_text(ranges: list[tuple[int, int]]) -> str:
    return ", ".join(f"{a}..{b}" for a, b in ranges) or "none"


def check_runbook_pool(runbook: Optional[RunbookSpec], pool_rows: int) -> None:
    """Raise ValueError when a runbook inserts past the dataset's pool of ``pool_rows`` rows."""
    if runbook is None:
        return
    for i, step in enumerate(runbook.steps):
        if isinstance(step, InsertStep) and step.end > pool_rows:
            raise ValueError(f"runbook.steps[{i}] (insert {step.start}..{step.end}) writes past the dataset's pool "
                             f"of {pool_rows} rows")


class SloSpec(_Strict):
    """Service-level objectives a run must keep (absent means not checked)."""

    p99_ms: Optional[float] = Field(default=None, gt=0)
    recall_floor: Optional[float] = Field(default=None, ge=0, le=1)
    max_error_rate: Optional[float] = Field(default=None, ge=0, le=1)
    min_qps: Optional[float] = Field(default=None, ge=0)


class TargetSpec(_Strict):
    """Where traffic goes. ``embedded`` starts Milvus Lite on loopback; otherwise an ``http(s)://host:port`` URI."""

    target: str = Field(default="embedded", description="'embedded' or an http(s)://host:port URI")
    token_env: Optional[str] = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                     description="environment variable that holds the token")
    db_name: str = Field(default="default", pattern=_NAME)
    backend: Literal["lite", "lite25", "standalone"] = Field(
        default="lite", description="embedded engine: lite (Milvus Lite 3), lite25 (Milvus Lite 2.5.1, C++), standalone")
    backend_python: Optional[str] = Field(default=None, description="interpreter whose milvus-lite serves (embedded)")
    data_dir: Optional[str] = Field(default=None, description="embedded data directory (default: a temp dir)")
    timeout: float = Field(default=30.0, gt=0, le=3600, description="seconds per client call")

    @field_validator("target")
    @classmethod
    def _embedded_or_uri(cls, v: str) -> str:
        if v != "embedded" and not re.match(r"^https?://[^/\s:]+(:\d{1,5})?/?$", v):
            raise ValueError(f"must be 'embedded' or an http(s)://host:port URI, got {v!r}")
        return v


class OutputSpec(_Strict):
    """Where results go (``--out`` overrides ``dir``)."""

    dir: str = "results"


class Scenario(_Strict):
    """A whole scenario file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    description: str = ""
    target: TargetSpec = Field(default_factory=TargetSpec)
    dataset: DatasetSpec
    collection: CollectionSpec
    indexes: list[IndexSpec] = Field(default_factory=list)
    workload: WorkloadSpec
    load: LoadSpec = Field(default_factory=LoadSpec)
    slo: SloSpec = Field(default_factory=SloSpec)
    outputs: OutputSpec = Field(default_factory=OutputSpec)
    runbook: Optional[RunbookSpec] = Field(default=None, description="streaming steps run under the load")

    @model_validator(mode="after")
    def _cross_check(self) -> "Scenario":
        fields = {f.name: f for f in self.collection.fields}
        for i, index in enumerate(self.indexes):
            if index.field not in fields:
                raise ValueError(f"indexes[{i}].field: no field {index.field!r} in the collection")
            is_vec = fields[index.field].type.is_vector
            if is_vec and index.metric is None:
                raise ValueError(f"indexes[{i}]: vector field {index.field!r} needs a 'metric'")
            if not is_vec and index.metric is not None:
                raise ValueError(f"indexes[{i}]: scalar field {index.field!r} takes no 'metric'")
        for i, task in enumerate(self.workload.tasks):
            for name in ([task.field] if task.field else []) + task.fields + task.output_fields:
                if name not in fields and name != "count(*)" and not self.collection.enable_dynamic_field:
                    raise ValueError(f"workload.tasks[{i}]: no field {name!r} in the collection")
            if task.ranker and task.ranker.kind == "weighted" and len(task.ranker.weights) != len(task.fields):
                raise ValueError(f"workload.tasks[{i}].ranker: weighted needs one weight per route "
                                 f"({len(task.fields)}), got {len(task.ranker.weights)}")
        self._check_runbook()
        self._check_recall_under_writes()
        return self

    def _check_runbook(self) -> None:
        runbook = self.runbook
        if runbook is None:
            return
        if runbook.writes and self.collection.primary.auto_id:
            raise ValueError("runbook: it writes rows with ids of its own, but the primary key "
                             f"{self.collection.primary.name!r} has auto_id = true")
        labels = {t.label: t for t in self.workload.tasks}
        searchable = [t.label for t in self.workload.tasks if t.kind.is_search and t.kind is not TaskKind.hybrid_search]
        for i, step in enumerate(runbook.steps):
            if not isinstance(step, SearchStep):
                continue
            if step.task is None:
                if not searchable:
                    raise ValueError(f"runbook.steps[{i}]: a search step needs a single-route search task in "
                                     "workload.tasks (dense, sparse or filtered search) to take its parameters from")
            elif step.task not in labels:
                raise ValueError(f"runbook.steps[{i}].task: no workload task {step.task!r} (tasks: "
                                 f"{', '.join(labels)})")
            elif not labels[step.task].kind.is_search or labels[step.task].kind is TaskKind.hybrid_search:
                raise ValueError(f"runbook.steps[{i}].task: {step.task!r} is a {labels[step.task].kind.value} task; "
                                 "a runbook search takes a dense, sparse or filtered search task")
        if isinstance(self.dataset, GeneratedDataset):
            check_runbook_pool(runbook, self.dataset.rows)

    def _check_recall_under_writes(self) -> None:
        """A recall floor under writes must be one the live truth can bound."""
        writes = [t.label for t in self.workload.tasks if t.kind.is_write] + (
            ["runbook"] if self.runbook is not None and self.runbook.writes else [])
        if not writes or self.slo.recall_floor is None:
            return
        if self.workload.consistency_level == "Eventually":
            raise ValueError(f"slo.recall_floor under writes ({', '.join(writes)}) with consistency_level = "
                             "'Eventually' cannot be bounded: no written row is ever guaranteed visible, so recall "
                             "could only be measured against the dataset's rows; use 'Strong', 'Session' or "
                             "'Bounded', or drop the recall floor")
        hybrid = [t.label for t in self.workload.tasks if t.kind is TaskKind.hybrid_search]
        if hybrid:
            raise ValueError(f"slo.recall_floor under writes ({', '.join(writes)}): hybrid search tasks "
                             f"({', '.join(hybrid)}) are not scored while the collection is written, so the floor "
                             "cannot be checked; drop the floor or the hybrid tasks")

    def metric_of(self, field: str) -> Metric:
        """The metric of the index on vector ``field`` (IP for sparse and L2 for dense when no index names one)."""
        for index in self.indexes:
            if index.field == field and index.metric is not None:
                return index.metric
        return Metric.IP if self.collection.field(field).type.is_sparse else Metric.L2

    def task_field(self, task: TaskSpec) -> str:
        """The vector field a single-route search task searches."""
        if task.field:
            return task.field
        want_sparse = task.kind is TaskKind.sparse_search
        for f in self.collection.vector_fields:
            if f.type.is_sparse == want_sparse:
                return f.name
        raise ValueError(f"task {task.label!r}: the schema has no {'sparse' if want_sparse else 'dense'} vector field")


SpecT = TypeVar("SpecT", bound=BaseModel)


def with_flags(spec: SpecT, values: dict[str, Any], flags: Optional[dict[str, str]] = None,
               whole: str = "flags") -> SpecT:
    """``spec`` with the command-line ``values`` (field -> value; None means the flag was not given) applied and
    validated. A value the model rejects is a :class:`BadInputError` naming the flag: ``--field-name`` unless
    ``flags`` maps the field to another flag; ``whole`` names what a check across several fields is about."""
    updates = {k: v for k, v in values.items() if v is not None}
    try:
        return type(spec).model_validate({**spec.model_dump(), **updates})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        flag = (flags or {}).get(field) or (f"--{field.replace('_', '-')}" if field else whole)
        raise BadInputError(f"{flag}: {first['msg']}") from None
