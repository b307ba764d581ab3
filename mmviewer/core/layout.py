"""2-D layouts of embeddings: an instant PCA, then UMAP (cold or warm-started).

The map shows :func:`pca_layout` at once (a randomized SVD on a sample, then one projection of
all rows), and replaces it with :func:`umap_layout` when that finishes off the UI thread. After a
weight change UMAP restarts from the current positions (``init``) with fewer epochs, and
:func:`align_to` rotates/scales the new layout onto the old one so points glide instead of jump.

Big inputs: UMAP is fitted on at most ``max_fit`` rows (a seeded sample); every other row is
placed at the similarity-weighted mean of its nearest fitted rows (:func:`place_by_neighbours`),
which keeps memory linear in N and time near-linear.
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.matching import iter_blocks, top_k_rows

PCA_SAMPLE = 20_000
UMAP_MAX_FIT = 50_000
#: Dimensions UMAP sees: PCA of the (fused) vectors, as scanpy does before its kNN graph.
LAYOUT_DIMS = 64
#: Reference rows used to place rows beyond the UMAP fit sample.
PLACE_REFERENCE = 10_000


def pca_reduce(rows, n: int, dims: int, sample: int = PCA_SAMPLE, random_state: int = 0) -> np.ndarray:
    """PCA scores (N, dims) float32 of rows produced block by block.

    ``rows(index)`` returns the float32 rows for an index array, so callers can produce rows on
    the fly (e.g. fused vectors) without materialising the whole (N, D) matrix. The axes are
    fitted on a seeded sample of at most ``sample`` rows; all rows are then projected.
    """
    if n == 0:
        return np.zeros((0, dims), np.float32)
    rng = np.random.default_rng(random_state)
    fit_index = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    fit_rows = np.asarray(rows(fit_index), dtype=np.float32)
    mean = fit_rows.mean(axis=0)
    centred = fit_rows - mean
    d = centred.shape[1]
    k = min(dims, d, len(centred))
    if d <= 256:
        _, vecs = np.linalg.eigh(centred.T.astype(np.float64) @ centred)
        axes = vecs[:, ::-1][:, :k]
    else:
        from sklearn.utils.extmath import randomized_svd

        _, _, vt = randomized_svd(centred, k, n_iter=4, random_state=random_state)
        axes = vt.T
    axes = _sign_fix_axes(axes.astype(np.float32), centred)
    out = np.zeros((n, dims), np.float32)
    step = max(1, (64 * 2**20) // (4 * max(d, 1)))
    for start in range(0, n, step):
        index = np.arange(start, min(n, start + step))
        out[index, :k] = (np.asarray(rows(index), np.float32) - mean) @ axes
    return out


def _sign_fix_axes(axes: np.ndarray, centred: np.ndarray) -> np.ndarray:
    # Deterministic orientation: the largest-magnitude score on each axis is positive.
    scores = centred @ axes
    flip = scores[np.argmax(np.abs(scores), axis=0), np.arange(axes.shape[1])] < 0
    axes[:, flip] *= -1
    return axes


def pca_layout(x: np.ndarray, random_state: int = 0, sample: int = PCA_SAMPLE) -> np.ndarray:
    """Project rows onto their top two principal axes (fitted on a sample); (N, 2) float32."""
    x = np.asarray(x, dtype=np.float32)
    return pca_reduce(lambda index: x[index], len(x), 2, sample, random_state)


def fused_layout_input(table, weights, dims: int = LAYOUT_DIMS, random_state: int = 0) -> np.ndarray:
    """PCA scores of the fused vectors (see :func:`mmviewer.core.fusion.fused_vectors`),
    computed blockwise so the (N, sum of dims) fused matrix never exists at once.

    Its first two columns are the instant PCA layout; all columns are what UMAP sees.
    """
    from mmviewer.core.fusion import fused_vectors

    return pca_reduce(lambda index: fused_vectors(table.subset(index), weights),
                      table.n_items, dims, random_state=random_state)


def exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k-nearest neighbours (self first) as UMAP's ``precomputed_knn``.

    Blockwise BLAS: fine up to the UMAP fit sample (50k rows of 64 dims), and it skips
    pynndescent's per-process compilation (~25 s).
    """
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    k = min(k, n)
    sq = np.einsum("ij,ij->i", x, x)
    indices = np.empty((n, k), dtype=np.int64)
    dists = np.empty((n, k), dtype=np.float32)
    for rows in iter_blocks(n, n):
        # Ranking by -|a-b|^2/2 = a.b - |b|^2/2 (the |a|^2 term is constant per row).
        scores = x[rows] @ x.T - 0.5 * sq[None, :]
        scores[np.arange(scores.shape[0]), np.arange(rows.start, rows.stop)] = np.float32(3.4e38)
        idx, _ = top_k_rows(scores, k)
        d2 = sq[rows, None] + sq[idx] - 2.0 * np.einsum("id,ikd->ik", x[rows], x[idx])
        d = np.sqrt(np.maximum(d2, 0.0))
        d[:, 0] = 0.0
        indices[rows] = idx
        dists[rows] = d
    return indices, dists


def umap_layout(
    x: np.ndarray,
    init: np.ndarray | None = None,
    n_epochs: int | None = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    random_state: int | None = 0,
    max_fit: int = UMAP_MAX_FIT,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """UMAP to 2-D (Euclidean; give it PCA scores, e.g. :func:`fused_layout_input`); warm-start
    with ``init`` (N, 2) and fewer epochs.

    ``random_state=None`` lets UMAP use both cores (a seed makes it single-threaded).
    Rows beyond ``max_fit`` are placed by :func:`place_by_neighbours`.
    """
    import warnings

    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if n < 4:
        return pca_layout(x)
    if n > max_fit:
        rng = np.random.default_rng(0 if random_state is None else random_state)
        fit_rows = np.sort(rng.choice(n, max_fit, replace=False))
        fitted = umap_layout(
            x[fit_rows], None if init is None else init[fit_rows], n_epochs, n_neighbors,
            min_dist, random_state, max_fit,
        )
        out = np.empty((n, 2), np.float32)
        out[fit_rows] = fitted
        rest = np.setdiff1d(np.arange(n), fit_rows)
        ref = np.arange(len(fit_rows))
        if len(ref) > PLACE_REFERENCE:
            ref = np.sort(rng.choice(len(fit_rows), PLACE_REFERENCE, replace=False))
        out[rest] = place_by_neighbours(x[rest], x[fit_rows[ref]], fitted[ref])
        return out

    import umap

    n_neighbors = max(2, min(n_neighbors, n - 1))
    if knn is None:
        knn = exact_knn(x, n_neighbors)
    kw = {}
    if knn is not None:
        kw["precomputed_knn"] = (knn[0][:, :n_neighbors], knn[1][:, :n_neighbors])
    reducer = umap.UMAP(
        n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, metric="euclidean",
        init=init if init is not None else "spectral", n_epochs=n_epochs,
        random_state=random_state, low_memory=True, **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_jobs/random_state and disconnected-graph chatter
        out = reducer.fit_transform(x)
    return np.asarray(out, dtype=np.float32)


def place_by_neighbours(
    x: np.ndarray, fitted_x: np.ndarray, fitted_y: np.ndarray, k: int = 8
) -> np.ndarray:
    """Place rows at the distance-weighted mean 2-D position of their ``k`` nearest fitted rows."""
    out = np.empty((len(x), 2), np.float32)
    sq = np.einsum("ij,ij->i", fitted_x, fitted_x)
    for rows in iter_blocks(len(x), len(fitted_x)):
        idx, score = top_k_rows(x[rows] @ fitted_x.T - 0.5 * sq[None, :], k)
        d2 = np.maximum(np.einsum("ij,ij->i", x[rows], x[rows])[:, None] - 2.0 * score, 0.0)
        scale = np.maximum(d2[:, :1], 1e-12)
        w = np.exp(-(d2 - d2[:, :1]) / scale)  # nearest dominates; ties share
        w /= w.sum(axis=1, keepdims=True)
        out[rows] = np.einsum("nk,nkd->nd", w, fitted_y[idx])
    return out


def align_to(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Similarity transform (rotation/reflection, scale, shift) of ``new`` that best fits ``old``.

    Used before animating: UMAP rescales any ``init`` into its own box, so without this a
    warm-started layout would jump even where the structure barely changed.
    """
    new = np.asarray(new, np.float64)
    old = np.asarray(old, np.float64)
    if len(new) < 3 or new.shape != old.shape:
        return new.astype(np.float32)
    mu_n, mu_o = new.mean(0), old.mean(0)
    a, b = new - mu_n, old - mu_o
    u, s, vt = np.linalg.svd(a.T @ b)
    rot = u @ vt
    denom = (a**2).sum()
    scale = s.sum() / denom if denom > 0 else 1.0
    return ((a @ rot) * scale + mu_o).astype(np.float32)
