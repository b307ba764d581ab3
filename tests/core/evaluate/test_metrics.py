"""Metrics against hand-computed cases and independent brute-force implementations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from mmviewer.core.data.table import l2_normalise
from mmviewer.core.evaluate.metrics import (
    Ranks,
    chance_label_precision,
    chance_scores,
    gaussian_mutual_information,
    infonce_bound,
    infonce_mutual_information,
    label_precision,
    label_precision_at_k,
    mean_reciprocal_rank,
    median_rank,
    modality_gap,
    pair_mse,
    ranks_from_similarity,
    ranks_from_vectors,
    recall_at_k,
    retrieval_scores,
    top1_accuracy,
)


def test_hand_computed_ranks_without_ties():
    s = np.array([[0.9, 0.1, 0.2], [0.5, 0.4, 0.6], [0.3, 0.2, 0.1]])
    ranks = ranks_from_similarity(s)  # true ranks: 1, 3, 3
    assert ranks.greater.tolist() == [0, 2, 2] and ranks.ties.tolist() == [0, 0, 0]
    assert recall_at_k(ranks, 1) == pytest.approx(1 / 3)
    assert recall_at_k(ranks, 3) == 1.0
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert median_rank(ranks) == 3.0
    scores = retrieval_scores(ranks, ks=(1, 2))
    assert scores == pytest.approx({"recall@1": 1 / 3, "recall@2": 1 / 3, "mrr": 5 / 9,
                                    "median_rank": 3.0, "mean_rank": 7 / 3})


def test_hand_computed_ties_are_expected_values():
    # true target scores 0.5; one target beats it, two others tie: rank uniform on {2, 3, 4}
    ranks = ranks_from_similarity(np.array([[0.5, 0.9, 0.5, 0.5, 0.1]]), truth=[0])
    assert (ranks.greater[0], ranks.ties[0]) == (1, 2)
    assert [recall_at_k(ranks, k) for k in (1, 2, 3, 4)] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 / 2 + 1 / 3 + 1 / 4) / 3)
    assert median_rank(ranks) == 3.0
    n = 7  # a constant similarity is exactly chance, never perfect
    flat = ranks_from_similarity(np.zeros((n, n)))
    chance = chance_scores(n, ks=(1, 5))
    assert recall_at_k(flat, 1) == pytest.approx(chance["chance_recall@1"]) == pytest.approx(1 / n)
    assert recall_at_k(flat, 5) == pytest.approx(5 / n)
    assert mean_reciprocal_rank(flat) == pytest.approx(chance["chance_mrr"])
    assert median_rank(flat) == chance["chance_median_rank"] == 4.0


def brute_expected(s: np.ndarray, truth: np.ndarray, ks=(1, 2, 3)) -> dict:
    """Average over every tie-breaking order (all permutations of the target indices)."""
    n_t = s.shape[1]
    recall = {k: 0.0 for k in ks}
    rr, all_ranks = 0.0, []
    perms = list(itertools.permutations(range(n_t)))
    for i, row in enumerate(s):
        ranks = []
        for perm in perms:
            order = np.lexsort((np.array(perm), -row))  # score first, then the random order
            ranks.append(int(np.flatnonzero(order == truth[i])[0]) + 1)
        ranks = np.array(ranks)
        for k in ks:
            recall[k] += np.mean(ranks <= k) / len(s)
        rr += np.mean(1.0 / ranks) / len(s)
        all_ranks.append(ranks.mean())
    return {"recall": recall, "mrr": rr, "median": float(np.median(all_ranks))}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranks_match_brute_force_over_all_tie_breaks(seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 3, size=(6, 5)).astype(float)  # coarse values: many ties
    truth = rng.integers(0, 5, size=6)
    ranks = ranks_from_similarity(s, truth)
    want = brute_expected(s, truth)
    for k, value in want["recall"].items():
        assert recall_at_k(ranks, k) == pytest.approx(value)
    assert mean_reciprocal_rank(ranks) == pytest.approx(want["mrr"])
    assert median_rank(ranks) == pytest.approx(want["median"])


def test_blockwise_vector_ranks_equal_full_argsort():
    rng = np.random.default_rng(3)
    q, t = l2_normalise(rng.normal(size=(41, 6))), l2_normalise(rng.normal(size=(33, 6)))
    truth = rng.integers(0, 33, size=41)
    ranks = ranks_from_vectors(q, t, truth, block_bytes=4 * 33 * 4)  # 4 queries per block
    s = q @ t.T
    full = np.argsort(-s, axis=1, kind="stable")
    rank = np.array([int(np.flatnonzero(full[i] == truth[i])[0]) + 1 for i in range(41)])
    np.testing.assert_array_equal(ranks.expected, rank)
    assert recall_at_k(ranks, 5) == pytest.approx(np.mean(rank <= 5))
    assert mean_reciprocal_rank(ranks) == pytest.approx(np.mean(1 / rank))
    assert median_rank(ranks) == np.median(rank)
    same = ranks_from_similarity(s, truth)
    np.testing.assert_array_equal(same.greater, ranks.greater)


def test_rank_input_errors():
    with pytest.raises(ValueError, match="pass truth"):
        ranks_from_similarity(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ranks_from_similarity(np.zeros((2, 3)), truth=[0, 3])
    with pytest.raises(ValueError, match="NaN"):
        ranks_from_similarity(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="dims"):
        ranks_from_vectors(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="no queries"):
        recall_at_k(Ranks(np.zeros(0, np.int64), np.zeros(0, np.int64)), 1)
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(ranks_from_similarity(np.eye(2)), 0)


def test_top1_accuracy_uses_the_assignment_not_argmax():
    s = np.array([[0.9, 0.1], [0.8, 0.7]])  # row 1's argmax is wrong; the assignment is right
    assert recall_at_k(ranks_from_similarity(s), 1) == 0.5
    assert top1_accuracy(s) == 1.0
    assert top1_accuracy(np.array([[0.1, 0.9], [0.9, 0.1]])) == 0.0
    assert top1_accuracy(np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.5]]), truth=[0, 1, 0]) == pytest.approx(2 / 3)


def test_mse_and_modality_gap_by_hand():
    e = np.eye(3)
    assert pair_mse(e, e) == 0.0
    assert pair_mse(e[:2], e[1:]) == pytest.approx(2.0)  # orthogonal unit pairs
    assert pair_mse(e, -e) == pytest.approx(4.0)
    assert modality_gap(e[:1], e[1:2]) == pytest.approx(math.sqrt(2))
    assert modality_gap(e, e[::-1]) == pytest.approx(0.0)
    assert modality_gap([[3.0, 0.0]], [[0.0, 0.5]]) == pytest.approx(math.sqrt(2))  # normalised
    with pytest.raises(ValueError, match="shape"):
        pair_mse(e, e[:2])
    with pytest.raises(ValueError, match="one space"):
        modality_gap(e, np.eye(2))


def test_infonce_bound_by_hand_and_limits():
    s, tau = np.array([[1.0, 0.0], [0.0, 1.0]]), 0.5
    row = math.log(math.exp(2) + 1) - 2  # identical for rows and columns here
    assert infonce_bound(s, tau) == pytest.approx(math.log(2) - row)
    n = 50
    perfect = infonce_mutual_information(np.eye(n))
    assert math.log(n) - 0.05 < perfect <= math.log(n)
    rng = np.random.default_rng(0)
    z = l2_normalise(rng.normal(size=(n, 8)))
    unrelated = infonce_mutual_information(z @ l2_normalise(rng.normal(size=(n, 8))).T)
    assert 0.0 <= unrelated < 0.5 < perfect
    with pytest.raises(ValueError, match="square"):
        infonce_bound(np.zeros((2, 3)), 1.0)


def test_gaussian_mutual_information_by_hand():
    assert gaussian_mutual_information([0.6]) == pytest.approx(-0.5 * math.log(0.64))
    assert gaussian_mutual_information([0.6, 0.0, 0.8]) == pytest.approx(
        -0.5 * (math.log(0.64) + math.log(0.36))
    )
    assert math.isfinite(gaussian_mutual_information([1.0]))


def test_label_precision_by_hand_with_padding():
    neighbours = np.array([[1, 2, 3], [0, -1, -1], [-1, -1, -1]])
    q_labels, t_labels = ["a", "b", "a"], ["x", "a", "a", "b"]
    # query 0: a,a,b -> 1, 2/3 at k=1, 3; query 1: x -> 0; query 2: nothing retrieved, left out
    assert label_precision_at_k(neighbours, q_labels, t_labels, 1) == pytest.approx(0.5)
    assert label_precision_at_k(neighbours, q_labels, t_labels, 3) == pytest.approx((2 / 3 + 0) / 2)
    with pytest.raises(ValueError, match="k >= 1"):
        label_precision_at_k(neighbours, q_labels, t_labels, 4)


def test_label_precision_self_excluded_vs_brute_force():
    rng = np.random.default_rng(5)
    x = l2_normalise(rng.normal(size=(25, 4)))
    labels = rng.integers(0, 3, size=25)
    got = label_precision(x, x, labels, labels, ks=(1, 5), exclude_self=True)
    s = x @ x.T
    want = {}
    for k in (1, 5):
        hits = []
        for i in range(25):
            order = [j for j in np.argsort(-s[i], kind="stable") if j != i][:k]
            hits.append(np.mean(labels[order] == labels[i]))
        want[f"label_precision@{k}"] = np.mean(hits)
    assert got == pytest.approx(want)
    assert label_precision(x, x, labels, labels, ks=(1,))["label_precision@1"] == 1.0  # self


def test_chance_label_precision_by_hand():
    labels = ["a", "a", "b", "c"]
    assert chance_label_precision(labels, labels) == pytest.approx((0.5 + 0.5 + 0.25 + 0.25) / 4)
    assert chance_label_precision(labels, labels, exclude_self=True) == pytest.approx((1 / 3 + 1 / 3) / 4)
