"""Per-item values of each modality pair: the partner's rank and the pair's score.

For an ordered pair (query ``q``, target ``t``) and an item ``i`` that has both:

* **score** ``s_i = q_i · t_i`` through the pair's alignment (how well the item's own two media
  agree; O(N d) for all items);
* **partner rank** ``r_i``: the 1-based rank of the item's own ``t`` media among every item's
  ``t`` media, ranked by similarity to ``q_i`` (1 = its nearest ``t`` is its own). The same
  number as :attr:`mmviewer.core.match.lists.MatchList.partner_rank`, for every item at once:
  O(N^2 d), so it is computed block by block, rows in a seeded random order (a partial result is
  an even sample), cancellably, and streamed as batches that the owner writes into
  :class:`PairValues`. Above ``EXACT_RANK_MAX`` targets (a million items would take hours, one
  core busy all along) the rank is *estimated*: how many of a seeded gallery of ``GALLERY``
  targets outscore the item's own, scaled to all targets (:attr:`PairValues.gallery` says so;
  the table marks such ranks with "≈"; a match list still gives the exact rank of its item).

Items without both modalities get NaN. No Qt here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from mmviewer.core.match.topk import block_rows
from mmviewer.core.runtime.cancel import check_cancelled

RANK_BLOCK_BYTES = 32 * 2**20
#: Up to this many targets partner ranks are exact; above, estimated from a gallery sample.
EXACT_RANK_MAX = 20_000
GALLERY = 4_096
OWN_BLOCK = 65_536  # rows per block of the own-pair scores (a few MB of shared-space vectors)


@dataclass
class PairValues:
    """Ranks and scores per ordered modality pair, filled in as batches arrive.

    ``rank[pair]`` and ``score[pair]`` are (N,) float32 with NaN where not (yet) known;
    ``todo[pair]`` counts the paired items whose rank is still to come; ``errors[pair]`` says
    why a pair has no values (e.g. too few items to align it).
    """

    n: int
    method: str = ""
    rank: dict = field(default_factory=dict)
    score: dict = field(default_factory=dict)
    #: pair -> gallery size when its ranks are estimates (absent when they are exact)
    gallery: dict = field(default_factory=dict)
    todo: dict = field(default_factory=dict)
    total: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)

    def pending(self) -> int:
        """Ranks still to compute, over every pair."""
        return int(sum(self.todo.values()))

    def progress(self) -> float:
        """Share of the ranks computed (1.0 when none are to come)."""
        total = sum(self.total.values())
        return 1.0 if total == 0 else 1.0 - self.pending() / total

    def apply(self, message) -> None:
        """Write one message of :func:`pair_values` (scores, a batch of ranks, an error)."""
        kind = message[0]
        if kind == "pairs":
            self.gallery.update(message[2] if len(message) > 2 else {})
            for pair, count in message[1].items():
                self.rank[pair] = np.full(self.n, np.nan, np.float32)
                self.score.setdefault(pair, np.full(self.n, np.nan, np.float32))
                self.todo[pair] = self.total[pair] = int(count)
        elif kind == "scores":
            for pair, values in message[1].items():
                self.score[pair] = values
        elif kind == "ranks":
            for pair, rows, ranks in message[1]:
                self.rank[pair][rows] = ranks
                self.todo[pair] = max(0, self.todo[pair] - len(rows))
        elif kind == "error":
            pair, reason = message[1], message[2]
            self.errors[pair] = reason
            self.todo[pair] = 0


def pair_values(ws, pairs, method: str, seed: int = 0, every_s: float = 0.3,
                block_bytes: int = RANK_BLOCK_BYTES):
    """Generator of messages for :meth:`PairValues.apply`: ``("pairs", {pair: n paired})``,
    ``("scores", {pair: (N,)})`` per pair (also part-filled, NaN still to come), then ``("ranks", [(pair, rows, ranks), ...])`` batches about
    every ``every_s`` seconds, and ``("error", pair, reason)`` for a pair that cannot be
    aligned. Pairs are ranked in the order given (the one the user looks at first)."""
    t = ws.table
    paired = {p: np.flatnonzero(t.present[p[0]] & t.present[p[1]]) for p in pairs}
    targets = {p: np.flatnonzero(t.present[p[1]]) for p in pairs}
    gallery = {p: GALLERY for p in pairs if len(targets[p]) > EXACT_RANK_MAX}
    yield ("pairs", {p: len(rows) for p, rows in paired.items()}, gallery)
    scorers = {}
    last = time.monotonic()
    for pair in pairs:
        check_cancelled()
        try:
            score_rows, own = pair_scorer(ws, *pair, method)  # fits the aligner on first use
        except ValueError as err:
            yield ("error", pair, str(err))
            continue
        if pair in gallery:
            scorers[pair] = _gallery_ranker(ws.pair(*pair, method), targets[pair], seed)
        else:
            scorers[pair] = score_rows
        s = np.full(t.n_items, np.nan, np.float32)
        rows = paired[pair]
        for start in range(0, len(rows), OWN_BLOCK):
            check_cancelled()
            s[rows[start:start + OWN_BLOCK]] = own(rows[start:start + OWN_BLOCK])
            if time.monotonic() - last >= every_s and start + OWN_BLOCK < len(rows):
                # NaN = not yet: a yield here also lets the runner pause the job for a click
                yield ("scores", {pair: s})
                last = time.monotonic()
        yield ("scores", {pair: s})
    batch, last = [], time.monotonic()
    for pair, score_rows in scorers.items():
        ranking = (partner_ranks(score_rows, t.present[pair[1]], paired[pair], t.n_items, seed,
                                 block_bytes) if pair not in gallery
                   else score_rows(paired[pair]))
        for rows, ranks in ranking:
            batch.append((pair, rows, ranks))
            if time.monotonic() - last >= every_s:
                yield ("ranks", batch)
                batch, last = [], time.monotonic()
    if batch:
        yield ("ranks", batch)
    return "done"


def pair_scorer(ws, query: str, target: str, method: str):
    """``(score_rows, own)`` of a pair: ``score_rows(rows)`` (b, N) similarities of items
    ``rows``' query media to every item's target media, and ``own(rows)`` (b,) to their own,
    both through the pair's alignment (:class:`~mmviewer.core.match.pair.AlignedPair`)."""
    p = ws.pair(query, target, method)
    return p.score_rows, lambda rows: np.einsum("ij,ij->i", p.query_vectors(rows), p.target_vectors(rows))


def _gallery_ranker(pair, targets: np.ndarray, seed: int, block: int = 4_096):
    """A generator function: estimated partner ranks of the given rows, block by block, from
    a seeded gallery of ``GALLERY`` of the ``targets`` compared in the pair's shared space.
    Blocks of ~0.2 s: the job pauses for a click only between them (16k rows held it ~1 s)."""
    rng = np.random.default_rng(seed)
    gallery = np.sort(rng.choice(targets, min(GALLERY, len(targets)), replace=False))
    zg = pair.target_vectors(gallery)
    scale = (len(targets) - 1) / len(gallery)

    def ranks(rows: np.ndarray):
        order = rng.permutation(np.asarray(rows, np.int64))
        for start in range(0, len(order), block):
            check_cancelled()
            part = order[start : start + block]
            zq = pair.query_vectors(part)
            own = np.einsum("ij,ij->i", zq, pair.target_vectors(part))
            above = np.count_nonzero(zq @ zg.T > own[:, None], axis=1)
            yield part, np.rint(1 + above * scale).astype(np.float32)

    return ranks


def partner_ranks(score_rows, target_present: np.ndarray, rows: np.ndarray, n: int,
                  seed: int = 0, block_bytes: int = RANK_BLOCK_BYTES):
    """Yield ``(rows, ranks)`` blocks: for each of ``rows`` (items with both modalities), the
    1-based rank of its own target among the present targets by ``score_rows`` (ties count
    in its favour, as in :func:`mmviewer.core.match.lists.ranked`)."""
    order = np.random.default_rng(seed).permutation(np.asarray(rows, np.int64))
    absent = np.flatnonzero(~np.asarray(target_present, bool))
    step = block_rows(n, block_bytes)
    for start in range(0, len(order), step):
        check_cancelled()
        block = order[start:start + step]
        s = score_rows(block)
        if len(absent):
            s[:, absent] = -np.inf
        own = s[np.arange(len(block)), block]
        ranks = np.count_nonzero(s > own[:, None], axis=1) + 1
        yield block, ranks.astype(np.float32)
