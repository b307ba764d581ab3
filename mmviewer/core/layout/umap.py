"""2-D layouts of embeddings: an instant PCA, then UMAP (cold or warm-started).

The map shows :func:`pca_layout` at once (a randomized SVD on a sample, then one projection of
all rows), and replaces it with :func:`umap_layout` when that finishes off the UI thread. After a
weight change UMAP restarts from the current positions (``init``) with fewer epochs, and
the map rotates/scales the new layout onto the old one so points glide instead of jump
(:func:`mmviewer.core.layout.transform.align_to`).

Big inputs: UMAP is fitted on at most ``max_fit`` rows (a seeded sample); every other row is
placed at the similarity-weighted mean of its nearest fitted rows (:func:`place_by_neighbours`),
which keeps memory linear in N and time near-linear. Nearest neighbours (UMAP's graph and the
placement) come from an inverted-file index (:func:`approx_knn`: k-means lists, each query
searched in its few nearest lists), exact below ``KNN_EXACT_MAX`` rows: a brute-force graph
of 50k rows costs O(N^2) (about a minute here), the index about a second at recall ~0.98.

The fused layout input is a two-stage PCA (:func:`fused_layout_input`): each modality's vectors
are projected once onto their top ``BASIS_DIMS`` uncentred principal axes (cached on the
table, weight-independent), and a weight change only redoes a small PCA of the weighted,
concatenated scores.
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.layout.knn import KNN_EXACT_MAX, approx_knn, knn_graph
from mmviewer.core.layout.pca import pca_layout
from mmviewer.core.match.topk import iter_blocks, top_k_rows

UMAP_MAX_FIT = 50_000


def umap_layout(
    x: np.ndarray,
    init: np.ndarray | None = None,
    n_epochs: int | None = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    random_state: int | None = 0,
    max_fit: int = UMAP_MAX_FIT,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
    n_jobs: int = -1,
) -> np.ndarray:
    """UMAP to 2-D (Euclidean; give it PCA scores, e.g. :func:`fused_layout_input`); warm-start
    with ``init`` (N, 2) and fewer epochs.

    ``random_state=None`` lets UMAP use ``n_jobs`` threads (-1: every core; a seed makes it
    single-threaded).
    Rows beyond ``max_fit`` are placed by :func:`place_by_neighbours`.
    """
    import warnings

    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if n < 4:
        return pca_layout(x)
    seed = 0 if random_state is None else int(random_state)
    if n > max_fit:
        rng = np.random.default_rng(seed)
        fit_rows = np.sort(rng.choice(n, max_fit, replace=False))
        fitted = umap_layout(
            x[fit_rows], None if init is None else init[fit_rows], n_epochs, n_neighbors,
            min_dist, random_state, max_fit, n_jobs=n_jobs,
        )
        out = np.empty((n, 2), np.float32)
        out[fit_rows] = fitted
        rest = np.ones(n, bool)
        rest[fit_rows] = False
        out[rest] = place_by_neighbours(x[rest], x[fit_rows], fitted, random_state=seed)
        return out

    import umap

    n_neighbors = max(2, min(n_neighbors, n - 1))
    if knn is None:
        knn = knn_graph(x, n_neighbors, random_state=seed)
    kw = {"precomputed_knn": (knn[0][:, :n_neighbors], knn[1][:, :n_neighbors])}
    reducer = umap.UMAP(
        n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, metric="euclidean",
        init=init if init is not None else "spectral", n_epochs=n_epochs,
        random_state=random_state, low_memory=True, n_jobs=n_jobs, **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_jobs/random_state and disconnected-graph chatter
        out = reducer.fit_transform(x)
    return np.asarray(out, dtype=np.float32)


def place_by_neighbours(
    x: np.ndarray, fitted_x: np.ndarray, fitted_y: np.ndarray, k: int = 8, random_state: int = 0
) -> np.ndarray:
    """Place rows at the distance-weighted mean 2-D position of their ``k`` nearest fitted rows
    (exact neighbours up to ``KNN_EXACT_MAX`` fitted rows, else :func:`approx_knn`)."""
    x = np.asarray(x, np.float32)
    fitted_x = np.asarray(fitted_x, np.float32)
    fitted_y = np.asarray(fitted_y, np.float32)
    k = min(k, len(fitted_x))
    if len(x) == 0 or k == 0:
        return np.zeros((len(x), 2), np.float32)
    if len(fitted_x) > KNN_EXACT_MAX:
        idx, dist = approx_knn(fitted_x, k, queries=x, random_state=random_state)
        d2 = np.square(dist, dtype=np.float32)
    else:
        idx = np.empty((len(x), k), np.int64)
        d2 = np.empty((len(x), k), np.float32)
        sq = np.einsum("ij,ij->i", fitted_x, fitted_x)
        for rows in iter_blocks(len(x), len(fitted_x)):
            idx[rows], score = top_k_rows(x[rows] @ fitted_x.T - 0.5 * sq[None, :], k)
            d2[rows] = np.maximum(np.einsum("ij,ij->i", x[rows], x[rows])[:, None] - 2.0 * score, 0.0)
    valid = idx >= 0
    scale = np.maximum(d2[:, :1], 1e-12)
    w = np.where(valid, np.exp(-(np.where(valid, d2, 0.0) - d2[:, :1]) / scale), 0.0)  # nearest dominates
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-30)
    return np.einsum("nk,nkd->nd", w, fitted_y[np.maximum(idx, 0)]).astype(np.float32)
