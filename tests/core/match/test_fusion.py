"""Fused similarity: the scorer, the block form and the layout vectors against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.match.fusion import (
    FusedScorer,
    fused_similarity,
    fused_vectors,
    validate_weights,
)

DIMS = {"image": 6, "text": 5, "audio": 4}


def make_table(seed: int = 0, n: int = 30, missing: float = 0.35) -> EmbeddingTable:
    """Random unit vectors; each modality missing for ~``missing`` of the items (zero rows)."""
    rng = np.random.default_rng(seed)
    vectors, present = {}, {}
    for m, d in DIMS.items():
        mask = rng.random(n) > missing
        mat = l2_normalise(rng.normal(size=(n, d))) * mask[:, None]
        vectors[m], present[m] = mat.astype(np.float32), mask
    for m in DIMS:  # one item with nothing, one with everything
        present[m][0], vectors[m][0] = False, 0.0
        present[m][1] = True
        vectors[m][1] = l2_normalise(rng.normal(size=(1, DIMS[m])))[0]
    return EmbeddingTable(np.array([f"item{i}" for i in range(n)]), vectors, present)


def brute(table: EmbeddingTable, weights: dict, i: int, j: int) -> float:
    """The pairwise formula, written out with explicit cosines."""
    num = den = 0.0
    for m, w in weights.items():
        if table.present[m][i] and table.present[m][j]:
            a, b = table.vectors[m][i].astype(float), table.vectors[m][j].astype(float)
            num += w * a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
            den += w
    return num / den if den > 0 else 0.0


WEIGHTS = [
    {"image": 1.0, "text": 1.0, "audio": 1.0},
    {"image": 2.0, "text": 0.5, "audio": 0.0},
    {"text": 3.0},
    {"image": 0.1, "audio": 7.0},
]


@pytest.mark.parametrize("weights", WEIGHTS)
def test_scorer_matches_pairwise_formula(weights):
    table = make_table()
    for q in range(table.n_items):
        scorer = FusedScorer(table, q)
        expected = np.array([brute(table, weights, q, j) for j in range(table.n_items)])
        np.testing.assert_allclose(scorer.scores(weights), expected, atol=1e-6)
        shared = [
            any(weights.get(m, 0) > 0 and table.present[m][q] and table.present[m][j] for m in DIMS)
            for j in range(table.n_items)
        ]
        np.testing.assert_array_equal(scorer.support(weights), shared)


def test_scorer_reweights_without_recomputing_and_is_scale_free():
    table = make_table(seed=3)
    scorer = FusedScorer(table, 5)
    a = scorer.scores({"image": 1, "text": 2, "audio": 3})
    b = scorer.scores({"image": 10, "text": 20, "audio": 30})
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert scorer.scores({"image": 0, "text": 0}).tolist() == [0.0] * table.n_items
    assert scorer.scores({}).dtype == np.float32


def test_scorer_query_without_modalities_scores_zero():
    table = make_table()
    scorer = FusedScorer(table, 0)  # item 0 has no modality at all
    assert scorer.modalities == []
    assert not scorer.scores(WEIGHTS[0]).any()
    assert not scorer.support(WEIGHTS[0]).any()


@pytest.mark.parametrize("weights", WEIGHTS[:2])
def test_block_similarity_matches_pairwise_formula(weights):
    table = make_table(seed=1)
    rows, cols = np.array([0, 1, 4, 7]), np.array([2, 3, 1, 0, 9])
    sim, support = fused_similarity(table, weights, rows, cols)
    expected = np.array([[brute(table, weights, i, j) for j in cols] for i in rows])
    np.testing.assert_allclose(sim, expected, atol=1e-6)
    assert support.shape == (4, 5)
    full, _ = fused_similarity(table, weights, rows)
    assert full.shape == (4, table.n_items)


def test_fused_vectors_dot_equals_fused_similarity_for_complete_items():
    table = make_table(seed=2)
    complete = np.flatnonzero(np.logical_and.reduce([table.present[m] for m in DIMS]))
    assert len(complete) >= 3
    weights = {"image": 2.0, "text": 1.0, "audio": 0.5}
    vec = fused_vectors(table, weights)
    assert vec.shape == (table.n_items, sum(DIMS.values())) and vec.dtype == np.float32
    for i in complete:
        for j in complete:
            assert vec[i] @ vec[j] == pytest.approx(brute(table, weights, i, j), abs=1e-6)


def test_fused_vectors_missing_modalities_follow_documented_approximation():
    table = make_table(seed=4)
    weights = {"image": 1.0, "text": 3.0, "audio": 0.0}
    vec = fused_vectors(table, weights)
    assert vec.shape == (table.n_items, DIMS["image"] + DIMS["text"])  # zero weight dropped
    total = {i: sum(w * table.present[m][i] for m, w in weights.items()) for i in range(table.n_items)}
    for i in range(table.n_items):
        norm = np.linalg.norm(vec[i])
        assert norm == pytest.approx(1.0 if total[i] > 0 else 0.0, abs=1e-6)
        for j in range(table.n_items):
            if total[i] > 0 and total[j] > 0:
                num = sum(
                    w * float(table.vectors[m][i] @ table.vectors[m][j])
                    for m, w in weights.items()
                    if table.present[m][i] and table.present[m][j]
                )
                assert vec[i] @ vec[j] == pytest.approx(num / math.sqrt(total[i] * total[j]), abs=1e-6)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"image": -1.0}, ">= 0"),
        ({"image": float("nan")}, "finite"),
        ({"text": float("inf")}, "finite"),
        ({"image": "heavy"}, "number"),
        ({"smell": 1.0}, "unknown modality"),
    ],
)
def test_bad_weights_raise_clear_errors(weights, message):
    table = make_table()
    with pytest.raises(ValueError, match=message):
        FusedScorer(table, 1).scores(weights)
    with pytest.raises(ValueError, match=message):
        fused_vectors(table, weights)


def test_validate_weights_and_other_errors():
    assert validate_weights({"image": 1, "text": np.float32(0.5)}) == {"image": 1.0, "text": 0.5}
    with pytest.raises(ValueError, match="dict"):
        validate_weights([1.0, 2.0])
    table = make_table()
    with pytest.raises(ValueError, match="positive weight"):
        fused_vectors(table, {"image": 0.0})
    with pytest.raises(ValueError, match="out of range"):
        FusedScorer(table, table.n_items)
