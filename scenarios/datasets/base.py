"""The in-memory dataset every later step works on: rows to insert, query vectors, optional file ground truth."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

import numpy as np
import scipy.sparse as sp

#: A column of vectors: dense ``float32`` array of shape (n, dim), or a CSR matrix of shape (n, dim) for sparse vectors.
VectorColumn = Union[np.ndarray, sp.csr_matrix]


@dataclass
class Dataset:
    """A dataset: primary keys, vector and scalar columns (the train split), query vectors (the test split).

    ``ids[i]`` is the primary key of row ``i``; every column is indexed by row position. ``neighbors`` and
    ``distances`` hold ground truth shipped with a file (row positions into the train split, best first),
    keyed by vector field; generators leave them empty and the ground-truth step computes them.
    """

    name: str
    ids: np.ndarray
    vectors: dict[str, VectorColumn]
    scalars: dict[str, np.ndarray] = field(default_factory=dict)
    queries: dict[str, VectorColumn] = field(default_factory=dict)
    neighbors: dict[str, np.ndarray] = field(default_factory=dict)
    distances: dict[str, np.ndarray] = field(default_factory=dict)
    #: Free-form provenance (generator name and parameters, source file) recorded in results.
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name, column in {**self.vectors, **self.scalars}.items():
            if column.shape[0] != n:
                raise ValueError(f"dataset {self.name!r}: column {name!r} has {column.shape[0]} rows, ids have {n}")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def num_queries(self) -> int:
        """Number of query vectors (the smallest test split over the vector fields; 0 when there are none)."""
        return min((q.shape[0] for q in self.queries.values()), default=0)

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Rows ``start:stop`` as the list of dicts that ``MilvusClient.insert`` takes, keyed by field name."""
        stop = len(self) if stop is None else min(stop, len(self))
        primary = self.meta.get("primary_field", "id")
        out: list[dict[str, Any]] = [{primary: int(i)} if self.ids.dtype.kind in "iu" else {primary: str(i)}
                                     for i in self.ids[start:stop]]
        for name, column in self.vectors.items():
            if sp.issparse(column):
                block = column[start:stop]
                for row, (lo, hi) in zip(out, zip(block.indptr[:-1], block.indptr[1:])):
                    row[name] = dict(zip(block.indices[lo:hi].tolist(), block.data[lo:hi].tolist()))
            else:
                for row, vec in zip(out, column[start:stop].tolist()):
                    row[name] = vec
        for name, column in self.scalars.items():
            for row, value in zip(out, column[start:stop].tolist()):
                row[name] = value
        return out

    def batches(self, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        """All rows, ``batch_size`` at a time, in order."""
        for start in range(0, len(self), batch_size):
            yield self.rows(start, start + batch_size)

    def fingerprint(self) -> str:
        """A sha256 over every column's bytes and shape: equal data gives an equal fingerprint."""
        digest = hashlib.sha256()
        digest.update(self.name.encode())
        digest.update(np.ascontiguousarray(self.ids).tobytes())
        for group in (self.vectors, self.scalars, self.queries):
            for name in sorted(group):
                digest.update(name.encode())
                _hash_column(digest, group[name])
        return digest.hexdigest()


def _hash_column(digest: "hashlib._Hash", column: Any) -> None:
    if sp.issparse(column):
        csr = column.tocsr()
        for part in (csr.indptr, csr.indices, csr.data):
            digest.update(np.ascontiguousarray(part).tobytes())
        digest.update(repr(csr.shape).encode())
    elif isinstance(column, np.ndarray) and column.dtype.kind != "O":
        digest.update(repr((column.shape, column.dtype.str)).encode())
        digest.update(np.ascontiguousarray(column).tobytes())
    else:
        for value in column:
            digest.update(repr(value).encode())
            digest.update(b"\x00")
