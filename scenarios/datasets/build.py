"""Build a scenario's dataset: dispatch on ``scenario.dataset`` (generated or file) through small registries."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from scenarios.datasets import files, synthetic
from scenarios.datasets.base import Dataset
from vdb_harness.kernel.errors import BadInputError
from scenarios.model import FieldType, FileDataset, GeneratedDataset, Scenario

Progress = Callable[[int, int], None]
#: Seed of the scalar columns generated for file datasets (a file brings vectors only).
FILE_SCALAR_SEED = 42


def _seed_tutorial(spec: GeneratedDataset, scenario: Scenario, progress: Optional[Progress]) -> Dataset:
    return synthetic.seed_tutorial(spec.rows, spec.queries, spec.seed, scenario.collection, progress=progress)


def _gaussian(spec: GeneratedDataset, scenario: Scenario, progress: Optional[Progress]) -> Dataset:
    return synthetic.gaussian(spec.rows, spec.queries, spec.seed, scenario.collection, sparse_dim=spec.sparse_dim,
                              sparse_nnz=spec.sparse_nnz, normalize=spec.normalize, progress=progress)


def _clustered(spec: GeneratedDataset, scenario: Scenario, progress: Optional[Progress]) -> Dataset:
    return synthetic.clustered(spec.rows, spec.queries, spec.seed, scenario.collection, clusters=spec.clusters,
                               sparse_dim=spec.sparse_dim, sparse_nnz=spec.sparse_nnz, normalize=spec.normalize,
                               progress=progress)


#: ``GeneratedDataset.generator`` -> builder.
GENERATORS: dict[str, Callable[[GeneratedDataset, Scenario, Optional[Progress]], Dataset]] = {
    "seed_tutorial": _seed_tutorial,
    "gaussian": _gaussian,
    "clustered": _clustered,
}


def _resolve(base_dir: Path, path: Optional[str]) -> Optional[Path]:
    if path is None:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def _npy(spec: FileDataset, base_dir: Path, field: str, primary: str) -> Dataset:
    return files.load_npy(_resolve(base_dir, spec.path), _resolve(base_dir, spec.query_path),
                          _resolve(base_dir, spec.neighbors_path), field=field, primary_field=primary,
                          limit_rows=spec.limit_rows, limit_queries=spec.limit_queries)


def _vecs(spec: FileDataset, base_dir: Path, field: str, primary: str) -> Dataset:
    return files.load_vecs(_resolve(base_dir, spec.path), _resolve(base_dir, spec.query_path),
                           _resolve(base_dir, spec.neighbors_path), field=field, primary_field=primary,
                           limit_rows=spec.limit_rows, limit_queries=spec.limit_queries)


def _hdf5(spec: FileDataset, base_dir: Path, field: str, primary: str) -> Dataset:
    return files.load_hdf5(_resolve(base_dir, spec.path), field=field, primary_field=primary,
                           limit_rows=spec.limit_rows, limit_queries=spec.limit_queries)


def _vectordbbench(spec: FileDataset, base_dir: Path, field: str, primary: str) -> Dataset:
    return files.load_vectordbbench(_resolve(base_dir, spec.path), field=field, primary_field=primary,
                                    limit_rows=spec.limit_rows, limit_queries=spec.limit_queries)


#: ``FileDataset.format`` -> loader.
FILE_FORMATS: dict[str, Callable[[FileDataset, Path, str, str], Dataset]] = {
    "npy": _npy,
    "vecs": _vecs,
    "hdf5": _hdf5,
    "vectordbbench": _vectordbbench,
}


def _build_generated(scenario: Scenario, base_dir: Path, progress: Optional[Progress]) -> Dataset:
    spec = scenario.dataset
    assert isinstance(spec, GeneratedDataset)
    return GENERATORS[spec.generator](spec, scenario, progress)


def _build_file(scenario: Scenario, base_dir: Path, progress: Optional[Progress]) -> Dataset:
    spec = scenario.dataset
    assert isinstance(spec, FileDataset)
    collection = scenario.collection
    field_name = spec.field or collection.vector_fields[0].name
    try:
        field = collection.field(field_name)
    except KeyError:
        raise BadInputError(f"dataset.field: no field {field_name!r} in the collection") from None
    if not field.type.is_vector or field.type.is_sparse:
        raise BadInputError(f"dataset.field: {field_name!r} is {field.type.value}; files fill a dense vector field")
    others = [f.name for f in collection.vector_fields if f.name != field_name]
    if others:
        raise BadInputError(f"a file dataset fills one vector field ({field_name!r}); the collection also has "
                            f"{others}, which no file provides")
    dataset = FILE_FORMATS[spec.format](spec, base_dir, field_name, collection.primary.name)
    dim = dataset.vectors[field_name].shape[1]
    if field.dim is not None and dim != field.dim:
        raise BadInputError(f"{dataset.meta.get('source', spec.path)}: vectors have dim {dim}, "
                            f"field {field_name!r} declares dim {field.dim}")
    if collection.primary.type is FieldType.VARCHAR:
        dataset.ids = np.array([str(i) for i in dataset.ids.tolist()], dtype=object)
    for f in collection.fields:
        if not f.primary and not f.type.is_vector:
            dataset.scalars[f.name] = synthetic.scalar_values(
                f.type, len(dataset), synthetic.column_rng(FILE_SCALAR_SEED, f.name, 0), max_length=f.max_length,
                element_type=f.element_type, max_capacity=f.max_capacity)
    dataset.name = collection.name
    if progress is not None:
        progress(len(dataset), len(dataset))
    return dataset


#: ``scenario.dataset.kind`` -> builder.
BUILDERS: dict[str, Callable[[Scenario, Path, Optional[Progress]], Dataset]] = {
    "generated": _build_generated,
    "file": _build_file,
}


def build_dataset(scenario: Scenario, base_dir: Path, progress: Optional[Progress] = None) -> Dataset:
    """The scenario's dataset: generated deterministically, or read from files relative to ``base_dir``.

    File datasets get the collection's scalar fields generated (seed :data:`FILE_SCALAR_SEED`, the conventions
    of :mod:`scenarios.datasets.synthetic`) and string ids for a VARCHAR primary key.
    """
    return BUILDERS[scenario.dataset.kind](scenario, Path(base_dir), progress)
