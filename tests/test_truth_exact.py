"""Exact top-k against independent brute force (scipy cdist, faiss), masks, chunking, sparse, hybrid and cache."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import cdist

from scenarios.truth.exact import GroundTruth, cached_ground_truth, exact_topk, hybrid_topk, normalize_score
from scenarios.model import Metric, RankerSpec

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2500, 24)).astype(np.float32)
Q = RNG.standard_normal((31, 24)).astype(np.float32)


def brute(train: np.ndarray, queries: np.ndarray, metric: Metric) -> np.ndarray:
    """Scores (float64, Milvus convention) of every query against every row, via scipy."""
    t, q = train.astype(np.float64), queries.astype(np.float64)
    if metric is Metric.L2:
        return cdist(q, t, "sqeuclidean")
    if metric is Metric.COSINE:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(1.0 - cdist(q, t, "cosine"), nan=0.0)  # a zero vector: similarity 0, as ours
    return q @ t.T


def reference_topk(scores: np.ndarray, k: int, metric: Metric, mask=None) -> np.ndarray:
    key = scores if metric is Metric.L2 else -scores
    key = np.where(mask[None, :], key, np.inf) if mask is not None else key
    return np.argsort(key, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("metric", list(Metric))
@pytest.mark.parametrize("chunk", [None, 97, 1000, 5000])
def test_dense_matches_cdist(metric, chunk) -> None:
    scores = brute(X, Q, metric)
    gt = exact_topk(X, Q, 10, metric, chunk_rows=chunk)
    np.testing.assert_array_equal(gt.indices, reference_topk(scores, 10, metric))
    np.testing.assert_allclose(gt.scores, np.take_along_axis(scores, gt.indices, 1), rtol=1e-5, atol=1e-5)
    assert gt.indices.dtype == np.int64 and gt.scores.dtype == np.float32 and gt.metric is metric


@pytest.mark.parametrize("metric", list(Metric))
def test_masked_matches_cdist_and_pads(metric) -> None:
    mask = RNG.random(len(X)) < 0.1
    scores = brute(X, Q, metric)
    gt = exact_topk(X, Q, 20, metric, mask=mask, chunk_rows=300)
    np.testing.assert_array_equal(gt.indices, reference_topk(scores, 20, metric, mask))
    few = np.zeros(len(X), bool)
    few[[5, 1700, 2499]] = True
    gt = exact_topk(X, Q, 5, metric, mask=few, chunk_rows=256)
    assert (gt.indices[:, 3:] == -1).all() and np.isnan(gt.scores[:, 3:]).all()
    assert set(gt.indices[0, :3]) == {5, 1700, 2499}
    none = exact_topk(X, Q, 5, metric, mask=np.zeros(len(X), bool))
    assert (none.indices == -1).all()


def test_k_larger_than_train() -> None:
    gt = exact_topk(X[:4], Q, 6, Metric.L2)
    assert gt.indices.shape == (31, 6) and (gt.indices[:, 4:] == -1).all()
    assert sorted(gt.indices[0, :4]) == [0, 1, 2, 3]


def test_chunk_size_invariance() -> None:
    base = exact_topk(X, Q, 50, Metric.IP)
    for chunk in (64, 333, 2048, 10_000):
        other = exact_topk(X, Q, 50, Metric.IP, chunk_rows=chunk, threads=1)
        np.testing.assert_array_equal(other.indices, base.indices)
        np.testing.assert_array_equal(other.scores, base.scores)


def test_many_queries_span_query_blocks() -> None:
    queries = RNG.standard_normal((1100, 24)).astype(np.float32)
    gt = exact_topk(X, queries, 3, Metric.L2, chunk_rows=700)
    np.testing.assert_array_equal(gt.indices, reference_topk(brute(X, queries, Metric.L2), 3, Metric.L2))


def test_progress_is_reported() -> None:
    seen = []
    exact_topk(X, Q, 5, Metric.L2, chunk_rows=1000, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (2500, 2500)


@pytest.mark.parametrize("metric", list(Metric))
def test_sparse_matches_dense_brute_force(metric) -> None:
    train = sp.random(1500, 400, density=0.03, format="csr", random_state=3, dtype=np.float32)
    queries = sp.random(12, 400, density=0.05, format="csr", random_state=4, dtype=np.float32)
    scores = brute(train.toarray(), queries.toarray(), metric)
    mask = RNG.random(1500) < 0.5
    for m in (None, mask):
        gt = exact_topk(train, queries, 8, metric, mask=m, chunk_rows=128)
        expected = np.take_along_axis(scores, reference_topk(scores, 8, metric, m), 1)
        np.testing.assert_allclose(gt.scores, expected, rtol=1e-5, atol=1e-6)


def test_sparse_queries_with_fewer_columns() -> None:
    train = sp.csr_matrix(np.array([[0, 0, 0, 0, 0, 0, 9.0], [1.0, 2, 0, 0, 0, 0, 0], [0, 0, 3.0, 0, 0, 0, 0]],
                                   dtype=np.float32))
    queries = sp.csr_matrix(np.array([[1.0, 1.0, 1.0]], dtype=np.float32))
    gt = exact_topk(train, queries, 3, Metric.IP)
    assert gt.indices[0].tolist() == [1, 2, 0]
    np.testing.assert_allclose(gt.scores[0], [3.0, 3.0, 0.0])


def test_against_faiss() -> None:
    faiss = pytest.importorskip("faiss")
    for metric, index in ((Metric.L2, faiss.IndexFlatL2(24)), (Metric.IP, faiss.IndexFlatIP(24))):
        index.add(X)
        dist, ids = index.search(Q, 10)
        gt = exact_topk(X, Q, 10, metric, chunk_rows=512)
        np.testing.assert_array_equal(gt.indices, ids)
        np.testing.assert_allclose(gt.scores, dist, rtol=1e-4, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 60), nq=st.integers(1, 5), dim=st.integers(1, 6), k=st.integers(1, 12),
       metric=st.sampled_from(list(Metric)))
def test_property_equals_brute_force(data, n, nq, dim, k, metric) -> None:
    values = st.integers(-4, 4).map(float)  # small integers: exact float arithmetic, ties are frequent
    train = data.draw(hnp.arrays(np.float32, (n, dim), elements=values))
    queries = data.draw(hnp.arrays(np.float32, (nq, dim), elements=values))
    mask = data.draw(hnp.arrays(bool, n))
    chunk = data.draw(st.integers(1, 70))
    gt = exact_topk(train, queries, k, metric, mask=mask, chunk_rows=chunk)
    scores = brute(train, queries, metric)
    kk = min(k, int(mask.sum()))
    assert (gt.indices[:, kk:] == -1).all()
    if kk:
        expected = np.take_along_axis(scores, reference_topk(scores, kk, metric, mask), 1)
        np.testing.assert_allclose(gt.scores[:, :kk], expected, rtol=1e-5, atol=1e-5)
        assert mask[gt.indices[:, :kk]].all()
        assert all(len(set(row)) == kk for row in gt.indices[:, :kk].tolist())


# ----------------------------------------------------------------------------------------------------- hybrid


def _truth(rows, scores, metric=Metric.IP) -> GroundTruth:
    return GroundTruth(np.array(rows, dtype=np.int64), np.array(scores, dtype=np.float32), metric)


def test_hybrid_rrf_hand_computed() -> None:
    dense = _truth([[1, 2, 3]], [[0.9, 0.8, 0.7]])
    sparse = _truth([[3, 1, 4]], [[5.0, 4.0, 3.0]])
    gt = hybrid_topk([dense, sparse], 4, RankerSpec(kind="rrf", k=60), [Metric.IP, Metric.IP])
    # 1: 1/61 + 1/62; 3: 1/63 + 1/61; 2: 1/62; 4: 1/63
    expected = {1: 1 / 61 + 1 / 62, 3: 1 / 63 + 1 / 61, 2: 1 / 62, 4: 1 / 63}
    assert gt.indices[0].tolist() == [1, 3, 2, 4]
    np.testing.assert_allclose(gt.scores[0], [expected[i] for i in (1, 3, 2, 4)], rtol=1e-6)
    assert gt.metric is None and gt.higher_is_better


def test_hybrid_rrf_ties_and_padding() -> None:
    a = _truth([[5, 6, -1]], [[1.0, 0.5, np.nan]])
    b = _truth([[6, 5, -1]], [[1.0, 0.5, np.nan]])
    gt = hybrid_topk([a, b], 4, RankerSpec(), [Metric.IP, Metric.IP])
    assert gt.indices[0].tolist() == [5, 6, -1, -1]  # equal fused scores: lower id first, as Milvus orders them
    assert np.isnan(gt.scores[0, 2:]).all()


def test_hybrid_weighted_uses_milvus_normalisation() -> None:
    dense = _truth([[1, 2]], [[0.5, 0.1]], Metric.COSINE)
    dist = _truth([[2, 3]], [[1.0, 4.0]], Metric.L2)
    gt = hybrid_topk([dense, dist], 3, RankerSpec(kind="weighted", weights=[0.7, 0.3]), [Metric.COSINE, Metric.L2])
    l2 = lambda s: 1 - 2 * np.arctan(s) / np.pi  # noqa: E731
    expected = {1: 0.7 * (1 + 0.5) / 2, 2: 0.7 * (1 + 0.1) / 2 + 0.3 * l2(1.0), 3: 0.3 * l2(4.0)}
    order = sorted(expected, key=lambda r: -expected[r])
    assert gt.indices[0].tolist() == order
    np.testing.assert_allclose(gt.scores[0], [expected[r] for r in order], rtol=1e-6)
    np.testing.assert_allclose(normalize_score(np.array([0.0, 1e9]), Metric.IP), [0.5, 1.0])


def test_hybrid_rejects_mismatched_inputs() -> None:
    t = _truth([[1]], [[1.0]])
    with pytest.raises(ValueError):
        hybrid_topk([t, t], 1, RankerSpec(kind="weighted", weights=[1.0]), [Metric.IP, Metric.IP])
    with pytest.raises(ValueError):
        hybrid_topk([t, t], 1, RankerSpec(), [Metric.IP])


# ----------------------------------------------------------------------------------------------------- cache


def test_cache_computes_once_and_survives_corruption(tmp_path) -> None:
    calls = []

    def compute() -> GroundTruth:
        calls.append(1)
        return exact_topk(X, Q, 4, Metric.COSINE)

    key = {"dataset": "abc", "metric": "COSINE", "k": 4, "filter": ""}
    first = cached_ground_truth(tmp_path, key, compute)
    second = cached_ground_truth(tmp_path, key, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.indices, second.indices)
    assert second.metric is Metric.COSINE
    files = list(tmp_path.glob("gt-*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    files[0].write_bytes(b"not a zip file")
    third = cached_ground_truth(tmp_path, key, compute)
    assert len(calls) == 2
    np.testing.assert_array_equal(third.indices, first.indices)
    cached_ground_truth(tmp_path, {**key, "k": 5}, lambda: exact_topk(X, Q, 5, Metric.COSINE))
    assert len(list(tmp_path.glob("gt-*.npz"))) == 2


def test_a_file_s_own_neighbours_are_checked_against_the_exact_truth(tmp_path, monkeypatch) -> None:
    """A dataset file's neighbours never replace the exact truth: they are compared with it, and a list from
    another metric (or a stale file) is named in a note while recall stays scored against the exact truth."""
    from scenarios.datasets.base import Dataset
    from scenarios.loader import parse_scenario
    from scenarios.truth.scorers import task_scorers

    monkeypatch.setenv("VDB_HARNESS_CACHE", str(tmp_path))
    scenario = parse_scenario("""
name = "own"
[collection]
name = "own"
fields = [{ name = "id", type = "INT64", primary = true }, { name = "v", type = "FLOAT_VECTOR", dim = 24 }]
[dataset]
kind = "generated"
rows = 2500
[[indexes]]
field = "v"
index_type = "FLAT"
metric = "L2"
[workload]
top_k = 10
tasks = [{ kind = "dense_search", name = "s" }]
""", "own.toml")
    ds = Dataset(name="d", ids=np.arange(len(X)), vectors={"v": X}, queries={"v": Q}, meta={"primary_field": "id"})
    ds.neighbors["v"] = exact_topk(X, Q, 10, Metric.L2).indices
    scorers, notes = task_scorers(scenario, ds)
    assert "s" in scorers and "s" not in notes
    ds.neighbors["v"] = exact_topk(X, Q, 10, Metric.IP).indices  # a file made with another metric
    scorers, notes = task_scorers(scenario, ds)
    assert "disagree with the exact L2 truth" in notes["s"]
    truth = exact_topk(X, Q, 10, Metric.L2).indices
    assert scorers["s"].score(0, truth[0].tolist()) == 1.0

