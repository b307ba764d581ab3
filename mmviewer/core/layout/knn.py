"""Nearest neighbours for layouts: exact (blockwise BLAS) or an inverted-file index.

UMAP's graph and the placement of rows beyond the fit sample need Euclidean k-nearest
neighbours. Up to ``KNN_EXACT_MAX`` rows they are exact; above, :func:`approx_knn` (k-means
lists, each query searched in its few nearest lists) costs about a second at 50k rows where a
brute-force graph costs O(N^2).
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.match.topk import iter_blocks, top_k_rows
from mmviewer.core.runtime.blas import one_blas_thread

#: Up to this many rows, neighbours are exact (brute force); above, :func:`approx_knn`.
KNN_EXACT_MAX = 4096


#: Lists each query visits in :func:`approx_knn` (recall@15 ~0.98 at 4 on clustered data).
KNN_PROBES = 4


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
