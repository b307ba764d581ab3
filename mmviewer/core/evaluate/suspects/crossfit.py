"""One modality pair's partner margins, cross-fitted and robust to the suspects themselves.

For a pair (a, b) and an item ``i`` with both media, the *forward margin* is how much better
``i``'s ``a`` media match their ``NEIGHBOURS`` best other items' ``b`` media (its look-alikes)
than its own ``b`` media: the mean cosine of those top matches minus the cosine with its own
partner, in the pair's shared space. About 0 or below when the partner is as good as the
look-alikes (a correct pair, also where an item has many look-alikes, e.g. ten digit classes);
large when the look-alikes outscore it (a caption of another image). The *backward margin* is the
same from ``b`` to ``a``. Both are computed through an aligner that never saw the item's pair:

* **cross-fitted**: the paired items are dealt into ``folds`` folds; the aligner that scores a
  fold is fitted on the other folds only (on a seeded pool of at most ``fit_max_pairs``
  training pairs per fold, so a million items cost no more to fit than fifty thousand; items
  outside the pool were seen by no aligner and are scored by their fold's);
* **robust**: the caller (:func:`~mmviewer.core.evaluate.suspects.find_suspects`) scores the
  pool first and fits again without the rows it found suspect (``exclude``).

Look-alikes are sought in a gallery: every item with the target modality up to
``GALLERY_EXACT`` of them, a seeded sample of ``GALLERY`` above (so scoring a million items is
O(N * GALLERY * d), block by block, cancellably). The best one is the item the media "would
rather" belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmviewer.core.align.registry import make_aligner, sample_rows
from mmviewer.core.match.pair import AlignedPair
from mmviewer.core.match.topk import block_rows
from mmviewer.core.runtime.cancel import check_cancelled

#: Up to this many targets the gallery is all of them; above, a seeded sample of GALLERY.
GALLERY_EXACT = 20_000
GALLERY = 4_096
#: Look-alikes per direction: the partner is compared with the mean of their scores.
NEIGHBOURS = 10
BLOCK_BYTES = 16 * 2**20


@dataclass
class PairMargins:
    """Cross-fitted values of one pair for every item (rows of the table).

    ``forward``/``backward``: (N,) float32 margins, NaN where the item lacks a or b;
    ``best_forward``/``best_backward``: (N,) int64, the best other item's row (-1: none).
    """

    pair: tuple[str, str]
    method: str
    n_fit: int
    forward: np.ndarray
    backward: np.ndarray
    best_forward: np.ndarray
    best_backward: np.ndarray

    @property
    def margin(self) -> np.ndarray:
        """(N,) mean of both directions: how much worse the item's own media match each other
        than they match their look-alikes' (cosine units)."""
        return (self.forward + self.backward) / 2


def deal_folds(n: int, folds: int, seed: int) -> np.ndarray:
    """(n,) fold of each of ``n`` items: balanced, seeded."""
    return (np.random.default_rng(seed).permutation(n) % folds).astype(np.int64)


def gallery_rows(present: np.ndarray, seed: int) -> np.ndarray:
    rows = np.flatnonzero(present)
    return rows if len(rows) <= GALLERY_EXACT else sample_rows(rows, GALLERY, seed)


def fitting_pool(table, pairs, fit_max_pairs: int, folds: int, seed: int) -> np.ndarray:
    """Sorted rows every pair's aligners may be fitted on: a seeded sample, of the items with
    the media of at least one pair, small enough that each fold's fit (all folds but one) has
    at most ``fit_max_pairs`` pairs. Shared by the pairs, so a first pass over it can combine
    them."""
    candidates = np.zeros(table.n_items, bool)
    for a, b in pairs:
        candidates |= table.present[a] & table.present[b]
    return sample_rows(np.flatnonzero(candidates), int(fit_max_pairs * folds / (folds - 1)), seed)


def _plan(table, a: str, b: str, pool: np.ndarray, folds: int, seed: int):
    """``(paired rows, their folds, in the pool, gallery of a, gallery of b)``."""
    paired = table.paired(a, b)
    in_pool = np.isin(paired, pool)
    fold = np.empty(len(paired), np.int64)  # balanced within the pool: no fit over the limit
    fold[in_pool] = deal_folds(int(in_pool.sum()), folds, seed)
    fold[~in_pool] = deal_folds(int((~in_pool).sum()), folds, seed + 1)
    return paired, fold, in_pool, gallery_rows(table.present[a], seed), gallery_rows(table.present[b], seed + 1)


def expected_ticks(table, a: str, b: str, method: str, pool: np.ndarray, folds: int,
                   seed: int = 0, only_pool: bool = False) -> int:
    """How many times :func:`cross_fitted` calls ``tick`` (fits and scored blocks)."""
    paired, fold, in_pool, gal_a, gal_b = _plan(table, a, b, pool, folds, seed)
    step = block_rows(max(len(gal_a), len(gal_b)), BLOCK_BYTES)
    scored = in_pool if only_pool else np.ones(len(paired), bool)
    if method == "none":
        return -(-int(scored.sum()) // step)
    return folds + int(sum(-(-int(n) // step) for n in np.bincount(fold[scored], minlength=folds)))


def check_pair(table, a: str, b: str, method: str, folds: int) -> None:
    """ValueError saying why the pair cannot be cross-fitted, if it cannot."""
    n_paired = len(table.paired(a, b))
    if method != "none" and n_paired < 2 * folds:
        raise ValueError(f"only {n_paired} items have both {a} and {b}; at least {2 * folds} "
                         f"are needed to cross-fit {folds} folds")
    if method == "none" and table.dim(a) != table.dim(b):
        raise ValueError(f"{a} ({table.dim(a)}-d) and {b} ({table.dim(b)}-d) do not share a space; "
                         "choose a learned alignment method")


def cross_fitted(table, a: str, b: str, method: str, pool: np.ndarray, folds: int = 5,
                 seed: int = 0, exclude: np.ndarray | None = None, only_pool: bool = False,
                 tick=None) -> PairMargins:
    """Partner margins of the pair ``(a, b)`` (``method`` already resolved; see the module
    docstring): each fold's aligner is fitted on the ``pool`` rows of the other folds, less the
    rows ``exclude`` (N,) marks; every paired item is scored (only the pool's with
    ``only_pool``). ``tick()`` is called after each fit and each scored block."""
    folds = int(folds)
    check_pair(table, a, b, method, folds)
    tick = tick or (lambda: None)
    paired, fold, in_pool, gal_a, gal_b = _plan(table, a, b, pool, folds, seed)
    n = table.n_items
    out = PairMargins((a, b), method, 0, *(np.full(n, np.nan, np.float32) for _ in range(2)),
                      *(np.full(n, -1, np.int64) for _ in range(2)))
    scored = in_pool if only_pool else np.ones(len(paired), bool)
    if method == "none":
        _score(AlignedPair(table, a, b, None, method), paired[scored], gal_a, gal_b, out, tick)
        return out
    usable = in_pool if exclude is None else in_pool & ~np.asarray(exclude, bool)[paired]
    scorers = []
    for f in range(folds):
        train = paired[usable & (fold != f)]
        params = {"random_state": seed} if method == "contrastive" else {}
        model = make_aligner(method, **params).fit(table.vectors[a][train], table.vectors[b][train])
        scorers.append(AlignedPair(table, a, b, model, method))
        out.n_fit = max(out.n_fit, len(train))
        tick()
    for f in range(folds):
        _score(scorers[f], paired[scored & (fold == f)], gal_a, gal_b, out, tick)
    return out


def _score(scorer: AlignedPair, rows: np.ndarray, gal_a: np.ndarray, gal_b: np.ndarray,
           out: PairMargins, tick) -> None:
    """Fill ``out`` for ``rows`` (both directions), block by block."""
    zb = scorer.target_vectors(gal_b)
    za = scorer.query_vectors(gal_a)
    step = block_rows(max(len(gal_a), len(gal_b)), BLOCK_BYTES)
    for start in range(0, len(rows), step):
        check_cancelled()
        part = rows[start:start + step]
        qa, qb = scorer.query_vectors(part), scorer.target_vectors(part)
        own = np.einsum("ij,ij->i", qa, qb)
        for q, gallery, g, margin, best in ((qa, gal_b, zb, out.forward, out.best_forward),
                                            (qb, gal_a, za, out.backward, out.best_backward)):
            s = q @ g.T
            at = np.searchsorted(gallery, part)
            self_in = (at < len(gallery)) & (gallery[np.minimum(at, len(gallery) - 1)] == part)
            s[np.flatnonzero(self_in), at[self_in]] = -np.inf
            k = min(NEIGHBOURS, s.shape[1] - 1)  # the item itself is masked out
            if k < 1:
                continue  # a gallery of the item alone: no look-alike to compare with
            top = np.partition(s, s.shape[1] - k, axis=1)[:, s.shape[1] - k:]  # (b, k), unordered
            margin[part] = top.mean(axis=1) - own
            best[part] = gallery[s.argmax(axis=1)]
        tick()
