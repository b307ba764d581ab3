"""Retrieval and alignment metrics on (aligned) unit vectors or similarity matrices.

Ranks
    Query ``i``'s true target is ``truth[i]`` (default: target ``i``). Its rank is worked out
    from two counts, gathered blockwise so no full query x target matrix is ever held:
    ``greater`` (targets scoring strictly higher) and ``ties`` (*other* targets scoring exactly
    the same). Ties are broken uniformly at random **in expectation**: with ``R`` uniform on
    ``greater + 1 .. greater + ties + 1``, recall@k is ``P(R <= k)``, MRR is ``E[1 / R]`` and
    the median rank is the median of the mid-ranks ``E[R] = greater + ties / 2 + 1``. So a
    method that scores every target the same gets exactly chance, never a perfect score.

Mutual information
    :func:`infonce_mutual_information` is the InfoNCE lower bound ``log N - L`` of the
    symmetric CLIP loss ``L`` with logits ``S / tau`` on N aligned pairs, taking the ``tau``
    that gives the tightest bound (one scalar fitted on the pairs it scores: a slight optimism).
    It is at most ``log N``. :func:`gaussian_mutual_information` is ``-1/2 sum log(1 - rho^2)``
    for canonical correlations ``rho`` (exact for jointly Gaussian data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmviewer.core.data.table import check_vectors
from mmviewer.core.match.topk import DEFAULT_BLOCK_BYTES, iter_blocks, top_k


@dataclass(frozen=True)
class Ranks:
    """Rank counts of the true target for each query (see the module docstring).

    Attributes
    ----------
    greater : (n,) int64
        Targets that score strictly higher than the true one.
    ties : (n,) int64
        Other targets that score exactly the same as the true one.
    """

    greater: np.ndarray
    ties: np.ndarray

    def __len__(self) -> int:
        return len(self.greater)

    @property
    def expected(self) -> np.ndarray:
        """(n,) float64 expected rank, 1-based: ``greater + ties / 2 + 1``."""
        return self.greater + self.ties / 2.0 + 1.0


def _truth(truth: Sequence[int] | np.ndarray | None, n_queries: int, n_targets: int) -> np.ndarray:
    if truth is None:
        if n_queries != n_targets:
            raise ValueError(
                f"{n_queries} queries but {n_targets} targets: pass truth (the target index "
                "of each query's match)"
            )
        return np.arange(n_queries)
    truth = np.asarray(truth, dtype=np.int64)
    if truth.shape != (n_queries,):
        raise ValueError(f"truth must have one entry per query ({n_queries}), got {truth.shape}")
    if n_queries and (truth.min() < 0 or truth.max() >= n_targets):
        raise ValueError(f"truth indices must be in [0, {n_targets})")
    return truth


def _count(block: np.ndarray, true_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    true = block[np.arange(len(block)), true_cols][:, None]
    return (block > true).sum(axis=1), (block == true).sum(axis=1) - 1


def ranks_from_similarity(
    similarity: np.ndarray, truth: Sequence[int] | np.ndarray | None = None
) -> Ranks:
    """Rank counts from a dense (queries x targets) similarity matrix.

    Parameters
    ----------
    similarity : (nq, nt) array
    truth : (nq,) array of int, optional
        Target column of each query's match; the diagonal when omitted.
    """
    s = check_vectors(similarity, "similarity", np.float64)
    truth = _truth(truth, *s.shape)
    greater, ties = np.empty(len(s), np.int64), np.empty(len(s), np.int64)
    for rows in iter_blocks(len(s), s.shape[1]):
        greater[rows], ties[rows] = _count(s[rows], truth[rows])
    return Ranks(greater, ties)


def ranks_from_vectors(
    queries: np.ndarray,
    targets: np.ndarray,
    truth: Sequence[int] | np.ndarray | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> Ranks:
    """Rank counts for cosine (dot-product) retrieval, one block of queries at a time.

    Parameters
    ----------
    queries : (nq, d) array
    targets : (nt, d) array
    truth : (nq,) array of int, optional
        Target row of each query's match; row ``i`` when omitted.
    """
    q, t = check_vectors(queries, "queries"), check_vectors(targets, "targets")
    if q.shape[1] != t.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} dims but targets have {t.shape[1]}")
    truth = _truth(truth, len(q), len(t))
    greater, ties = np.empty(len(q), np.int64), np.empty(len(q), np.int64)
    for rows in iter_blocks(len(q), len(t), block_bytes):
        greater[rows], ties[rows] = _count(q[rows] @ t.T, truth[rows])
    return Ranks(greater, ties)


def _nonempty(ranks: Ranks) -> None:
    if len(ranks) == 0:
        raise ValueError("no queries to score")


def recall_at_k(ranks: Ranks, k: int) -> float:
    """Share of queries whose true target is in the top ``k`` (expected over tie-breaking)."""
    _nonempty(ranks)
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    hit = np.clip((int(k) - ranks.greater) / (ranks.ties + 1.0), 0.0, 1.0)
    return float(hit.mean())


def mean_reciprocal_rank(ranks: Ranks) -> float:
    """Mean of ``E[1 / rank]`` over queries (expected over tie-breaking)."""
    _nonempty(ranks)
    g, t = ranks.greater.astype(np.float64), ranks.ties.astype(np.float64)
    rr = 1.0 / (g + 1.0)
    tied = t > 0
    if tied.any():  # E[1/R] for R uniform on g+1..g+t+1 = (H(g+t+1) - H(g)) / (t+1)
        from scipy.special import digamma

        gt, tt = g[tied], t[tied]
        rr[tied] = (digamma(gt + tt + 2.0) - digamma(gt + 1.0)) / (tt + 1.0)
    return float(rr.mean())


def median_rank(ranks: Ranks) -> float:
    """Median of the expected (mid-)ranks, 1-based."""
    _nonempty(ranks)
    return float(np.median(ranks.expected))


def retrieval_scores(ranks: Ranks, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """``recall@k`` for each k, ``mrr``, ``median_rank`` and ``mean_rank`` as plain floats."""
    out = {f"recall@{k}": recall_at_k(ranks, k) for k in ks}
    out["mrr"] = mean_reciprocal_rank(ranks)
    out["median_rank"] = median_rank(ranks)
    out["mean_rank"] = float(ranks.expected.mean())
    return out


def chance_scores(n_targets: int, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """What a random ranking of ``n_targets`` candidates scores in expectation."""
    n = int(n_targets)
    out = {f"chance_recall@{k}": min(k, n) / n for k in ks}
    out["chance_mrr"] = sum(1.0 / r for r in range(1, n + 1)) / n
    out["chance_median_rank"] = (n + 1) / 2.0
    return out


def top1_accuracy(similarity: np.ndarray, truth: Sequence[int] | np.ndarray | None = None) -> float:
    """Share of queries paired with their true target by the one-to-one assignment.

    The assignment maximises total similarity (``scipy.optimize.linear_sum_assignment``), so
    it is cubic in the number of items: pass a subsample of at most a few thousand pairs.
    """
    from mmviewer.core.match.topk import assign

    s = check_vectors(similarity, "similarity", np.float64)
    truth = _truth(truth, *s.shape)
    if len(s) == 0:
        raise ValueError("no queries to score")
    rows, cols = assign(s)
    return float(np.sum(cols == truth[rows]) / len(s))  # unassigned queries count as misses


def pair_mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over pairs of the squared Euclidean distance ``||a_i - b_i||^2``.

    For unit vectors this is ``2 - 2 cos``: 0 for identical, 2 for orthogonal, 4 for opposite.
    """
    a, b = check_vectors(a, "a", np.float64), check_vectors(b, "b", np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in shape: {a.shape} vs {b.shape}")
    if len(a) == 0:
        raise ValueError("no pairs")
    return float(np.mean(np.sum((a - b) ** 2, axis=1)))


def modality_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between the centroids of two sets of unit vectors (Liang et al. 2022)."""
    a, b = check_vectors(a, "a", np.float64), check_vectors(b, "b", np.float64)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the gap needs one space; got {a.shape[1]} and {b.shape[1]} dims")
    if len(a) == 0 or len(b) == 0:
        raise ValueError("modality_gap needs at least one vector on each side")
    unit = [x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12) for x in (a, b)]
    return float(np.linalg.norm(unit[0].mean(axis=0) - unit[1].mean(axis=0)))


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def infonce_bound(similarity: np.ndarray, temperature: float) -> float:
    """``log N - L`` for the symmetric InfoNCE loss ``L`` with logits ``similarity / temperature``.

    ``similarity`` is square, with the true pairs on the diagonal.
    """
    s = check_vectors(similarity, "similarity", np.float64)
    if s.shape[0] != s.shape[1] or len(s) < 2:
        raise ValueError(f"need a square similarity matrix of at least 2 pairs, got {s.shape}")
    z = s / float(temperature)
    diag = np.diag(z)
    loss = 0.5 * (np.mean(_logsumexp(z, 1) - diag) + np.mean(_logsumexp(z, 0) - diag))
    return float(math.log(len(s)) - loss)


def infonce_mutual_information(similarity: np.ndarray) -> float:
    """InfoNCE lower bound on the mutual information (nats), tightest over the temperature.

    Searches ``tau`` in [1e-3, 10] (log scale); the result lies in ``[0, log N]``.
    """
    from scipy.optimize import minimize_scalar

    s = check_vectors(similarity, "similarity", np.float64)
    res = minimize_scalar(
        lambda lt: -infonce_bound(s, math.exp(lt)), bounds=(math.log(1e-3), math.log(10.0)),
        method="bounded", options={"xatol": 1e-3},
    )
    return float(min(max(-res.fun, 0.0), math.log(len(s))))


def gaussian_mutual_information(correlations: Sequence[float] | np.ndarray) -> float:
    """``-1/2 sum log(1 - rho^2)`` in nats (rho clipped below 1 to stay finite)."""
    rho = np.clip(np.abs(np.asarray(correlations, dtype=np.float64)), 0.0, 1.0 - 1e-12)
    return float(-0.5 * np.sum(np.log1p(-(rho**2))))


def label_codes(*label_sets: Any) -> list[np.ndarray]:
    """Integer codes for labels compared with ``==`` (shared across the given sets). Integer
    arrays are coded in numpy; other labels one by one (a million of them take 0.3 s: code
    once and pass the codes)."""
    arrays = [np.asarray(labels) for labels in label_sets]
    if all(a.dtype.kind in "iub" for a in arrays):
        _, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
        return np.split(inverse.astype(np.int64), np.cumsum([len(a) for a in arrays])[:-1])
    table: dict[Any, int] = {}
    return [
        np.array([table.setdefault(x, len(table)) for x in a.astype(object)], np.int64)
        for a in arrays
    ]


def label_precision_at_k(
    neighbours: np.ndarray, query_labels: Sequence, target_labels: Sequence, k: int
) -> float:
    """Mean share of a query's first ``k`` retrieved targets that carry the query's label.

    Parameters
    ----------
    neighbours : (nq, >=k) array of int
        Retrieved target indices, best first; -1 entries (padding) are skipped and the share is
        taken over the valid ones. Queries with no valid neighbour are left out.
    query_labels : (nq,) sequence
    target_labels : (nt,) sequence
    k : int
    """
    nb = np.asarray(neighbours, dtype=np.int64)
    if nb.ndim != 2 or nb.shape[1] < int(k) or int(k) < 1:
        raise ValueError(f"need a (n_queries, >= k) neighbour array and k >= 1, got {nb.shape}, k={k}")
    ql, tl = label_codes(query_labels, target_labels)
    if len(ql) != len(nb):
        raise ValueError(f"{len(ql)} query labels for {len(nb)} neighbour lists")
    nb = nb[:, : int(k)]
    valid = nb >= 0
    hits = (tl[np.maximum(nb, 0)] == ql[:, None]) & valid
    n_valid = valid.sum(axis=1)
    keep = n_valid > 0
    if not keep.any():
        raise ValueError("no query has any retrieved neighbour")
    return float(np.mean(hits.sum(axis=1)[keep] / n_valid[keep]))


def label_precision(
    queries: np.ndarray,
    targets: np.ndarray,
    query_labels: Sequence,
    target_labels: Sequence,
    ks: Sequence[int] = (1, 5),
    exclude_self: bool = False,
) -> dict[str, float]:
    """``label_precision@k`` for cosine retrieval (blockwise top-k; ties to the lower index).

    ``exclude_self``: queries and targets are the same items (row ``i`` of each), and item ``i``
    is never retrieved for itself.
    """
    idx, _ = top_k(queries, targets, max(ks), exclude_self=exclude_self)
    return {f"label_precision@{k}": label_precision_at_k(idx, query_labels, target_labels, k) for k in ks}


def chance_label_precision(
    query_labels: Sequence, target_labels: Sequence, exclude_self: bool = False
) -> float:
    """Expected label precision of a random ranking (any k), with the same ``exclude_self``."""
    ql, tl = label_codes(query_labels, target_labels)
    counts = np.bincount(tl, minlength=max(ql.max(initial=0), tl.max(initial=0)) + 1)
    same = counts[ql] - (1 if exclude_self else 0)
    total = len(tl) - (1 if exclude_self else 0)
    if total <= 0 or len(ql) == 0:
        raise ValueError("not enough items for a chance level")
    return float(np.mean(same / total))
