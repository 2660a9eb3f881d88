"""File loaders on small files written here: npy, fvecs/ivecs/bvecs, ann-benchmarks HDF5, VectorDBBench parquet;
truncated and corrupt files raise BadInputError naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scenarios.datasets import files
from scenarios.datasets.build import build_dataset
from vdb_harness.kernel.errors import BadInputError
from scenarios.model import Scenario

RNG = np.random.default_rng(9)
TRAIN = RNG.standard_normal((40, 6)).astype(np.float32)
TEST = RNG.standard_normal((5, 6)).astype(np.float32)
NEIGHBORS = np.argsort(((TEST[:, None, :] - TRAIN[None]) ** 2).sum(-1), axis=1)[:, :7].astype(np.int32)


def write_vecs(path: Path, arr: np.ndarray) -> Path:
    dtype = {".fvecs": "<f4", ".ivecs": "<i4", ".bvecs": "u1"}[path.suffix]
    with open(path, "wb") as fh:
        for row in arr:
            fh.write(np.int32(len(row)).astype("<i4").tobytes())
            fh.write(np.asarray(row, dtype=dtype).tobytes())
    return path


# ----------------------------------------------------------------------------------------------------- vecs


def test_vecs_round_trip(tmp_path) -> None:
    base = write_vecs(tmp_path / "base.fvecs", TRAIN)
    query = write_vecs(tmp_path / "query.fvecs", TEST)
    gt = write_vecs(tmp_path / "gt.ivecs", NEIGHBORS)
    ds = files.load_vecs(base, query, gt, field="emb")
    np.testing.assert_array_equal(ds.vectors["emb"], TRAIN)
    np.testing.assert_array_equal(ds.queries["emb"], TEST)
    np.testing.assert_array_equal(ds.neighbors["emb"], NEIGHBORS)
    assert ds.ids.tolist() == list(range(40))
    limited = files.load_vecs(base, query, gt, field="emb", limit_rows=10, limit_queries=2)
    assert len(limited) == 10 and limited.num_queries == 2 and "emb" not in limited.neighbors
    full_limit = files.load_vecs(base, query, gt, field="emb", limit_rows=100, limit_queries=2)
    assert full_limit.neighbors["emb"].shape == (2, 7)


def test_bvecs(tmp_path) -> None:
    data = RNG.integers(0, 256, (9, 12)).astype(np.uint8)
    arr = files.read_vecs(write_vecs(tmp_path / "b.bvecs", data))
    np.testing.assert_array_equal(arr, data)
    ds = files.load_vecs(tmp_path / "b.bvecs")
    assert ds.vectors["vector"].dtype == np.float32


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:-3], "not a multiple of the record size"),
    (lambda b: b[:2], "too short"),
    (lambda b: np.int32(-4).tobytes() + b[4:], "implausible dimension"),
    (lambda b: b[:28] + np.int32(5).tobytes() + b[32:], "record 1 has dimension 5"),
])
def test_damaged_vecs_name_the_file(tmp_path, damage, message) -> None:
    path = write_vecs(tmp_path / "bad.fvecs", TRAIN)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(BadInputError, match=message) as info:
        files.load_vecs(path)
    assert "bad.fvecs" in str(info.value)


def test_missing_and_mismatched_vecs(tmp_path) -> None:
    with pytest.raises(BadInputError, match="nope.fvecs: no such file"):
        files.load_vecs(tmp_path / "nope.fvecs")
    base = write_vecs(tmp_path / "base.fvecs", TRAIN)
    query = write_vecs(tmp_path / "query.fvecs", TEST[:, :4])
    with pytest.raises(BadInputError, match="query.fvecs: queries have dim 4"):
        files.load_vecs(base, query)
    (tmp_path / "x.txt").write_text("abcd")
    with pytest.raises(BadInputError, match="x.txt: unknown vecs extension"):
        files.read_vecs(tmp_path / "x.txt")


# ----------------------------------------------------------------------------------------------------- npy


def test_npy(tmp_path) -> None:
    np.save(tmp_path / "train.npy", TRAIN)
    np.save(tmp_path / "test.npy", TEST)
    np.save(tmp_path / "gt.npy", NEIGHBORS.astype(np.int64))
    ds = files.load_npy(tmp_path / "train.npy", tmp_path / "test.npy", tmp_path / "gt.npy", limit_queries=3)
    np.testing.assert_array_equal(ds.vectors["vector"], TRAIN)
    assert ds.num_queries == 3 and ds.neighbors["vector"].shape == (3, 7)


def test_bad_npy(tmp_path) -> None:
    np.save(tmp_path / "one_d.npy", np.arange(5.0))
    with pytest.raises(BadInputError, match="one_d.npy: expected a 2-d array"):
        files.load_npy(tmp_path / "one_d.npy")
    np.save(tmp_path / "ok.npy", TRAIN)
    raw = (tmp_path / "ok.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[: len(raw) - 50])
    with pytest.raises(BadInputError, match="cut.npy"):
        files.load_npy(tmp_path / "cut.npy")
    (tmp_path / "junk.npy").write_bytes(b"hello world, not numpy")
    with pytest.raises(BadInputError, match="junk.npy: not a readable .npy file"):
        files.load_npy(tmp_path / "junk.npy")
    np.save(tmp_path / "obj.npy", np.array(["a", "b"]).reshape(1, 2))
    with pytest.raises(BadInputError, match="obj.npy: expected numbers"):
        files.load_npy(tmp_path / "obj.npy")


# ----------------------------------------------------------------------------------------------------- hdf5


def write_hdf5(path: Path, distance: str = "euclidean") -> Path:
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.attrs["distance"] = distance
        f.attrs["dimension"] = TRAIN.shape[1]
        f["train"] = TRAIN
        f["test"] = TEST
        f["neighbors"] = NEIGHBORS
        f["distances"] = np.sqrt(np.take_along_axis(((TEST[:, None] - TRAIN[None]) ** 2).sum(-1), NEIGHBORS, 1))
    return path


def test_hdf5(tmp_path) -> None:
    ds = files.load_hdf5(write_hdf5(tmp_path / "glove.hdf5", "angular"), field="emb", limit_queries=4)
    np.testing.assert_array_equal(ds.vectors["emb"], TRAIN)
    assert ds.num_queries == 4 and ds.neighbors["emb"].shape == (4, 7) and ds.distances["emb"].shape == (4, 7)
    assert ds.meta["metric"] == "COSINE" and ds.meta["distance"] == "angular"


def test_bad_hdf5(tmp_path) -> None:
    h5py = pytest.importorskip("h5py")
    path = write_hdf5(tmp_path / "cut.hdf5")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BadInputError, match="cut.hdf5"):
        files.load_hdf5(path)
    (tmp_path / "junk.hdf5").write_bytes(b"\x00" * 100)
    with pytest.raises(BadInputError, match="junk.hdf5: not a readable"):
        files.load_hdf5(tmp_path / "junk.hdf5")
    with h5py.File(tmp_path / "notest.hdf5", "w") as f:
        f["train"] = TRAIN
    with pytest.raises(BadInputError, match="notest.hdf5: no 'test' dataset"):
        files.load_hdf5(tmp_path / "notest.hdf5")
    with h5py.File(tmp_path / "dim.hdf5", "w") as f:
        f.attrs["dimension"] = 99
        f["train"], f["test"] = TRAIN, TEST
    with pytest.raises(BadInputError, match="dimension=99"):
        files.load_hdf5(tmp_path / "dim.hdf5")


# ----------------------------------------------------------------------------------------------------- parquet


def write_vdbb(directory: Path, split_train: bool = True) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    directory.mkdir()
    ids = np.arange(40) * 3 + 1000  # ids are not row positions
    halves = [(0, 25), (25, 40)] if split_train else [(0, 40)]
    for n, (a, b) in enumerate(halves):
        pq.write_table(pa.table({"id": ids[a:b], "emb": [r.tolist() for r in TRAIN[a:b]]}),
                       directory / f"shuffle_train-{n:02d}-of-{len(halves):02d}.parquet")
    pq.write_table(pa.table({"id": np.arange(5), "emb": [r.tolist() for r in TEST]}), directory / "test.parquet")
    pq.write_table(pa.table({"id": np.arange(5)[::-1], "neighbors_id": [ids[r].tolist() for r in NEIGHBORS[::-1]]}),
                   directory / "neighbors.parquet")
    return directory


def test_vectordbbench(tmp_path) -> None:
    ds = files.load_vectordbbench(write_vdbb(tmp_path / "cohere"), field="emb")
    np.testing.assert_array_equal(ds.vectors["emb"], TRAIN)
    np.testing.assert_array_equal(ds.queries["emb"], TEST)
    np.testing.assert_array_equal(ds.neighbors["emb"], NEIGHBORS)  # ids mapped back to row positions
    assert ds.ids[:2].tolist() == [1000, 1003]
    cut = files.load_vectordbbench(tmp_path / "cohere", limit_rows=30, limit_queries=2)
    assert len(cut) == 30 and cut.num_queries == 2 and not cut.neighbors


def test_bad_vectordbbench(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    with pytest.raises(BadInputError, match="not a directory"):
        files.load_vectordbbench(tmp_path / "none")
    d = write_vdbb(tmp_path / "d", split_train=False)
    train = next(d.glob("*train*.parquet"))
    raw = train.read_bytes()
    train.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BadInputError, match="shuffle_train-00-of-01.parquet: not a readable parquet"):
        files.load_vectordbbench(d)
    pq.write_table(pa.table({"id": [1, 2], "vec": [[1.0], [2.0]]}), train)
    with pytest.raises(BadInputError, match="missing column"):
        files.load_vectordbbench(d)
    pq.write_table(pa.table({"id": [1, 2], "emb": [[1.0, 2.0], [2.0]]}), train)
    with pytest.raises(BadInputError, match="row 1 of 'emb' has 1 values"):
        files.load_vectordbbench(d)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInputError, match=r"no \*train\*.parquet"):
        files.load_vectordbbench(empty)


# ----------------------------------------------------------------------------------------------------- build


def _scenario(dataset: dict, fields: list[dict]) -> Scenario:
    return Scenario.model_validate({
        "name": "files", "dataset": dataset,
        "collection": {"name": "c", "fields": fields},
        "workload": {"tasks": [{"kind": "dense_search"}]},
    })


def test_build_from_files_adds_scalars_and_checks_dim(tmp_path) -> None:
    write_vecs(tmp_path / "base.fvecs", TRAIN)
    write_vecs(tmp_path / "query.fvecs", TEST)
    fields = [{"name": "pk", "type": "VARCHAR", "primary": True, "max_length": 8},
              {"name": "emb", "type": "FLOAT_VECTOR", "dim": 6}, {"name": "pct", "type": "INT64"}]
    ds = build_dataset(_scenario({"kind": "file", "format": "vecs", "path": "base.fvecs",
                                  "query_path": "query.fvecs"}, fields), tmp_path)
    assert ds.ids[:2].tolist() == ["0", "1"] and ds.scalars["pct"].shape == (40,)
    assert ds.rows(0, 1)[0]["pk"] == "0"
    fields[1]["dim"] = 7
    with pytest.raises(BadInputError, match="dim 6"):
        build_dataset(_scenario({"kind": "file", "format": "vecs", "path": "base.fvecs"}, fields), tmp_path)


def test_build_generated(tmp_path) -> None:
    fields = [{"name": "id", "type": "INT64", "primary": True}, {"name": "emb", "type": "FLOAT_VECTOR", "dim": 4}]
    for generator in ("gaussian", "clustered"):
        ds = build_dataset(_scenario({"kind": "generated", "generator": generator, "rows": 50, "queries": 2},
                                     fields), tmp_path)
        assert len(ds) == 50 and ds.meta["generator"] == generator
