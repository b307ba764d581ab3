"""2-D layouts of embeddings: an instant PCA, then UMAP (cold or warm-started).

The map shows :func:`pca_layout` at once (a randomized SVD on a sample, then one projection of
all rows), and replaces it with :func:`umap_layout` when that finishes off the UI thread. After a
weight change UMAP restarts from the current positions (``init``) with fewer epochs, and
:func:`align_to` rotates/scales the new layout onto the old one so points glide instead of jump.

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

from mmviewer.core.matching import iter_blocks, top_k_rows

PCA_SAMPLE = 20_000
UMAP_MAX_FIT = 50_000
#: Dimensions UMAP sees: PCA of the (fused) vectors, as scanpy does before its kNN graph.
LAYOUT_DIMS = 64
#: Per-modality basis rank of the two-stage fused PCA (cached per table).
BASIS_DIMS = 64
#: Rows sampled to fit each modality's basis (its top axes; the projection covers all rows).
BASIS_SAMPLE = 4096
#: Up to this many rows, neighbours are exact (brute force); above, :func:`approx_knn`.
KNN_EXACT_MAX = 4096
#: Lists each query visits in :func:`approx_knn` (recall@15 ~0.98 at 4 on clustered data).
KNN_PROBES = 4


def pca_reduce(rows, n: int, dims: int, sample: int = PCA_SAMPLE, random_state: int = 0) -> np.ndarray:
    """PCA scores (N, dims) float32 of rows produced block by block.

    ``rows(index)`` returns the float32 rows for an index array, so callers can produce rows on
    the fly (e.g. fused vectors) without materialising the whole (N, D) matrix. The axes are
    fitted on a seeded sample of at most ``sample`` rows; all rows are then projected.
    """
    if n == 0:
        return np.zeros((0, dims), np.float32)
    mean, axes = pca_axes(rows, n, dims, sample, random_state)
    d, k = axes.shape
    out = np.zeros((n, dims), np.float32)
    step = max(1, (64 * 2**20) // (4 * max(d, 1)))
    for start in range(0, n, step):
        index = np.arange(start, min(n, start + step))
        out[index, :k] = (np.asarray(rows(index), np.float32) - mean) @ axes
    return out


def pca_axes(rows, n: int, dims: int, sample: int = PCA_SAMPLE,
             random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (D,), axes (D, k))`` of :func:`pca_reduce`, fitted on a seeded sample of rows."""
    rng = np.random.default_rng(random_state)
    fit_index = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    fit_rows = np.asarray(rows(fit_index), dtype=np.float32)
    mean = fit_rows.mean(axis=0)
    centred = fit_rows - mean
    d = centred.shape[1]
    k = min(dims, d, len(centred))
    with one_blas_thread():
        if d <= 256:
            _, vecs = np.linalg.eigh((centred.T @ centred).astype(np.float64))
            axes = vecs[:, ::-1][:, :k]
        else:
            from sklearn.utils.extmath import randomized_svd

            _, _, vt = randomized_svd(centred, k, n_iter=4, random_state=random_state)
            axes = vt.T
        axes = _sign_fix_axes(axes.astype(np.float32), centred)
    return mean, axes


def one_blas_thread():
    """Context: BLAS/LAPACK on one thread. Mid-sized factorisations (``eigh`` of 512 x 512, a
    10k-row Gram matrix) ran 10-100x slower with OpenBLAS's two threads on a loaded 2-core
    machine (threads spin waiting for a core) and no faster on an idle one."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


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
    """PCA scores (N, dims) of the fused vectors (see :func:`mmviewer.core.fusion.fused_vectors`)
    without materialising the (N, sum of dims) fused matrix.

    Two stages: each modality's rows are first reduced to their scores on the top
    ``BASIS_DIMS`` axes of their uncentred second moment (``Y_m = V_m A_m``; exact when the
    modality has at most that many dims), computed once per table and cached. The fused vector
    ``[s_1 e_1, s_2 e_2, ...]`` is then represented by ``[s_1 Y_1, s_2 Y_2, ...]``, which keeps
    its dot products up to the basis truncation, and a small PCA of that gives the output. A
    weight change only redoes the second stage.

    Its first two columns are the instant PCA layout; all columns are what UMAP sees.
    """
    from mmviewer.core.fusion import fused_scales

    scales = fused_scales(table, weights)
    if not scales:
        raise ValueError("fused_layout_input needs at least one modality with a positive weight")
    bases = modality_bases(table, list(scales), random_state=random_state)
    factors = list(scales.values())

    def rows(index):
        return np.concatenate([y[index] * f[index, None] for y, f in zip(bases, factors, strict=True)],
                              axis=1)

    n = table.n_items
    out = np.zeros((n, dims), np.float32)
    if n == 0:
        return out
    mean, axes = pca_axes(rows, n, dims, random_state=random_state)
    k = axes.shape[1]
    # Project modality by modality: sum_m f_m * (Y_m @ A_m) - mean @ A, with no (N, R) copy.
    out[:, :k] = -(mean @ axes)
    col = 0
    for y, f in zip(bases, factors, strict=True):
        part = axes[col : col + y.shape[1]]
        col += y.shape[1]
        block = y @ part
        block *= f[:, None]
        out[:, :k] += block
    return out


def fused_pca_2d(table, weights, sample: int = 4096, random_state: int = 0) -> np.ndarray:
    """The instant map: fused vectors on their top two principal axes, (N, 2) float32.

    The axes come from a seeded sample of at most ``sample`` fused rows; all rows are then
    projected modality by modality, so neither the (N, sum of dims) fused matrix nor the
    per-modality bases of :func:`fused_layout_input` are needed. That keeps the first picture
    at a few percent of a UMAP even on a freshly opened table.
    """
    from mmviewer.core.fusion import fused_scales, fused_vectors

    scales = fused_scales(table, weights)
    if not scales:
        raise ValueError("the map needs at least one modality with a positive weight")
    n = table.n_items
    rng = np.random.default_rng(random_state)
    index = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    mean, axes = pca_axes(lambda i: fused_vectors(table.subset(index[i]), weights),
                          len(index), 2, sample=len(index), random_state=random_state)
    out = np.empty((n, axes.shape[1]), np.float32)
    out[:] = -(mean @ axes)
    col = 0
    for m, f in scales.items():
        part = axes[col : col + table.dim(m)]
        col += table.dim(m)
        out += (table.vectors[m] @ part) * f[:, None]
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


def modality_bases(table, modalities: list[str], random_state: int = 0) -> list[np.ndarray]:
    """:func:`modality_basis` of several modalities, two at a time (one BLAS thread each)."""
    from concurrent.futures import ThreadPoolExecutor

    if len(modalities) < 2:
        return [modality_basis(table, m, random_state=random_state) for m in modalities]
    with one_blas_thread(), ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda m: modality_basis(table, m, random_state=random_state), modalities))


def modality_basis(table, modality: str, rank: int = BASIS_DIMS, sample: int | None = None,
                   random_state: int = 0) -> np.ndarray:
    """(N, min(rank, d)) float32 scores of one modality's rows on the top uncentred principal
    axes of its present rows (fitted on a seeded sample); cached on ``table``.

    Returns the vectors themselves when ``d <= rank`` (lossless, no copy).
    """
    sample = BASIS_SAMPLE if sample is None else sample

    def compute():
        v = table.vectors[modality]
        d = v.shape[1]
        if d <= rank:
            return v
        present = np.flatnonzero(table.present[modality])
        rng = np.random.default_rng(random_state)
        fit = present if len(present) <= sample else np.sort(rng.choice(present, sample, replace=False))
        xs = np.asarray(v[fit], np.float32)
        if len(xs) == 0:
            return np.zeros((len(v), rank), np.float32)
        from scipy.linalg import eigh

        with one_blas_thread():  # only the top ``rank`` eigenpairs (MRRR): half a full eigh
            _, vecs = eigh((xs.T @ xs).astype(np.float64), subset_by_index=[d - rank, d - 1],
                           driver="evr")
        axes = np.ascontiguousarray(vecs[:, ::-1], dtype=np.float32)
        return v @ axes

    return table.derived(("layout-basis", modality, rank, sample, random_state), compute)


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


def approx_knn(
    data: np.ndarray,
    k: int,
    queries: np.ndarray | None = None,
    n_probe: int = KNN_PROBES,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate Euclidean k-nearest neighbours through an inverted-file (IVF) index.

    ``data`` is split into about ``sqrt(N)`` lists by a few k-means (Lloyd) iterations on a
    sample; each query is compared, by BLAS, with the members of its ``n_probe`` nearest lists
    only, so the cost is ~``N * n_probe * sqrt(N)`` distances instead of ``N^2``.

    Parameters
    ----------
    data : (N, d) float array
    k : int
    queries : (M, d) float array, optional
        When omitted the queries are ``data`` itself and each row is its own first neighbour
        (distance 0), as UMAP's ``precomputed_knn`` expects.
    n_probe : int
    random_state : int

    Returns
    -------
    indices : (M, k) int64
        Rows of ``data``, nearest first; -1 where fewer than ``k`` candidates were seen.
    distances : (M, k) float32
        Euclidean distances; inf where padded.
    """
    from concurrent.futures import ThreadPoolExecutor

    data = np.ascontiguousarray(data, dtype=np.float32)
    same = queries is None
    queries = data if same else np.ascontiguousarray(queries, dtype=np.float32)
    n, m = len(data), len(queries)
    k = min(int(k), n)
    n_lists = int(np.clip(round(np.sqrt(n)), 1, 2048))
    probe = min(int(n_probe), n_lists)
    with one_blas_thread():
        centres = _kmeans(data, n_lists, random_state)
    csq = 0.5 * np.einsum("ij,ij->i", centres, centres)
    dsq = np.einsum("ij,ij->i", data, data)
    labels = np.concatenate([np.argmax(data[b] @ centres.T - csq, axis=1) for b in iter_blocks(n, n_lists)])
    members = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[members], np.arange(n_lists + 1))
    slot_of = np.empty(n, np.int64)  # position of each row within its own list
    slot_of[members] = np.arange(n) - bounds[labels[members]]
    indices = np.full((m, k), -1, np.int64)
    dists = np.full((m, k), np.inf, np.float32)
    chunk = 1 << 18  # queries per pass: bounds the candidate arrays (chunk x probe x k)
    for q0 in range(0, m, chunk):
        q1 = min(m, q0 + chunk)
        qx = queries[q0:q1]
        probes = np.concatenate([
            np.argpartition(csq - qx[b] @ centres.T, probe - 1, axis=1)[:, :probe]
            if probe < n_lists else np.broadcast_to(np.arange(n_lists), (b.stop - b.start, n_lists))
            for b in iter_blocks(len(qx), n_lists)
        ])
        flat = probes.ravel()
        by_list = np.argsort(flat, kind="stable")
        pbounds = np.searchsorted(flat[by_list], np.arange(n_lists + 1))
        cand_i = np.full((len(qx), probe * k), -1, np.int64)
        cand_d = np.full((len(qx), probe * k), np.inf, np.float32)

        def search(lists, qx=qx, by_list=by_list, pbounds=pbounds, cand_i=cand_i, cand_d=cand_d,
                   q0=q0):
            for c in lists:
                mem = members[bounds[c] : bounds[c + 1]]
                sel = by_list[pbounds[c] : pbounds[c + 1]]
                if len(mem) == 0 or len(sel) == 0:
                    continue
                qi, slot = sel // probe, sel % probe
                # Ranking by |b|^2 - 2 a.b (|a|^2 is constant per query).
                d = dsq[mem][None, :] - 2.0 * (qx[qi] @ data[mem].T)
                if same:  # self first: queries of this list find themselves at their slot
                    own = np.flatnonzero(labels[qi + q0] == c)
                    d[own, slot_of[qi[own] + q0]] = -np.inf
                kk = min(k, len(mem))
                top = _smallest(d, kk)
                cols = slot[:, None] * k + np.arange(kk)[None, :]
                cand_i[qi[:, None], cols] = mem[top]
                cand_d[qi[:, None], cols] = np.take_along_axis(d, top, axis=1)

        # Small blocks: one BLAS thread each, the lists split over two Python threads.
        with one_blas_thread(), ThreadPoolExecutor(2) as pool:
            list(pool.map(search, [range(0, n_lists, 2), range(1, n_lists, 2)]))
        top = _smallest(cand_d, k)
        indices[q0:q1] = np.take_along_axis(cand_i, top, axis=1)
        d2 = np.take_along_axis(cand_d, top, axis=1) + np.einsum("ij,ij->i", qx, qx)[:, None]
        dists[q0:q1] = np.sqrt(np.maximum(d2, 0.0))
    dists[indices < 0] = np.inf
    if same:
        dists[:, 0] = 0.0
    return indices, dists


def _smallest(d: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` smallest entries of every row, in increasing order."""
    if d.shape[1] > k:
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(d.shape[1]), d.shape).copy()
    order = np.argsort(np.take_along_axis(d, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _kmeans(x: np.ndarray, n_lists: int, random_state: int, iters: int = 8) -> np.ndarray:
    """Lloyd's k-means on a seeded sample of ``64 * n_lists`` rows; (n_lists, d) centres."""
    rng = np.random.default_rng(random_state)
    sample = x if len(x) <= 64 * n_lists else x[np.sort(rng.choice(len(x), 64 * n_lists, replace=False))]
    centres = sample[np.sort(rng.choice(len(sample), n_lists, replace=False))].copy()
    for _ in range(iters):
        labels = np.argmax(sample @ centres.T - 0.5 * np.einsum("ij,ij->i", centres, centres), axis=1)
        counts = np.bincount(labels, minlength=n_lists)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, sample)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres


def knn_graph(x: np.ndarray, k: int, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """UMAP's ``precomputed_knn`` for ``x``: exact up to ``KNN_EXACT_MAX`` rows, else IVF."""
    if len(x) <= KNN_EXACT_MAX:
        return exact_knn(x, k)
    return approx_knn(x, k, random_state=random_state)


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
    seed = 0 if random_state is None else int(random_state)
    if n > max_fit:
        rng = np.random.default_rng(seed)
        fit_rows = np.sort(rng.choice(n, max_fit, replace=False))
        fitted = umap_layout(
            x[fit_rows], None if init is None else init[fit_rows], n_epochs, n_neighbors,
            min_dist, random_state, max_fit,
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
        random_state=random_state, low_memory=True, **kw,
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
