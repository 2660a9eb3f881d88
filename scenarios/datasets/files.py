"""Loaders for vector files: ``.npy``, ``.fvecs/.ivecs/.bvecs``, ann-benchmarks HDF5 and VectorDBBench parquet dirs.

Each returns a :class:`~scenarios.datasets.base.Dataset` with one vector field (train split in ``vectors``, test
split in ``queries``) and, when the file ships it, its ground truth in ``neighbors`` (row positions into the train
split) and ``distances`` (the file's own values, e.g. ann-benchmarks' non-squared euclidean distances). When
``limit_rows`` cuts the train split the file's ground truth no longer holds and is dropped (recomputed later).

Every problem with a file (missing, truncated, wrong shape, unreadable) raises
:class:`~vdb_harness.kernel.errors.BadInputError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from scenarios.datasets.base import Dataset
from vdb_harness.kernel.errors import BadInputError

#: ann-benchmarks' ``distance`` attribute -> the Milvus metric that ranks the same way.
ANN_BENCHMARKS_METRICS = {"euclidean": "L2", "angular": "COSINE", "ip": "IP", "dot": "IP"}
_VECS_DTYPES = {".fvecs": np.dtype("<f4"), ".ivecs": np.dtype("<i4"), ".bvecs": np.dtype("u1")}


def _bad(path: Path | str, what: str) -> BadInputError:
    return BadInputError(f"{path}: {what}")


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise _bad(path, "no such file")


def _dataset(name: str, field: str, train: np.ndarray, queries: Optional[np.ndarray],
             neighbors: Optional[np.ndarray], distances: Optional[np.ndarray], meta: dict[str, Any],
             primary_field: str, total_rows: int) -> Dataset:
    train = np.ascontiguousarray(train, dtype=np.float32)
    ds = Dataset(name=name, ids=np.arange(len(train), dtype=np.int64), vectors={field: train},
                 meta={**meta, "primary_field": primary_field, "field": field})
    if queries is not None:
        ds.queries[field] = np.ascontiguousarray(queries, dtype=np.float32)
    if neighbors is not None and len(train) == total_rows:
        ds.neighbors[field] = np.asarray(neighbors, dtype=np.int64)[: len(ds.queries.get(field, neighbors))]
        if distances is not None:
            ds.distances[field] = np.asarray(distances, dtype=np.float32)[: ds.neighbors[field].shape[0]]
    elif neighbors is not None:
        ds.meta["ground_truth_dropped"] = "limit_rows cut the train split"
    return ds


# --------------------------------------------------------------------------------------------- .npy


def read_npy(path: Path | str, limit: Optional[int] = None, *, ndim: int = 2) -> np.ndarray:
    """A 2-d array from a ``.npy`` file (memory-mapped, first ``limit`` rows copied)."""
    path = Path(path)
    _check_file(path)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _bad(path, f"not a readable .npy file ({exc})") from None
    if arr.ndim != ndim:
        raise _bad(path, f"expected a {ndim}-d array, found shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise _bad(path, f"expected numbers, found dtype {arr.dtype}")
    try:
        return np.array(arr[:limit])
    except (ValueError, OSError) as exc:
        raise _bad(path, f"truncated or unreadable data ({exc})") from None


def load_npy(path: Path | str, query_path: Path | str | None = None, neighbors_path: Path | str | None = None, *,
             field: str = "vector", primary_field: str = "id", limit_rows: Optional[int] = None,
             limit_queries: Optional[int] = None) -> Dataset:
    """A dataset from a ``.npy`` train matrix, an optional ``.npy`` query matrix and neighbour ids (npy or ivecs)."""
    path = Path(path)
    train = read_npy(path, limit_rows)
    total = _npy_rows(path)
    queries = read_npy(query_path, limit_queries) if query_path else None
    neighbors = _read_neighbors(Path(neighbors_path), limit_queries) if neighbors_path else None
    _check_dims(train, queries, path, query_path)
    return _dataset(path.stem, field, train, queries, neighbors, None,
                    {"source": str(path), "format": "npy"}, primary_field, total)


def _npy_rows(path: Path) -> int:
    return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])


def _read_neighbors(path: Path, limit: Optional[int]) -> np.ndarray:
    if path.suffix == ".ivecs":
        return read_vecs(path, limit).astype(np.int64)
    return read_npy(path, limit).astype(np.int64)


def _check_dims(train: np.ndarray, queries: Optional[np.ndarray], path: Any, query_path: Any) -> None:
    if queries is not None and queries.shape[1] != train.shape[1]:
        raise _bad(query_path, f"queries have dim {queries.shape[1]} but {path} has dim {train.shape[1]}")


# --------------------------------------------------------------------------------------------- .fvecs / .ivecs / .bvecs


def read_vecs(path: Path | str, limit: Optional[int] = None) -> np.ndarray:
    """Records of a ``.fvecs`` (float32), ``.ivecs`` (int32) or ``.bvecs`` (uint8) file as a 2-d array.

    Each record is a little-endian int32 dimension followed by that many values; every record must have the same
    dimension and the file size must be a whole number of records.
    """
    path = Path(path)
    _check_file(path)
    dtype = _VECS_DTYPES.get(path.suffix)
    if dtype is None:
        raise _bad(path, f"unknown vecs extension {path.suffix!r} (expected .fvecs, .ivecs or .bvecs)")
    size = path.stat().st_size
    if size < 4:
        raise _bad(path, f"file of {size} bytes is too short for a vecs header")
    dim = int(np.fromfile(path, dtype="<i4", count=1)[0])
    if dim <= 0 or dim > 1 << 20:
        raise _bad(path, f"implausible dimension {dim} in the first record header")
    record = 4 + dim * dtype.itemsize
    if size % record:
        raise _bad(path, f"size {size} is not a multiple of the record size {record} (dim {dim}): "
                         f"truncated or not a {path.suffix} file")
    count = size // record
    rows = count if limit is None else min(limit, count)
    raw = np.memmap(path, dtype=np.uint8, mode="r", shape=(count, record))[:rows]
    headers = np.ascontiguousarray(raw[:, :4]).view("<i4").ravel()
    bad = np.flatnonzero(headers != dim)
    if bad.size:
        raise _bad(path, f"record {int(bad[0])} has dimension {int(headers[bad[0]])}, expected {dim}")
    return np.ascontiguousarray(raw[:, 4:]).view(dtype).reshape(rows, dim).astype(dtype.newbyteorder("="))


def load_vecs(path: Path | str, query_path: Path | str | None = None, neighbors_path: Path | str | None = None, *,
              field: str = "vector", primary_field: str = "id", limit_rows: Optional[int] = None,
              limit_queries: Optional[int] = None) -> Dataset:
    """A dataset from vecs files: train (``.fvecs``/``.bvecs``), optional queries and ``.ivecs`` neighbours."""
    path = Path(path)
    train = read_vecs(path, limit_rows)
    total = path.stat().st_size // (4 + train.shape[1] * _VECS_DTYPES[path.suffix].itemsize)
    queries = read_vecs(query_path, limit_queries) if query_path else None
    neighbors = _read_neighbors(Path(neighbors_path), limit_queries) if neighbors_path else None
    _check_dims(train, queries, path, query_path)
    return _dataset(path.stem, field, train, queries, neighbors, None,
                    {"source": str(path), "format": "vecs"}, primary_field, int(total))


# --------------------------------------------------------------------------------------------- ann-benchmarks HDF5


def load_hdf5(path: Path | str, *, field: str = "vector", primary_field: str = "id",
              limit_rows: Optional[int] = None, limit_queries: Optional[int] = None) -> Dataset:
    """A dataset from an ann-benchmarks HDF5 file (``train``, ``test``, ``neighbors``, ``distances``, attrs
    ``distance`` and ``dimension``); ``meta['metric']`` is the Milvus metric matching its ``distance``."""
    try:
        import h5py
    except ImportError:
        raise BadInputError(f"{path}: reading HDF5 files needs h5py (pip install 'vdb-harness[files]')") from None
    path = Path(path)
    _check_file(path)
    try:
        with h5py.File(path, "r") as f:
            for name in ("train", "test"):
                if name not in f:
                    raise _bad(path, f"no '{name}' dataset (found {sorted(f.keys())})")
            train = np.asarray(f["train"][:limit_rows])
            total = int(f["train"].shape[0])
            queries = np.asarray(f["test"][:limit_queries])
            neighbors = np.asarray(f["neighbors"][:limit_queries]) if "neighbors" in f else None
            distances = np.asarray(f["distances"][:limit_queries]) if "distances" in f else None
            distance = f.attrs.get("distance")
            dimension = f.attrs.get("dimension")
    except BadInputError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise _bad(path, f"not a readable ann-benchmarks HDF5 file ({exc})") from None
    if train.ndim != 2 or queries.ndim != 2:
        raise _bad(path, f"'train' and 'test' must be 2-d, found shapes {train.shape} and {queries.shape}")
    if dimension is not None and int(dimension) != train.shape[1]:
        raise _bad(path, f"attribute dimension={int(dimension)} but 'train' has dim {train.shape[1]}")
    _check_dims(train, queries, path, path)
    if isinstance(distance, bytes):
        distance = distance.decode()
    meta = {"source": str(path), "format": "hdf5", "distance": distance,
            "metric": ANN_BENCHMARKS_METRICS.get(str(distance).lower())}
    return _dataset(path.stem, field, train, queries, neighbors, distances, meta, primary_field, total)


# --------------------------------------------------------------------------------------------- VectorDBBench


def load_vectordbbench(directory: Path | str, *, field: str = "vector", primary_field: str = "id",
                       limit_rows: Optional[int] = None, limit_queries: Optional[int] = None) -> Dataset:
    """A dataset from a VectorDBBench directory: ``*train*.parquet`` (``id``, ``emb``), ``test.parquet``
    (``id``, ``emb``) and optional ``neighbors.parquet`` (``id``, ``neighbors_id``: train ids, mapped to rows)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BadInputError(f"{directory}: reading parquet needs pyarrow (pip install 'vdb-harness[files]')") from None
    directory = Path(directory)
    if not directory.is_dir():
        raise _bad(directory, "not a directory")
    train_files = sorted(p for p in directory.glob("*train*.parquet"))
    if not train_files:
        raise _bad(directory, "no *train*.parquet file")
    ids_parts, emb_parts, total = [], [], 0
    for file in train_files:
        table = _read_parquet(pq, file, ("id", "emb"))
        total += table.num_rows
        want = None if limit_rows is None else limit_rows - sum(len(p) for p in ids_parts)
        if want is not None and want <= 0:
            continue
        table = table.slice(0, want) if want is not None else table
        ids_parts.append(np.asarray(table.column("id").to_numpy(), dtype=np.int64))
        emb_parts.append(_embeddings(file, table.column("emb")))
    ids = np.concatenate(ids_parts)
    train = np.concatenate(emb_parts) if len(emb_parts) > 1 else emb_parts[0]
    queries = query_ids = None
    test_file = directory / "test.parquet"
    if test_file.is_file():
        table = _read_parquet(pq, test_file, ("id", "emb"))
        table = table.slice(0, limit_queries) if limit_queries else table
        query_ids = np.asarray(table.column("id").to_numpy(), dtype=np.int64)
        queries = _embeddings(test_file, table.column("emb"))
        _check_dims(train, queries, train_files[0], test_file)
    neighbors = None
    nb_file = directory / "neighbors.parquet"
    if nb_file.is_file() and query_ids is not None:
        neighbors = _neighbor_rows(pq, nb_file, query_ids, ids)
    ds = _dataset(directory.name, field, train, queries, neighbors, None,
                  {"source": str(directory), "format": "vectordbbench"}, primary_field, total)
    ds.ids = ids
    if len(np.unique(ids)) != len(ids):
        raise _bad(train_files[0], "duplicate ids in the train split")
    return ds


def _read_parquet(pq: Any, file: Path, columns: tuple[str, ...]) -> Any:
    try:
        table = pq.read_table(file)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several unrelated types for a corrupt file
        raise _bad(file, f"not a readable parquet file ({type(exc).__name__}: {exc})") from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise _bad(file, f"missing column(s) {missing} (found {table.column_names})")
    return table


def _embeddings(file: Path, column: Any) -> np.ndarray:
    """A (rows, dim) float32 matrix from a list<float> column; every row must have the same length."""
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
            or pa.types.is_fixed_size_list(column.type)):
        raise _bad(file, f"column 'emb' must hold lists of floats, found {column.type}")
    if column.null_count:
        raise _bad(file, f"column 'emb' has {column.null_count} null rows")
    lengths = np.asarray(column.value_lengths().to_numpy(zero_copy_only=False))
    if lengths.size and (lengths != lengths[0]).any():
        bad = int(np.flatnonzero(lengths != lengths[0])[0])
        raise _bad(file, f"row {bad} of 'emb' has {int(lengths[bad])} values, row 0 has {int(lengths[0])}")
    dim = int(lengths[0]) if lengths.size else 0
    values = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    return values.reshape(len(lengths), dim)


def _neighbor_rows(pq: Any, file: Path, query_ids: np.ndarray, train_ids: np.ndarray) -> np.ndarray:
    """(queries, k) train row positions of ``neighbors.parquet``'s ``neighbors_id`` (-1 for unknown ids)."""
    table = _read_parquet(pq, file, ("id", "neighbors_id"))
    nb_qids = np.asarray(table.column("id").to_numpy(), dtype=np.int64)
    lists = table.column("neighbors_id").to_pylist()
    lookup = {int(q): i for i, q in enumerate(nb_qids)}
    missing = [int(q) for q in query_ids if int(q) not in lookup]
    if missing:
        raise _bad(file, f"no neighbours for test id(s) {missing[:5]}")
    k = min(len(lists[lookup[int(q)]]) for q in query_ids) if len(query_ids) else 0
    nb_ids = np.array([lists[lookup[int(q)]][:k] for q in query_ids], dtype=np.int64).reshape(len(query_ids), k)
    order = np.argsort(train_ids)
    pos = np.searchsorted(train_ids[order], nb_ids).clip(0, len(train_ids) - 1)
    return np.where(train_ids[order][pos] == nb_ids, order[pos], -1)
