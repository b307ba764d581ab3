"""From partner margins to suspicion: combined over pairs, then put on one scale."""

from __future__ import annotations

import numpy as np

#: Robust z above which an item is a suspect (Iglewicz and Hoaglin's cut for outliers of a
#: modified z-score). The scores are margins over each item's look-alikes, expressed in units of
#: the dataset's own spread of margins, so the same cut serves every dataset (see
#: benchmarks/RESULTS.md, "Suspects").
THRESHOLD = 3.5


def robust_z(x: np.ndarray) -> np.ndarray:
    """``(x - median) / (1.4826 * MAD)`` over the finite values (float32; NaN stays NaN). A
    zero MAD (more than half the values equal) falls back to the mean absolute deviation."""
    x = np.asarray(x, np.float32)
    ok = np.isfinite(x)
    if not ok.any():
        return np.full(x.shape, np.nan, np.float32)
    med = float(np.median(x[ok]))
    dev = np.abs(x[ok] - med)
    scale = 1.4826 * float(np.median(dev)) or 1.2533 * float(dev.mean()) or 1.0
    return ((x - med) / scale).astype(np.float32)


def combine_pairs(table, results: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(score, odd, rather)`` from the pairs' margins (see the package docstring).

    ``results``: ``"a:b"`` -> :class:`~.crossfit.PairMargins`."""
    names = list(results)
    n = table.n_items
    s = (np.stack([results[p].margin for p in names], axis=1) if names
         else np.empty((n, 0), np.float32))
    has = ~np.isnan(s)
    mods = sorted({m for p in names for m in results[p].pair})
    evidence = np.full((n, len(mods)), -np.inf, np.float32)
    counts = np.zeros((n, len(mods)), np.int64)
    for j, m in enumerate(mods):
        cols = [i for i, p in enumerate(names) if m in results[p].pair]
        counts[:, j] = has[:, cols].sum(axis=1)
        total = np.where(has[:, cols], s[:, cols], 0).sum(axis=1)
        evidence[:, j] = np.where(counts[:, j] > 0, total / np.maximum(counts[:, j], 1), -np.inf)
    scored = has.any(axis=1)
    raw = np.full(n, np.nan, np.float32)
    best = evidence.argmax(axis=1) if len(mods) else np.zeros(n, np.int64)
    raw[scored] = evidence[scored, best[scored]]
    odd = np.full(n, "", object)
    rather = np.full(n, -1, np.int64)
    for j, m in enumerate(mods):
        rows = np.flatnonzero(scored & (best == j) & (counts[:, j] >= 2))
        other = [i for i, p in enumerate(names) if m not in results[p].pair]
        if not len(rows) or not other:
            continue
        # every pair without m agrees better than each pair with m
        mine = [i for i, p in enumerate(names) if m in results[p].pair]
        lowest = np.where(has[rows][:, mine], s[rows][:, mine], np.inf).min(axis=1)
        agree = np.where(has[rows][:, other], s[rows][:, other], -np.inf).max(axis=1)
        named = rows[np.isfinite(agree) & (lowest > agree)]
        odd[named] = m
        rather[named] = _rather(names, results, s, m, named)
    single = scored & (has.sum(axis=1) == 1)  # one pair: the query side's best match
    for i, p in enumerate(names):
        rows = np.flatnonzero(single & has[:, i])
        rather[rows] = results[p].best_forward[rows]
    return robust_z(raw), odd, rather


def _rather(names, results, s, m: str, rows: np.ndarray) -> np.ndarray:
    """Best other item for odd modality ``m``'s media, through its most suspect pair."""
    cols = [i for i, p in enumerate(names) if m in results[p].pair]
    worst = np.take(cols, np.argmax(np.nan_to_num(s[rows][:, cols], nan=-np.inf), axis=1))
    out = np.full(len(rows), -1, np.int64)
    for i in set(worst.tolist()):
        r = results[names[i]]
        pick = worst == i
        best = r.best_forward if r.pair[0] == m else r.best_backward
        out[pick] = best[rows[pick]]
    return out
