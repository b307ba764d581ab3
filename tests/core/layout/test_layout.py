"""Layouts: PCA, exact kNN for UMAP, warm starts, placement of rows beyond the fit sample."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.data.table import l2_normalise
from mmviewer.core.layout.knn import exact_knn
from mmviewer.core.layout.pca import fused_layout_input, pca_layout
from mmviewer.core.layout.transform import align_to
from mmviewer.core.layout.umap import place_by_neighbours, umap_layout


def clusters(n_per=60, k=4, d=32, seed=0, spread=0.15):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d))
    x = np.concatenate([c + spread * rng.standard_normal((n_per, d)) for c in centres])
    return l2_normalise(x), np.repeat(np.arange(k), n_per)


def image_audio_table(n_per, d, d_audio, noise, missing, seed):
    """Clustered image vectors plus a noisy audio view of their first ``d_audio`` dims, with a
    ``missing`` fraction of items lacking audio; returns (table, x, labels, present)."""
    from mmviewer.core.data.table import EmbeddingTable

    x, labels = clusters(n_per=n_per, d=d)
    rng = np.random.default_rng(seed)
    other = l2_normalise(x[:, :d_audio] + noise * rng.standard_normal((len(x), d_audio)))
    present = {"image": np.ones(len(x), bool), "audio": rng.random(len(x)) > missing}
    other[~present["audio"]] = 0
    table = EmbeddingTable(np.arange(len(x)).astype(str), {"image": x, "audio": other}, present)
    return table, x, labels, present


def separation(y, labels):
    """Mean between-centroid distance over mean within-cluster spread (> 1 means separated)."""
    cents = np.stack([y[labels == c].mean(0) for c in np.unique(labels)])
    within = np.mean([np.linalg.norm(y[labels == c] - cents[c], axis=1).mean() for c in np.unique(labels)])
    between = np.mean([np.linalg.norm(a - b) for i, a in enumerate(cents) for b in cents[i + 1:]])
    return between / within


def test_pca_matches_sklearn_up_to_sign():
    from sklearn.decomposition import PCA

    x, _ = clusters(d=300)
    ours = pca_layout(x)
    ref = PCA(2).fit_transform(x)
    for j in range(2):
        c = np.corrcoef(ours[:, j], ref[:, j])[0, 1]
        assert abs(c) > 0.999


def test_pca_on_sample_still_separates_clusters():
    x, labels = clusters(n_per=500)
    assert separation(pca_layout(x, sample=300), labels) > 3


def test_exact_knn_matches_brute_force():
    x, _ = clusters(n_per=30)
    idx, dist = exact_knn(x, 5)
    assert (idx[:, 0] == np.arange(len(x))).all() and np.allclose(dist[:, 0], 0)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    brute = np.argsort(-sims, axis=1)[:, :4]
    assert (np.sort(idx[:, 1:], axis=1) == np.sort(brute, axis=1)).mean() > 0.99
    np.testing.assert_allclose(dist[:, 1], np.sqrt(2 - 2 * sims[np.arange(len(x)), brute[:, 0]]), atol=1e-3)


@pytest.mark.slow
def test_umap_cold_and_warm_keep_clusters_and_warm_stays_close():
    x, labels = clusters()
    cold = umap_layout(x, random_state=0)
    assert cold.shape == (len(x), 2) and separation(cold, labels) > 3
    warm = align_to(umap_layout(x, init=cold, n_epochs=30, random_state=0), cold)
    assert separation(warm, labels) > 3
    # Warm-started from the same data, points move little relative to the map's size.
    size = np.ptp(cold, axis=0).max()
    assert np.median(np.linalg.norm(warm - cold, axis=1)) < 0.15 * size


def test_rows_beyond_the_fit_sample_land_in_their_cluster():
    x, labels = clusters(n_per=100)
    fit = np.arange(0, len(x), 2)
    y_fit = pca_layout(x[fit])
    placed = place_by_neighbours(x[1::2], x[fit], y_fit)
    cents = np.stack([y_fit[labels[fit] == c].mean(0) for c in range(4)])
    nearest = np.argmin(np.linalg.norm(placed[:, None] - cents[None], axis=2), axis=1)
    assert (nearest == labels[1::2]).mean() > 0.95


def test_align_to_undoes_rotation_scale_and_shift():
    rng = np.random.default_rng(3)
    old = rng.standard_normal((50, 2)).astype(np.float32)
    theta = 1.1
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    new = (old @ rot) * 7.0 + 3.0
    np.testing.assert_allclose(align_to(new, old), old, atol=1e-4)


def test_tiny_inputs():
    assert pca_layout(np.zeros((0, 5))).shape == (0, 2)
    assert umap_layout(np.eye(3, 5, dtype=np.float32)).shape == (3, 2)


def test_fused_layout_input_is_pca_of_the_fused_vectors_without_materialising_them():
    from mmviewer.core.match.fusion import fused_vectors

    table, x, labels, present = image_audio_table(n_per=50, d=40, d_audio=20, noise=0.1, missing=0.2, seed=5)
    weights = {"image": 1.0, "audio": 0.5}
    reduced = fused_layout_input(table, weights, dims=8)
    full = fused_vectors(table, weights)
    expected = pca_layout(full)
    for j in range(2):
        assert abs(np.corrcoef(reduced[:, j], expected[:, j])[0, 1]) > 0.999
    assert separation(reduced[:, :2], labels) > 3


def test_umap_beyond_the_fit_sample_places_every_row():
    x, labels = clusters(n_per=150, d=8)
    y = umap_layout(x, random_state=0, max_fit=200)
    assert y.shape == (600, 2) and np.isfinite(y).all()
    assert separation(y, labels) > 2


def test_approx_knn_finds_most_exact_neighbours_with_self_first():
    from mmviewer.core.layout.knn import KNN_EXACT_MAX, approx_knn

    rng = np.random.default_rng(7)
    centres = rng.standard_normal((20, 16))
    x = (centres[rng.integers(0, 20, KNN_EXACT_MAX + 1500)] + 0.3 * rng.standard_normal((KNN_EXACT_MAX + 1500, 16))).astype(np.float32)
    idx, dist = approx_knn(x, 10)
    ref, ref_dist = exact_knn(x, 10)
    assert (idx[:, 0] == np.arange(len(x))).all() and (dist[:, 0] == 0).all()
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, ref, strict=True)])
    assert recall > 0.9
    assert (np.diff(dist, axis=1) >= -1e-5).all()  # nearest first
    # Distances are the true Euclidean distances of the rows returned.
    true = np.linalg.norm(x[idx[:, 3]] - x, axis=1)
    np.testing.assert_allclose(dist[:, 3], true, rtol=1e-3, atol=1e-3)


def test_approx_knn_for_separate_queries():
    from mmviewer.core.layout.knn import approx_knn

    rng = np.random.default_rng(8)
    data = rng.standard_normal((5000, 8)).astype(np.float32)
    queries = data[:300] + 1e-3
    idx, dist = approx_knn(data, 5, queries=queries)
    assert idx.shape == (300, 5) and (idx[:, 0] == np.arange(300)).mean() > 0.95


def test_placement_against_a_large_fitted_set_uses_the_index():
    from mmviewer.core.layout.knn import KNN_EXACT_MAX

    x, labels = clusters(n_per=KNN_EXACT_MAX // 2 + 500, d=12)
    fit = np.arange(0, len(x), 2)
    assert len(fit) > KNN_EXACT_MAX
    y_fit = pca_layout(x[fit])
    placed = place_by_neighbours(x[1::2], x[fit], y_fit)
    cents = np.stack([y_fit[labels[fit] == c].mean(0) for c in range(4)])
    nearest = np.argmin(np.linalg.norm(placed[:, None] - cents[None], axis=2), axis=1)
    assert (nearest == labels[1::2]).mean() > 0.95


def test_two_stage_fused_pca_on_wide_modalities_and_cached_bases():
    from mmviewer.core.data.table import EmbeddingTable
    from mmviewer.core.layout.pca import BASIS_DIMS, modality_basis
    from mmviewer.core.match.fusion import fused_vectors

    rng = np.random.default_rng(9)
    n, d = 1500, 3 * BASIS_DIMS  # wider than the per-modality basis: truncated first stage
    latent = rng.standard_normal((n, 12))
    image = l2_normalise(latent @ rng.standard_normal((12, d)) + 0.3 * rng.standard_normal((n, d)))
    text = l2_normalise(latent @ rng.standard_normal((12, d)) + 0.3 * rng.standard_normal((n, d)))
    present = {"image": np.ones(n, bool), "text": rng.random(n) > 0.1}
    text[~present["text"]] = 0
    table = EmbeddingTable(np.arange(n).astype(str), {"image": image, "text": text}, present)
    for weights in ({"image": 1.0, "text": 1.0}, {"image": 0.3, "text": 1.0}):
        reduced = fused_layout_input(table, weights, dims=8)
        expected = pca_layout(fused_vectors(table, weights))
        for j in range(2):
            assert abs(np.corrcoef(reduced[:, j], expected[:, j])[0, 1]) > 0.99
    assert modality_basis(table, "image") is modality_basis(table, "image")  # computed once
    assert modality_basis(table, "image").shape == (n, BASIS_DIMS)


def test_instant_pca_map_matches_the_pca_of_the_fused_vectors():
    from mmviewer.core.layout.pca import fused_pca_2d
    from mmviewer.core.match.fusion import fused_vectors

    table, x, labels, present = image_audio_table(n_per=80, d=300, d_audio=50, noise=0.2, missing=0.3, seed=9)
    weights = {"image": 0.7, "audio": 1.0}
    quick = fused_pca_2d(table, weights)  # every row is in the sample here: exact
    exact = pca_layout(fused_vectors(table, weights))
    for j in range(2):
        assert abs(np.corrcoef(quick[:, j], exact[:, j])[0, 1]) > 0.999
    sampled = fused_pca_2d(table, weights, sample=120)  # axes from a sample, all rows projected
    assert sampled.shape == (320, 2) and separation(sampled, labels) > 3
