"""Tie-fair recall: ties at the k-th score count, duplicates once, unknown ids miss; hybrid recall by fused score."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scenarios.datasets.base import Dataset
from scenarios.truth.exact import exact_topk, hybrid_topk
from scenarios.model import Metric, RankerSpec
from scenarios.truth.recall import HybridRecallScorer, IdIndex, RecallScorer, recall_at_k, summary


def test_recall_at_k_directions_and_tolerance() -> None:
    assert recall_at_k([1.0, 2.0, 3.0], 3.0, 3, Metric.L2) == 1.0
    assert recall_at_k([1.0, 2.0, 3.01], 3.0, 3, Metric.L2) == pytest.approx(2 / 3)
    assert recall_at_k([1.0, 2.0, 3.0005], 3.0, 3, Metric.L2) == 1.0  # within eps
    assert recall_at_k([0.9, 0.8, 0.7], 0.7, 3, Metric.IP) == 1.0
    assert recall_at_k([0.9, 0.8, 0.6], 0.7, 3, Metric.COSINE) == pytest.approx(2 / 3)
    assert recall_at_k([np.nan, 0.9], 0.7, 2, Metric.IP) == 0.5
    assert recall_at_k([1000.5], 1000.0, 1, Metric.L2) == 1.0  # relative tolerance for large magnitudes
    assert recall_at_k([1.0] * 5, 1.0, 3, Metric.L2) == 1.0  # never above 1
    assert recall_at_k([0.02], 0.0199, 1, None, eps=1e-6) == 1.0


def test_summary() -> None:
    s = summary([1.0, 0.5, 0.9, 1.0], floor=0.8)
    assert s["count"] == 4 and s["mean"] == pytest.approx(0.85) and s["min"] == 0.5 and s["below_floor"] == 1
    assert summary([])["count"] == 0


def test_id_index_variants() -> None:
    assert IdIndex(np.arange(5)).rows([4, 0, 7, -1]).tolist() == [4, 0, -1, -1]
    assert IdIndex(np.array([30, 10, 20])).rows([10, 20, 30, 25]).tolist() == [1, 2, 0, -1]
    assert IdIndex(np.array(["a", "b"], dtype=object)).rows(["b", "z"]).tolist() == [1, -1]
    assert IdIndex(np.arange(3)).rows(["x", 1]).tolist() == [-1, 1]


@pytest.fixture(scope="module")
def duplicated() -> tuple[np.ndarray, np.ndarray]:
    """Each vector appears 4 times: every tie order at the k-th place is equally correct."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 8)).astype(np.float32)
    return np.repeat(base, 4, axis=0), rng.standard_normal((6, 8)).astype(np.float32)


@pytest.mark.parametrize("metric", list(Metric))
def test_any_tie_order_scores_one(duplicated, metric) -> None:
    train, queries = duplicated
    truth = exact_topk(train, queries, 10, metric)
    ids = np.arange(len(train)) * 10 + 7  # non-contiguous ids
    scorer = RecallScorer(ids, train, queries, truth, metric)
    rng = np.random.default_rng(1)
    for qi in range(len(queries)):
        rows = truth.indices[qi].copy()
        # swap each returned row for another copy of the same vector (a different id, same true score)
        swapped = (rows // 4) * 4 + rng.integers(0, 4, rows.size)
        while len(set(swapped.tolist())) < len(swapped):
            swapped = (rows // 4) * 4 + rng.integers(0, 4, rows.size)
        assert scorer.score(qi, ids[rows].tolist()) == 1.0
        assert scorer.score(qi, ids[swapped].tolist()) == 1.0


def test_misses_duplicates_and_unknown_ids(duplicated) -> None:
    train, queries = duplicated
    truth = exact_topk(train, queries, 4, Metric.L2)
    scorer = RecallScorer(np.arange(len(train)), train, queries, truth, Metric.L2)
    best = truth.indices[0]
    far = np.argsort(((train - queries[0]) ** 2).sum(1))[-4:]
    assert scorer.score(0, best) == 1.0
    assert scorer.score(0, [best[0]] * 4) == 0.25
    assert scorer.score(0, [best[0], 10**9, -5, best[1]]) == 0.5
    assert scorer.score(0, far) == 0.0
    assert scorer.score(0, []) == 0.0
    assert scorer.score(0, list(best) + list(far)) == 1.0  # only the first k returned count


def test_filtered_recall_counts_rows_outside_the_filter_as_misses() -> None:
    rng = np.random.default_rng(2)
    train = rng.standard_normal((300, 4)).astype(np.float32)
    queries = rng.standard_normal((3, 4)).astype(np.float32)
    mask = np.arange(300) % 3 == 0
    truth = exact_topk(train, queries, 5, Metric.IP, mask=mask)
    scorer = RecallScorer(np.arange(300), train, queries, truth, Metric.IP, mask=mask)
    unfiltered = exact_topk(train, queries, 5, Metric.IP).indices[0]
    assert scorer.score(0, truth.indices[0]) == 1.0
    assert scorer.score(0, unfiltered) == pytest.approx(np.isin(unfiltered, truth.indices[0]).mean())
    empty = exact_topk(train, queries, 5, Metric.IP, mask=np.zeros(300, bool))
    assert RecallScorer(np.arange(300), train, queries, empty, Metric.IP).score(0, []) == 1.0


def test_padded_truth_scores_against_the_rows_that_exist() -> None:
    rng = np.random.default_rng(3)
    train = rng.standard_normal((50, 4)).astype(np.float32)
    queries = rng.standard_normal((2, 4)).astype(np.float32)
    mask = np.zeros(50, bool)
    mask[[3, 9]] = True
    truth = exact_topk(train, queries, 10, Metric.L2, mask=mask)
    scorer = RecallScorer(np.arange(50), train, queries, truth, Metric.L2, mask=mask)
    assert scorer.score(0, [9, 3]) == 1.0 and scorer.score(0, [3]) == 0.5


@pytest.mark.parametrize("metric", list(Metric))
def test_sparse_true_scores(metric) -> None:
    train = sp.random(400, 60, density=0.1, format="csr", random_state=1, dtype=np.float32)
    queries = sp.random(3, 60, density=0.2, format="csr", random_state=2, dtype=np.float32)
    truth = exact_topk(train, queries, 5, metric)
    scorer = RecallScorer(np.arange(400), train, queries, truth, metric)
    rows = np.arange(0, 400, 7)
    dense = RecallScorer(np.arange(400), train.toarray(), queries.toarray(), truth, metric)
    np.testing.assert_allclose(scorer.true_scores(1, rows), dense.true_scores(1, rows), rtol=1e-6, atol=1e-9)
    assert scorer.score(1, truth.indices[1]) == 1.0


def test_from_dataset_and_k_check() -> None:
    rng = np.random.default_rng(4)
    ds = Dataset(name="d", ids=np.arange(100), vectors={"v": rng.standard_normal((100, 3)).astype(np.float32)},
                 queries={"v": rng.standard_normal((2, 3)).astype(np.float32)})
    truth = exact_topk(ds.vectors["v"], ds.queries["v"], 5, Metric.L2)
    assert RecallScorer.from_dataset(ds, "v", truth, Metric.L2, k=3).score(0, truth.indices[0][:3]) == 1.0
    with pytest.raises(ValueError):
        RecallScorer.from_dataset(ds, "v", truth, Metric.L2, k=6)


def test_hybrid_recall_by_fused_score() -> None:
    from scenarios.truth.exact import GroundTruth

    dense = GroundTruth(np.array([[1, 2, 3]]), np.array([[0.9, 0.8, 0.7]], np.float32), Metric.IP)
    sparse = GroundTruth(np.array([[3, 1, 4]]), np.array([[5.0, 4.0, 3.0]], np.float32), Metric.IP)
    ranker = RankerSpec(kind="rrf", k=60)
    truth = hybrid_topk([dense, sparse], 2, ranker, [Metric.IP, Metric.IP])
    assert truth.indices[0].tolist() == [1, 3]
    ids = np.arange(10) + 100
    scorer = HybridRecallScorer(ids, [dense, sparse], ranker, [Metric.IP, Metric.IP], limit=2)
    assert scorer.score(0, [101, 103]) == 1.0
    assert scorer.score(0, [103, 101, 101]) == 1.0
    assert scorer.score(0, [101, 102]) == 0.5  # 2 scores 1/62 < 1/61 + 1/63
    assert scorer.score(0, [109, 999]) == 0.0
    # rows 1 and 3 tie exactly when both routes rank them symmetrically
    a = GroundTruth(np.array([[1, 3]]), np.array([[1.0, 0.5]], np.float32), Metric.IP)
    b = GroundTruth(np.array([[3, 1]]), np.array([[1.0, 0.5]], np.float32), Metric.IP)
    tied = HybridRecallScorer(ids, [a, b], ranker, [Metric.IP, Metric.IP], limit=1)
    assert tied.score(0, [103]) == 1.0 and tied.score(0, [101]) == 1.0
