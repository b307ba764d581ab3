"""Nearest-neighbour match lists, mutual neighbours, one-to-one assignment, similar items.

All similarity here is a dot product of (unit) row vectors, i.e. cosine. Query blocks are
scored against all targets one block at a time, so a 100k x 100k similarity matrix never exists;
the block height is chosen so one block stays near ``block_bytes``.

Ties: within a top-k list, equal scores are ordered by the lower target index first, and when
equal scores straddle the k-th place the lower target indices are kept. Lists are padded with
index -1 and score -inf where fewer than k targets are available (or comparable).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from mmviewer.core.data.table import EmbeddingTable, check_vectors
from mmviewer.core.match.fusion import FusedScorer, fused_similarity
from mmviewer.core.runtime.cancel import check_cancelled

DEFAULT_BLOCK_BYTES = 32 * 2**20


def _check_pair(queries: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q, t = check_vectors(queries, "queries"), check_vectors(targets, "targets")
    if q.shape[1] != t.shape[1]:
        raise ValueError(
            f"queries have {q.shape[1]} dims but targets have {t.shape[1]}; "
            "align them into a shared space first"
        )
    return q, t


def block_rows(n_cols: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
    """Rows per block so a float32 block of ``n_cols`` columns stays near ``block_bytes``."""
    return max(1, int(block_bytes) // (4 * max(1, n_cols)))


def iter_blocks(n_rows: int, n_cols: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[slice]:
    """Yield row slices covering ``range(n_rows)`` sized by :func:`block_rows`.

    Every blockwise loop of top-k, ranks, metrics and kNN goes through here, so this is where
    a cancelled job stops (:func:`~mmviewer.core.runtime.cancel.check_cancelled`).
    """
    step = block_rows(n_cols, block_bytes)
    for start in range(0, n_rows, step):
        check_cancelled()
        yield slice(start, min(start + step, n_rows))


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns of every row of a dense score block (``-inf`` marks excluded entries).

    Uses ``np.partition`` (no full sort) and the tie convention of the module docstring.

    Parameters
    ----------
    scores : (b, n) float array
    k : int

    Returns
    -------
    indices : (b, k) int64
        Column indices, best first; -1 where the row has fewer than ``k`` finite scores.
    values : (b, k) float32
        Their scores; -inf where padded.
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim == 1:
        idx, val = top_k_rows(scores[None, :], k)
        return idx[0], val[0]
    b, n = scores.shape
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    kk = min(k, n)
    idx = np.full((b, k), -1, dtype=np.int64)
    val = np.full((b, k), -np.inf, dtype=np.float32)
    if b == 0 or kk == 0:
        return idx, val
    kth = np.partition(scores, n - kk, axis=1)[:, n - kk][:, None]
    above = scores > kth
    equal = scores == kth
    need = kk - above.sum(axis=1, keepdims=True)
    chosen = above | equal
    tied = np.flatnonzero(equal.sum(axis=1, keepdims=True)[:, 0] > need[:, 0])
    if len(tied):  # more equal scores than places left: keep the lowest columns
        eq = equal[tied]
        chosen[tied] = above[tied] | (eq & (np.cumsum(eq, axis=1) <= need[tied]))
    cols = np.nonzero(chosen)[1].reshape(b, kk)  # ascending column index within each row
    vals = np.take_along_axis(scores, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    cols = np.take_along_axis(cols, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    bad = ~np.isfinite(vals)
    cols[bad] = -1
    vals[bad] = -np.inf
    idx[:, :kk], val[:, :kk] = cols, vals
    return idx, val


def top_k(
    queries: np.ndarray,
    targets: np.ndarray,
    k: int = 10,
    exclude_self: bool = False,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar targets for every query, computed blockwise.

    Parameters
    ----------
    queries : (nq, d) array
    targets : (nt, d) array
    k : int
    exclude_self : bool
        Queries and targets are the same items (row ``i`` of each): never return ``i`` for ``i``.
    block_bytes : int
        Memory budget for one block of the similarity matrix.

    Returns
    -------
    indices : (nq, k) int64
        Target indices, best first (-1 padding, see the module docstring).
    scores : (nq, k) float32
        Cosine similarity (dot product) of each match.
    """
    q, t = _check_pair(queries, targets)
    if exclude_self and len(q) != len(t):
        raise ValueError(
            f"exclude_self needs the same items on both sides, got {len(q)} queries "
            f"and {len(t)} targets"
        )
    idx = np.empty((len(q), int(k)), dtype=np.int64)
    val = np.empty((len(q), int(k)), dtype=np.float32)
    for rows in iter_blocks(len(q), len(t), block_bytes):
        s = q[rows] @ t.T
        if exclude_self:
            r = np.arange(rows.stop - rows.start)
            s[r, r + rows.start] = -np.inf
        idx[rows], val[rows] = top_k_rows(s, k)
    return idx, val


MAX_ASSIGNMENT_CELLS = 50_000_000


def assign(similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-total-similarity one-to-one assignment of a dense similarity matrix.

    ``scipy.optimize.linear_sum_assignment``; cubic time, so meant for up to a few thousand
    items per side (larger matrices raise a ValueError: subsample first).

    Returns
    -------
    rows, cols : (min(nq, nt),) int64
    """
    s = np.asarray(similarity)
    if s.ndim != 2:
        raise ValueError(f"similarity must be 2-D, got shape {s.shape}")
    if s.size > MAX_ASSIGNMENT_CELLS:
        raise ValueError(
            f"one-to-one assignment of {s.shape[0]} x {s.shape[1]} is too large "
            f"(limit {MAX_ASSIGNMENT_CELLS} cells); subsample the items first"
        )
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise ValueError("similarity contains NaN or infinite values")
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(s, maximize=True)
    return rows.astype(np.int64), cols.astype(np.int64)


def similar_items(
    table: EmbeddingTable,
    item: int,
    weights: Mapping[str, float],
    k: int = 10,
    scorer: FusedScorer | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Recommendation list: the ``k`` items most similar to ``item`` under the fused similarity.

    The item itself and items sharing no weighted modality with it are left out.

    Parameters
    ----------
    table : EmbeddingTable
    item : int
        Row index of the query item.
    weights : mapping of str to float
    k : int
    scorer : FusedScorer, optional
        A scorer already built for ``item``; pass it to make re-weighting cheap.

    Returns
    -------
    indices : (k,) int64
        Item rows, best first (-1 padding).
    scores : (k,) float32
    """
    if scorer is None:
        scorer = FusedScorer(table, item)
    elif scorer.query != int(item) % table.n_items:
        raise ValueError(f"scorer was built for item {scorer.query}, not {item}")
    s = scorer.scores(weights)
    s[~scorer.support(weights)] = -np.inf
    s[scorer.query] = -np.inf
    return top_k_rows(s, k)


def fused_top_k(
    table: EmbeddingTable,
    weights: Mapping[str, float],
    k: int = 10,
    rows: np.ndarray | None = None,
    cols: np.ndarray | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    single: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Similar items for many query items at once (blockwise), excluding each item itself.

    Parameters
    ----------
    table : EmbeddingTable
    weights : mapping of str to float
    k : int
    rows : array of int, optional
        Query item rows (default: all items).
    cols : array of int, optional
        Candidate item rows (default: all items).
    single : dict, optional
        Also rank by each weighted modality alone, from the same products:
        ``single[m] = (indices, scores)`` like the return value.

    Returns
    -------
    indices : (len(rows), k) int64
        Item rows of the table (not positions in ``cols``), best first, -1 padded.
    scores : (len(rows), k) float32
    """
    rows = np.arange(table.n_items) if rows is None else np.asarray(rows, dtype=np.intp)
    all_cols = cols is None  # then the vectors are used in place, not gathered for each block
    cols = np.arange(table.n_items) if all_cols else np.asarray(cols, dtype=np.intp)
    out: dict = {}

    def keep(name, block, s, support, itself) -> None:
        s[~support] = -np.inf
        s[itself] = -np.inf
        i, v = top_k_rows(s, k)
        if name not in out:
            out[name] = (np.empty((len(rows), int(k)), np.int64), np.empty((len(rows), int(k)), np.float32))
        out[name][0][block] = np.where(i >= 0, cols[np.maximum(i, 0)], -1)
        out[name][1][block] = v

    each = {} if single is not None else None
    # a block holds the fused scores and, with ``single``, each modality's: size it for all
    factor = 1 + (2 * len(weights) if single is not None else 0)
    for block in iter_blocks(len(rows), len(cols) * factor, block_bytes):
        r = rows[block]
        itself = r[:, None] == cols[None, :]
        s, support = fused_similarity(table, weights, r, None if all_cols else cols, each)
        keep(None, block, s, support, itself)
        for m, (sm, sup) in (each or {}).items():
            keep(m, block, sm, sup, itself)
    if single is not None:
        single.update({m: v for m, v in out.items() if m is not None})
    return out.get(None, (np.empty((0, int(k)), np.int64), np.empty((0, int(k)), np.float32)))
