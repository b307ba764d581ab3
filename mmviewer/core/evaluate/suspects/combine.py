"""From partner percentiles to suspicion: relative to the look-alikes, combined over pairs."""

from __future__ import annotations

import numpy as np

from mmviewer.core.runtime.cancel import check_cancelled

#: Score above which an item is a suspect: its media match each other worse than its
#: look-alikes' media do by this share of all items (percentile units, so the same cut serves
#: every dataset; see benchmarks/RESULTS.md, "Suspects").
THRESHOLD = 0.25
_CHUNK = 65_536


def relative_to_neighbours(result) -> np.ndarray:
    """(N,) float32: the item's partner percentile minus the median percentile of its
    look-alikes (:attr:`PairPercentiles.neighbours`); NaN where the item lacks the pair. Where
    no look-alike has the pair, the median over all items stands in."""
    u = result.percentile.astype(np.float32)
    out = np.full(len(u), np.nan, np.float32)
    known = np.flatnonzero(~np.isnan(u))
    if not len(known):
        return out
    fallback = float(np.median(u[known]))
    padded = np.append(u, np.float32(np.nan))  # index -1 -> NaN
    for start in range(0, len(known), _CHUNK):
        check_cancelled()
        rows = known[start:start + _CHUNK]
        nbr = padded[result.neighbours[rows]]
        have = ~np.isnan(nbr)
        med = np.full(len(rows), fallback, np.float32)
        some = have.any(axis=1)
        if some.any():
            med[some] = np.nanmedian(nbr[some], axis=1)
        out[rows] = u[rows] - med
    return out


def combine_pairs(table, results: dict, suspicion: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(score, odd, rather)`` over the pairs (see the package docstring).

    ``results``: ``"a:b"`` -> :class:`PairPercentiles`; ``suspicion``: ``"a:b"`` -> (N,)."""
    names = list(suspicion)
    n = table.n_items
    s = np.stack([suspicion[p] for p in names], axis=1) if names else np.empty((n, 0), np.float32)
    has = ~np.isnan(s)
    mods = sorted({m for p in names for m in results[p].pair})
    evidence = np.full((n, len(mods)), np.nan, np.float32)
    counts = np.zeros((n, len(mods)), np.int64)
    for j, m in enumerate(mods):
        cols = [i for i, p in enumerate(names) if m in results[p].pair]
        part = np.where(has[:, cols], s[:, cols], np.inf)
        low = part.min(axis=1)
        counts[:, j] = has[:, cols].sum(axis=1)
        evidence[:, j] = np.where(np.isfinite(low), low, np.nan)
    scored = has.any(axis=1)
    score = np.full(n, np.nan, np.float32)
    best = np.zeros(n, np.int64)
    if len(mods):
        filled = np.where(np.isnan(evidence), -np.inf, evidence)
        best = filled.argmax(axis=1)
        score[scored] = filled[scored, best[scored]]
    odd = np.full(n, "", object)
    rather = np.full(n, -1, np.int64)
    for j, m in enumerate(mods):
        rows = np.flatnonzero(scored & (best == j) & (counts[:, j] >= 2))
        if not len(rows):
            continue
        other = [i for i, p in enumerate(names) if m not in results[p].pair]
        # every pair without m agrees better than each pair with m
        agree = (np.where(has[rows][:, other], s[rows][:, other], -np.inf).max(axis=1)
                 if other else np.full(len(rows), np.inf))
        named = rows[score[rows] > np.where(np.isneginf(agree), np.inf, agree)]
        odd[named] = m
        rather[named] = _rather(names, results, s, m, named)
    single = scored & (has.sum(axis=1) == 1)  # one pair: the query side's best match
    for i, p in enumerate(names):
        rows = np.flatnonzero(single & has[:, i])
        rather[rows] = results[p].best_forward[rows]
    return score, odd, rather


def _rather(names, results, s, m: str, rows: np.ndarray) -> np.ndarray:
    """Best other item for odd modality ``m``'s media, through its most suspect pair."""
    cols = [i for i, p in enumerate(names) if m in results[p].pair]
    worst = np.take(cols, np.nanargmax(s[rows][:, cols], axis=1))
    out = np.full(len(rows), -1, np.int64)
    for i in set(worst.tolist()):
        r = results[names[i]]
        pick = worst == i
        best = r.best_forward if r.pair[0] == m else r.best_backward
        out[pick] = best[rows[pick]]
    return out
