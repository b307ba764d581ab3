"""Nearest neighbours for layouts: exact (blockwise BLAS) or faiss's inverted-file index.

UMAP's graph and the placement of rows beyond the fit sample need Euclidean k-nearest
neighbours. Up to ``KNN_EXACT_MAX`` rows they are exact; above, :func:`approx_knn` (faiss
``IndexIVFFlat``: k-means lists, each query searched in its few nearest lists) costs about half
a second at 50k rows where a brute-force graph costs O(N^2). Our own IVF index did this job
until faiss was measured side by side on a quiet machine and won at 100k and 1M at equal recall
(``benchmarks/bench_knn.py``, RESULTS.md).
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.match.topk import iter_blocks, top_k_rows
from mmviewer.core.runtime.cancel import check_cancelled

#: Up to this many rows, neighbours are exact (brute force); above, :func:`approx_knn`.
KNN_EXACT_MAX = 4096


#: Lists each query visits in :func:`approx_knn` (recall@15 0.96 at 4 on clustered 64-d data).
KNN_PROBES = 4
#: Queries per faiss search call: a cancelled job stops between calls.
QUERY_BLOCK = 65_536


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
    """Approximate Euclidean k-nearest neighbours through faiss's inverted-file index.

    ``data`` is split into about ``sqrt(N)`` lists by k-means on a seeded sample of
    ``64`` rows per list; each query is compared with the members of its ``n_probe`` nearest
    lists only, so the cost is ~``N * n_probe * sqrt(N)`` distances instead of ``N^2``.

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
    import faiss

    data = np.ascontiguousarray(data, dtype=np.float32)
    same = queries is None
    queries = data if same else np.ascontiguousarray(queries, dtype=np.float32)
    n, m = len(data), len(queries)
    k = min(int(k), n)
    n_lists = int(np.clip(round(np.sqrt(n)), 1, 2048))
    quantizer = faiss.IndexFlatL2(data.shape[1])  # kept referenced while the index lives
    index = faiss.IndexIVFFlat(quantizer, data.shape[1], n_lists)
    index.cp.seed = int(random_state)
    rng = np.random.default_rng(random_state)
    train = data if n <= 64 * n_lists else data[np.sort(rng.choice(n, 64 * n_lists, replace=False))]
    index.train(train)
    index.add(data)
    index.nprobe = min(int(n_probe), n_lists)
    indices = np.empty((m, k), np.int64)
    d2 = np.empty((m, k), np.float32)
    for q0 in range(0, m, QUERY_BLOCK):
        check_cancelled()
        d2[q0:q0 + QUERY_BLOCK], indices[q0:q0 + QUERY_BLOCK] = index.search(queries[q0:q0 + QUERY_BLOCK], k)
    dists = np.sqrt(np.maximum(d2, 0.0))
    dists[indices < 0] = np.inf
    if same:
        indices, dists = _self_first(indices, dists)
    return indices, dists


def _self_first(indices: np.ndarray, dists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row ``i`` of a self-search with ``i`` first at distance 0 (an approximate search
    may miss it, or rank a duplicate first), the others in their order."""
    own = np.arange(len(indices))
    hit = indices == own[:, None]
    order = np.argsort(~hit, axis=1, kind="stable")
    indices = np.take_along_axis(indices, order, axis=1)
    dists = np.take_along_axis(dists, order, axis=1)
    missing = ~hit.any(axis=1)
    indices[missing, 1:] = indices[missing, :-1].copy()
    dists[missing, 1:] = dists[missing, :-1].copy()
    indices[:, 0] = own
    dists[:, 0] = 0.0
    return indices, dists


def knn_graph(x: np.ndarray, k: int, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """UMAP's ``precomputed_knn`` for ``x``: exact up to ``KNN_EXACT_MAX`` rows, else IVF."""
    if len(x) <= KNN_EXACT_MAX:
        return exact_knn(x, k)
    return approx_knn(x, k, random_state=random_state)
