"""One modality pair's partner percentiles, cross-fitted and robust to the suspects themselves.

For a pair (a, b) and an item ``i`` with both media, the *forward percentile* is the share of a
gallery of other items' ``b`` media that match ``i``'s ``a`` media better than ``i``'s own ``b``
does (0: its own partner is the best match; about 0.5: its partner is no better than a random
item's), and the *backward percentile* the same from ``b`` to ``a``. Both are computed through
an aligner that never saw the item's pair:

* **cross-fitted**: the paired items are dealt into ``folds`` folds; the aligner that scores a
  fold is fitted on the other folds only (on a seeded pool of at most ``fit_max_pairs``
  training pairs per fold, so a million items cost no more to fit than fifty thousand; items
  outside the pool were seen by no aligner and are scored by their fold's);
* **robust**: a first pass scores the pool, the most suspect ``robust_share`` of it is dropped
  and every fold is fitted once more without them (a swapped pair would otherwise teach the
  aligner its own mistake).

Percentiles are measured against a gallery: every item with the target modality up to
``GALLERY_EXACT`` of them, a seeded sample of ``GALLERY`` above (so scoring a million items is
O(N * GALLERY * d), block by block, cancellably). The ``NEIGHBOURS`` best gallery matches of each
direction are kept as the item's look-alikes, the best one as the item the media "would rather"
belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmviewer.core.align.registry import make_aligner, sample_rows
from mmviewer.core.match.pair import AlignedPair
from mmviewer.core.match.topk import block_rows, top_k_rows
from mmviewer.core.runtime.cancel import check_cancelled

#: Up to this many targets the gallery is all of them; above, a seeded sample of GALLERY.
GALLERY_EXACT = 20_000
GALLERY = 8_192
#: Look-alikes kept per direction (their partner percentiles are the item's neighbourhood).
NEIGHBOURS = 10
#: Share of the fitting pool dropped as suspects before the second fit.
ROBUST_SHARE = 0.15
BLOCK_BYTES = 16 * 2**20


@dataclass
class PairPercentiles:
    """Cross-fitted values of one pair for every item (rows of the table).

    ``forward``/``backward``: (N,) float32 partner percentiles, NaN where the item lacks a or b;
    ``neighbours``: (N, 2 * NEIGHBOURS) int64 look-alike rows (-1 padded);
    ``best_forward``/``best_backward``: (N,) int64, the best other item's row (-1: none).
    """

    pair: tuple[str, str]
    method: str
    n_fit: int
    forward: np.ndarray
    backward: np.ndarray
    neighbours: np.ndarray
    best_forward: np.ndarray
    best_backward: np.ndarray

    @property
    def percentile(self) -> np.ndarray:
        """(N,) mean of both directions: how badly the item's own media match each other."""
        return (self.forward + self.backward) / 2


def deal_folds(n: int, folds: int, seed: int) -> np.ndarray:
    """(n,) fold of each of ``n`` items: balanced, seeded."""
    return (np.random.default_rng(seed).permutation(n) % folds).astype(np.int64)


def gallery_rows(present: np.ndarray, seed: int) -> np.ndarray:
    rows = np.flatnonzero(present)
    return rows if len(rows) <= GALLERY_EXACT else sample_rows(rows, GALLERY, seed)


def _plan(ws, a: str, b: str, method: str, folds: int, seed: int):
    """``(paired rows, their folds, in the fitting pool, gallery of a, gallery of b)``."""
    t = ws.table
    paired = t.paired(a, b)
    limit = int(ws.fit_max_pairs * folds / (folds - 1))
    in_pool = (np.ones(len(paired), bool) if method == "none"
               else np.isin(paired, sample_rows(paired, limit, seed)))
    fold = np.empty(len(paired), np.int64)  # balanced within the pool: no fit over the limit
    fold[in_pool] = deal_folds(int(in_pool.sum()), folds, seed)
    fold[~in_pool] = deal_folds(int((~in_pool).sum()), folds, seed + 1)
    return paired, fold, in_pool, gallery_rows(t.present[a], seed), gallery_rows(t.present[b], seed + 1)


def expected_ticks(ws, a: str, b: str, method: str, folds: int, seed: int = 0,
                   robust_share: float = ROBUST_SHARE) -> int:
    """How many times :func:`cross_fitted` calls ``tick`` (fits and scored blocks)."""
    paired, fold, in_pool, gal_a, gal_b = _plan(ws, a, b, method, folds, seed)
    step = block_rows(max(len(gal_a), len(gal_b)), BLOCK_BYTES)

    def blocks(mask):
        return int(sum(-(-int(n) // step) for n in np.bincount(fold[mask], minlength=folds)))

    if method == "none":
        return -(-len(paired) // step)
    first = folds + blocks(in_pool) if robust_share > 0 else 0
    return first + folds + blocks(np.ones(len(paired), bool))


def cross_fitted(ws, a: str, b: str, method: str, folds: int = 5, seed: int = 0,
                 robust_share: float = ROBUST_SHARE, tick=None) -> PairPercentiles:
    """Partner percentiles of the pair ``(a, b)`` (``method`` already resolved; see the module
    docstring). ``tick()`` is called after each fit and each scored block. ValueError when too
    few items have both modalities to cross-fit."""
    t = ws.table
    tick = tick or (lambda: None)
    paired = t.paired(a, b)  # for the checks; _plan deals the folds
    folds = int(folds)
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    if method != "none" and len(paired) < 2 * folds:
        raise ValueError(f"only {len(paired)} items have both {a} and {b}; at least {2 * folds} "
                         f"are needed to cross-fit {folds} folds")
    if method == "none" and t.dim(a) != t.dim(b):
        raise ValueError(f"{a} ({t.dim(a)}-d) and {b} ({t.dim(b)}-d) do not share a space; "
                         "choose a learned alignment method")
    paired, fold, in_pool, gal_a, gal_b = _plan(ws, a, b, method, folds, seed)
    out = PairPercentiles((a, b), method, 0, *(np.full(t.n_items, np.nan, np.float32) for _ in range(2)),
                          np.full((t.n_items, 2 * NEIGHBOURS), -1, np.int64),
                          np.full(t.n_items, -1, np.int64), np.full(t.n_items, -1, np.int64))
    if method == "none":
        scorer = AlignedPair(t, a, b, None, method)
        _score(scorer, paired, gal_a, gal_b, out, tick)
        return out
    dropped = np.zeros(len(paired), bool)
    passes = 2 if robust_share > 0 else 1
    for attempt in range(passes):
        scorers, n_fit = [], 0
        for f in range(folds):
            train = paired[in_pool & ~dropped & (fold != f)]
            params = {"random_state": seed} if method == "contrastive" else {}
            model = make_aligner(method, **params).fit(t.vectors[a][train], t.vectors[b][train])
            scorers.append(AlignedPair(t, a, b, model, method))
            n_fit = max(n_fit, len(train))
            tick()
        last = attempt == passes - 1
        for f in range(folds):
            rows = paired[(fold == f) & (True if last else in_pool)]
            _score(scorers[f], rows, gal_a, gal_b, out, tick)
        out.n_fit = n_fit
        if not last:
            pool = np.flatnonzero(in_pool)
            u = out.percentile[paired[pool]]
            n_drop = int(robust_share * len(pool))
            if n_drop:
                dropped[pool[np.argsort(-u, kind="stable")[:n_drop]]] = True
    return out


def _score(scorer: AlignedPair, rows: np.ndarray, gal_a: np.ndarray, gal_b: np.ndarray,
           out: PairPercentiles, tick) -> None:
    """Fill ``out`` for ``rows`` (both directions), block by block."""
    zb = scorer.target_vectors(gal_b)
    za = scorer.query_vectors(gal_a)
    k = NEIGHBOURS
    step = block_rows(max(len(gal_a), len(gal_b)), BLOCK_BYTES)
    for start in range(0, len(rows), step):
        check_cancelled()
        part = rows[start:start + step]
        qa, qb = scorer.query_vectors(part), scorer.target_vectors(part)
        own = np.einsum("ij,ij->i", qa, qb)
        for q, gallery, g, pct, best, cols in ((qa, gal_b, zb, out.forward, out.best_forward, slice(0, k)),
                                              (qb, gal_a, za, out.backward, out.best_backward, slice(k, 2 * k))):
            s = q @ g.T
            at = np.searchsorted(gallery, part)
            self_in = (at < len(gallery)) & (gallery[np.minimum(at, len(gallery) - 1)] == part)
            s[np.flatnonzero(self_in), at[self_in]] = -np.inf
            above = np.count_nonzero(s > own[:, None], axis=1)
            ties = np.count_nonzero(s == own[:, None], axis=1)
            pct[part] = (above + 0.5 * ties) / np.maximum(len(gallery) - self_in, 1)
            idx, _ = top_k_rows(s, k)
            found = np.where(idx >= 0, gallery[np.maximum(idx, 0)], -1)
            out.neighbours[part, cols] = found
            best[part] = found[:, 0]
        tick()
