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


def pca_layout(x: np.ndarray, random_state: int = 0, sample: int = PCA_SAMPLE) -> np.ndarray:
    """Project rows onto the top two principal axes (fitted on a sample); (N, 2) float32."""
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if n == 0:
        return np.zeros((0, 2), np.float32)
    rng = np.random.default_rng(random_state)
    fit_rows = x if n <= sample else x[np.sort(rng.choice(n, sample, replace=False))]
    mean = fit_rows.mean(axis=0)
    centred = fit_rows - mean
    if x.shape[1] <= 2:
        axes = np.eye(x.shape[1], 2, dtype=np.float32)
    else:
        # The 2 leading right-singular vectors via the (d x d) Gram matrix when d is small,
        # else a randomized SVD; both are far below a UMAP fit.
        if x.shape[1] <= 256:
            vals, vecs = np.linalg.eigh(centred.T @ centred)
            axes = vecs[:, ::-1][:, :2]
        else:
            from sklearn.utils.extmath import randomized_svd

            _, _, vt = randomized_svd(centred, 2, n_iter=4, random_state=random_state)
            axes = vt.T
    out = (x - mean) @ axes.astype(np.float32)
    return _sign_fix(out.astype(np.float32))


def _sign_fix(y: np.ndarray) -> np.ndarray:
    # Deterministic orientation: the largest-magnitude coordinate of each axis is positive.
    for j in range(y.shape[1]):
        if y[np.argmax(np.abs(y[:, j])), j] < 0:
            y[:, j] = -y[:, j]
    return y


def exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine k-nearest neighbours (self first) as UMAP's ``precomputed_knn``.

    Rows must be unit vectors (or zero). Blockwise BLAS; fine up to a few tens of thousands of
    rows, and it skips pynndescent's per-process compilation.
    """
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    k = min(k, n)
    indices = np.empty((n, k), dtype=np.int64)
    dists = np.empty((n, k), dtype=np.float32)
    for rows in iter_blocks(n, n):
        sims = x[rows] @ x.T
        # Each row's own index first, as UMAP expects.
        sims[np.arange(sims.shape[0]), np.arange(rows.start, rows.stop)] = 2.0  # > any cosine
        idx, val = top_k_rows(sims, k)
        indices[rows] = idx
        d = 1.0 - val
        d[:, 0] = 0.0
        dists[rows] = np.maximum(d, 0.0)
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
    """UMAP to 2-D with cosine metric; warm-start with ``init`` (N, 2) and fewer epochs.

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
        out[rest] = place_by_neighbours(x[rest], x[fit_rows], fitted)
        return out

    import umap

    n_neighbors = max(2, min(n_neighbors, n - 1))
    if knn is None and n <= 20_000:
        knn = exact_knn(x, n_neighbors)
    kw = {}
    if knn is not None:
        kw["precomputed_knn"] = (knn[0][:, :n_neighbors], knn[1][:, :n_neighbors])
    reducer = umap.UMAP(
        n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, metric="cosine",
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
    """Place rows at the similarity-weighted mean 2-D position of their ``k`` nearest fitted rows."""
    out = np.empty((len(x), 2), np.float32)
    for rows in iter_blocks(len(x), len(fitted_x)):
        idx, sims = top_k_rows(x[rows] @ fitted_x.T, k)
        w = np.exp((sims - sims[:, :1]) * 20.0)  # sharp softmax over cosine similarity
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
