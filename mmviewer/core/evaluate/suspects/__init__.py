"""Which items' media disagree? A suspicion score per item, per modality pair and combined.

The misaligned pairs of a dataset (the caption of another photo, the audio clip attached to the
wrong item) are found without labels, from the stored vectors alone:

1. **Per pair, a margin over the look-alikes** (:mod:`.crossfit`): how much better the item's
   media match the media of the items they match best (their look-alikes) than each other, both
   ways, through an aligner that never saw the item's pair (k-fold cross-fitting on a bounded
   seeded pool) and that was refitted without the first pass's suspects. Where an item has many
   look-alikes (ten digit classes) its partner scores like them and the item is not blamed.
2. **Combined over pairs, with the odd modality named** (:mod:`.combine`): modality ``m``'s
   evidence is the mean margin of its pairs; the item's raw score is the largest evidence, and
   the odd modality the one that has it when each of its pairs disagrees more than every pair
   without it (with three modalities: its two pairs both score low, the third pair is fine).
   The mean rather than the smallest margin: a weakly aligned pair (emoji audio-image) then
   blurs the evidence of a strong one (audio-text) less (benchmarks/RESULTS.md, "Suspects").
   With two modalities the score is the pair's, and no modality can be named.
3. **One scale**: scores (and each pair's margins, in :attr:`Suspicion.pairs`) are robust z
   values over the dataset's items (median and MAD), so one cut, :data:`THRESHOLD` = 3.5, serves
   every dataset: above it an item disagrees with itself far more than items usually do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmviewer.core.evaluate.suspects.combine import THRESHOLD, combine_pairs, robust_z
from mmviewer.core.evaluate.suspects.crossfit import (
    check_pair,
    cross_fitted,
    expected_ticks,
    fitting_pool,
)
from mmviewer.core.runtime.cancel import check_cancelled

__all__ = ["THRESHOLD", "Suspicion", "find_suspects", "report_suspects", "pair_name"]

#: A pair needs at least this many items with both modalities to be scored by default.
MIN_PAIRED = 20
#: At most this share of the fitting pool, the first pass's most suspect items above the threshold,
#: is left out of the final fits. Small on purpose: leaving out unusual but correct items hurts the
#: fits more than a few swapped pairs do (benchmarks/RESULTS.md, "Suspects").
ROBUST_SHARE = 0.02


def pair_name(a: str, b: str) -> str:
    """``"a:b"`` with the modality names sorted (``"audio:image"``)."""
    return ":".join(sorted((a, b)))


@dataclass(frozen=True)
class Suspicion:
    """Suspicion of every item (rows in table order); see the module docstring."""

    ids: np.ndarray
    score: np.ndarray
    pairs: dict[str, np.ndarray]
    odd: np.ndarray
    rather: np.ndarray
    method: str
    n_fit: int
    folds: int
    threshold: float = THRESHOLD

    def order(self) -> np.ndarray:
        """Rows, most suspect first, NaN last (ties: table order)."""
        key = np.where(np.isnan(self.score), np.inf, -self.score.astype(np.float64))
        return np.argsort(key, kind="stable")

    def flagged(self) -> np.ndarray:
        """(n,) bool: score above :attr:`threshold`."""
        return np.nan_to_num(self.score, nan=-np.inf) > self.threshold

    def entries(self, limit: int | None = None) -> list[dict]:
        """Scored items, most suspect first: ``{"id", "score", "modality", "pairs", "rather"}``
        (``modality``: the odd one or None; ``pairs``: ``"a:b"`` -> suspicion or None;
        ``rather``: the id of the item the odd media would rather belong to, or None)."""
        rows = [r for r in self.order() if not np.isnan(self.score[r])]
        out = []
        for r in rows[:limit]:
            pairs = {p: (None if np.isnan(v[r]) else round(float(v[r]), 4)) for p, v in self.pairs.items()}
            out.append({"id": str(self.ids[r]), "score": round(float(self.score[r]), 4),
                        "modality": str(self.odd[r]) or None, "pairs": pairs,
                        "rather": None if self.rather[r] < 0 else str(self.ids[self.rather[r]])})
        return out


def default_pairs(table, min_paired: int = MIN_PAIRED) -> list[tuple[str, str]]:
    """Every pair of modalities that at least ``min_paired`` items have both of."""
    mods = table.modalities
    return [(a, b) for i, a in enumerate(mods) for b in mods[i + 1:]
            if len(table.paired(a, b)) >= min_paired]


def find_suspects(workspace, method: str = "auto", pairs=None, folds: int = 5, seed: int = 0,
                  progress=None, robust_share: float = ROBUST_SHARE) -> Suspicion:
    """Score every item of ``workspace.table`` (a :class:`~mmviewer.core.match.workspace.Workspace`).

    Parameters
    ----------
    method : {'auto', 'none', 'procrustes', 'ridge', 'cca', 'contrastive'}
        Resolved per pair by the workspace (``auto``: zero-shot where two modalities share a
        space, else CCA).
    pairs : list of (a, b), optional
        Modality pairs to score (default: every pair with at least ``MIN_PAIRED`` items).
    folds : int
        Cross-fitting folds.
    progress : callable(done, total), optional
    robust_share : float
        Robustness: a first pass over the fitting pool finds its suspects (score above the
        threshold), and at most this share of the pool, the most suspect, is left out of the
        final fits (0: fit once, on everything).

    Raises ValueError when a pair names an unknown modality or cannot be scored.
    """
    t = workspace.table
    folds = int(folds)
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    pairs = default_pairs(t) if pairs is None else [tuple(sorted(p)) for p in pairs]
    for a, b in pairs:
        for m in (a, b):
            if m not in t.modalities:
                raise ValueError(f"modality {m!r} is not in this dataset (it has {', '.join(t.modalities)})")
        if a == b:
            raise ValueError(f"a pair needs two different modalities, got {a}:{b}")
    if not pairs:
        raise ValueError("no modality pair to score: at least two modalities with "
                         f"{MIN_PAIRED} items having both are needed")
    resolved = {(a, b): workspace.resolve_method(a, b, method) for a, b in pairs}
    for (a, b), m in resolved.items():
        check_pair(t, a, b, m, folds)
    pool = fitting_pool(t, pairs, workspace.fit_max_pairs, folds, seed)
    robust = robust_share > 0 and any(m != "none" for m in resolved.values())
    total = sum(expected_ticks(t, a, b, m, pool, folds, seed, only_pool=first)
                for (a, b), m in resolved.items() for first in ((True, False) if robust else (False,)))
    done = [0]

    def tick():
        check_cancelled()
        done[0] += 1
        if progress is not None:
            progress(min(done[0], total), total)

    def run(exclude=None, only_pool=False):
        return {pair_name(a, b): cross_fitted(t, a, b, m, pool, folds, seed,
                                              None if exclude is None else exclude[(a, b)], only_pool, tick)
                for (a, b), m in resolved.items()}

    exclude = None
    if robust:
        first, first_odd, _ = combine_pairs(t, run(only_pool=True))
        worst = np.argsort(-np.nan_to_num(first[pool], nan=-np.inf), kind="stable")
        worst = pool[worst[:int(robust_share * len(pool))]]
        worst = worst[first[worst] > THRESHOLD]
        exclude = {}
        for a, b in resolved:  # a pair leaves out the suspects whose odd media it holds
            exclude[(a, b)] = np.zeros(t.n_items, bool)
            exclude[(a, b)][worst[np.isin(first_odd[worst], [a, b, ""])]] = True
    results = run(exclude)
    score, odd, rather = combine_pairs(t, results)
    if progress is not None:
        progress(total, total)
    methods = sorted(set(resolved.values()))
    shown = methods[0] if len(methods) == 1 else ", ".join(
        f"{pair_name(*p)}={m}" for p, m in resolved.items())
    return Suspicion(np.asarray(t.ids, object), score,
                     {name: robust_z(r.margin) for name, r in results.items()}, odd, rather, shown,
                     max(r.n_fit for r in results.values()), folds)


def report_suspects(workspace, method: str, limit: int) -> list[dict] | None:
    """The report's Suspects section (:mod:`mmviewer.core.report.suspects`): the flagged items,
    most suspect first, at most ``limit`` (an empty list when none is flagged); None when the
    dataset cannot be scored (fewer than two modalities, too few items with both), so the
    report leaves the section out instead of failing."""
    try:
        found = find_suspects(workspace, method)
    except ValueError:
        return None
    return found.entries(min(int(limit), int(found.flagged().sum())))
