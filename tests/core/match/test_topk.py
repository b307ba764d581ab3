"""Top-k lists, mutual neighbours, one-to-one assignment and similar items vs brute force."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.match.fusion import FusedScorer, fused_similarity
from mmviewer.core.match.topk import (
    fused_top_k,
    similar_items,
    top_k,
    top_k_rows,
)


def brute_top_k(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Full stable sort: best score first, equal scores by lower index."""
    order = np.array([np.lexsort((np.arange(len(r)), -r))[:k] for r in s])
    return order, np.take_along_axis(s, order, axis=1)


def test_top_k_matches_full_sort_across_blocks():
    rng = np.random.default_rng(0)
    q, t = l2_normalise(rng.normal(size=(37, 8))), l2_normalise(rng.normal(size=(53, 8)))
    idx, val = top_k(q, t, k=7, block_bytes=4 * 53 * 5)  # 5 query rows per block
    want_idx, want_val = brute_top_k(q @ t.T, 7)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(val, want_val, atol=1e-6)


def test_ties_keep_the_lower_index_and_order_by_index():
    s = np.array([[1.0, 3.0, 3.0, 3.0, 0.0, 3.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]])
    idx, val = top_k_rows(s, 3)
    np.testing.assert_array_equal(idx, [[1, 2, 3], [0, 1, 2]])
    np.testing.assert_array_equal(val, [[3, 3, 3], [2, 2, 2]])
    rng = np.random.default_rng(1)
    s = rng.integers(0, 3, size=(40, 25)).astype(np.float32)  # many ties
    for k in (1, 4, 25):
        np.testing.assert_array_equal(top_k_rows(s, k)[0], brute_top_k(s, k)[0])


def test_exclude_self_padding_and_one_dimensional_rows():
    rng = np.random.default_rng(2)
    x = l2_normalise(rng.normal(size=(6, 4)))
    idx, val = top_k(x, x, k=8, exclude_self=True)
    assert (idx[:, :5] != np.arange(6)[:, None]).all()
    np.testing.assert_array_equal(idx[:, 5:], -1)  # only 5 others exist
    assert np.isneginf(val[:, 5:]).all()
    i, v = top_k_rows(np.array([0.1, -np.inf, 0.5]), 3)
    assert i.tolist() == [2, 0, -1] and v[0] == pytest.approx(0.5)


def test_top_k_bad_inputs():
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="dims"):
        top_k(x, np.ones((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        top_k(np.full((2, 4), np.nan), x)
    with pytest.raises(ValueError, match="2-D"):
        top_k(np.ones(4), x)
    with pytest.raises(ValueError, match="same items"):
        top_k(x, np.ones((5, 4)), exclude_self=True)
    with pytest.raises(ValueError, match="k must be"):
        top_k(x, x, k=0)






def make_table() -> EmbeddingTable:
    rng = np.random.default_rng(5)
    n = 20
    vec = {"image": l2_normalise(rng.normal(size=(n, 5))), "text": l2_normalise(rng.normal(size=(n, 4)))}
    present = {"image": np.ones(n, bool), "text": np.ones(n, bool)}
    present["text"][:4] = False
    vec["text"][:4] = 0
    present["image"][[2, 3, 10]] = False  # items 2 and 3 have nothing at all
    vec["image"][[2, 3, 10]] = 0
    return EmbeddingTable(np.array([f"id{i}" for i in range(n)]), vec, present)


def test_similar_items_excludes_self_and_incomparable_items():
    table = make_table()
    weights = {"image": 1.0, "text": 2.0}
    for item in (0, 5, 10):
        s, support = fused_similarity(table, weights, [item])
        s, support = s[0].astype(float), support[0]
        keep = [j for j in range(table.n_items) if support[j] and j != item]
        want = sorted(keep, key=lambda j: (-s[j], j))[:6]
        idx, val = similar_items(table, item, weights, k=6)
        assert idx[: len(want)].tolist() == want
        assert (idx[len(want):] == -1).all()
        np.testing.assert_allclose(val[: len(want)], s[want], atol=1e-6)
    scorer = FusedScorer(table, 5)
    assert similar_items(table, 5, {"text": 1}, 3, scorer=scorer)[0].tolist() == similar_items(
        table, 5, {"text": 1}, 3
    )[0].tolist()
    with pytest.raises(ValueError, match="built for item 5"):
        similar_items(table, 6, weights, scorer=scorer)


def test_fused_top_k_agrees_with_similar_items_rowwise():
    table = make_table()
    weights = {"image": 0.5, "text": 1.0}
    rows, cols = np.array([1, 5, 10, 19]), np.arange(2, 20)
    idx, val = fused_top_k(table, weights, k=5, rows=rows, cols=cols, block_bytes=4 * 18)
    for r, got, got_val in zip(rows, idx, val, strict=True):
        s, support = fused_similarity(table, weights, [r], cols)
        keep = [c for c, ok in zip(cols, support[0], strict=True) if ok and c != r]
        want = sorted(keep, key=lambda c: (-s[0][c - 2], c))[:5]
        assert got.tolist() == want
        np.testing.assert_allclose(got_val, [s[0][c - 2] for c in want], atol=1e-6)


def test_fused_top_k_ranks_each_modality_alone_from_the_same_products():
    table = make_table()
    weights = {"image": 0.5, "text": 1.0}
    rows = np.array([0, 1, 5, 10, 19])
    for cols in (None, np.arange(2, 20)):
        single = {}
        fused = fused_top_k(table, weights, k=4, rows=rows, cols=cols, block_bytes=4 * 18, single=single)
        assert sorted(single) == ["image", "text"]
        plain = fused_top_k(table, weights, k=4, rows=rows, cols=cols)
        np.testing.assert_array_equal(fused[0], plain[0])
        np.testing.assert_allclose(fused[1], plain[1], atol=1e-6)
        for m in weights:
            alone = fused_top_k(table, {m: 1.0}, k=4, rows=rows, cols=cols)
            np.testing.assert_array_equal(single[m][0], alone[0])
            np.testing.assert_allclose(single[m][1], alone[1], atol=1e-6)
