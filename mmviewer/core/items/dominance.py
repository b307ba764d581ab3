"""Which modality drives the map: each modality's share in the fused neighbour graph.

The map is UMAP of the fused layout input (:func:`mmviewer.core.layout.pca.fused_layout_input`),
so an item's map neighbours are its nearest neighbours there. For a seeded sample of items we
ask, per modality ``m``: of the ``k`` fused neighbours, how many would ``m`` alone also give
(its ``k`` nearest by ``m``'s cosine, among items that have ``m``)? A share near 1 means the
map is in effect ``m``'s map; chance is about ``k / N``. When one modality's share is far above
the others', :func:`modality_shares` names it, so the app can offer to down-weight it (e.g. a
caption column with few distinct strings that pulls identical captions together).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmviewer.core.match.topk import iter_blocks, top_k_rows

SAMPLE = 2000
K = 15
#: A modality "drives" the map when its share is at least this, and this many times the next.
DOMINANT_SHARE = 0.5
DOMINANT_RATIO = 2.0


@dataclass
class Shares:
    """Per-modality share of the fused neighbours (mean over the sampled items that have it)."""

    shares: dict[str, float]
    k: int
    sampled: int
    chance: float
    weights: dict[str, float] = field(default_factory=dict)
    dominant: str | None = None

    def describe(self) -> str:
        parts = ", ".join(f"{m} {100 * s:.0f}%" for m, s in self.shares.items())
        text = (f"Of each item's {self.k} map neighbours, the share each modality alone also "
                f"gives: {parts} (chance {100 * self.chance:.1f}%, {self.sampled:,} items sampled).")
        if self.dominant:
            text += f" {self.dominant.capitalize()} drives the map."
        return text


def _fused_neighbours(x: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """(len(rows), k) Euclidean nearest neighbours of ``x[rows]`` in ``x``, itself excluded."""
    out = np.empty((len(rows), k), np.int64)
    half_sq = 0.5 * np.einsum("ij,ij->i", x, x)
    for block in iter_blocks(len(rows), len(x)):
        s = x[rows[block]] @ x.T - half_sq[None, :]  # argmax of x.y - |y|^2/2: the nearest
        s[np.arange(len(s)), rows[block]] = -np.inf
        out[block], _ = top_k_rows(s, k)
    return out


def _shared(v: np.ndarray, present: np.ndarray, rows: np.ndarray, fused: np.ndarray, k: int) -> np.ndarray:
    """Per row: how many of its ``fused`` neighbours are among its ``k`` nearest by ``v`` alone
    (cosine over the items that have the modality; ties at the k-th place count, so a caption
    shared by 30 items does not look arbitrary)."""
    out = np.zeros(len(rows), np.float64)
    for block in iter_blocks(len(rows), len(v)):
        r = rows[block]
        s = v[r] @ v.T
        s[:, ~present] = -np.inf
        s[np.arange(len(r)), r] = -np.inf
        kth = -np.partition(-s, k - 1, axis=1)[:, k - 1]
        nb = fused[block]
        hit = (np.take_along_axis(s, np.maximum(nb, 0), axis=1) >= kth[:, None] - 1e-6) & (nb >= 0)
        out[block] = hit.sum(axis=1)
    return out


def modality_shares(table, weights, k: int = K, sample: int = SAMPLE, random_state: int = 0,
                    layout_input: np.ndarray | None = None) -> Shares:
    """:class:`Shares` of the map for ``weights`` (see the module docstring)."""
    from mmviewer.core.layout.pca import fused_layout_input

    n = table.n_items
    mods = [m for m in table.modalities if weights.get(m, 0) > 0]
    k = max(1, min(k, n - 1))
    if n < 3 or not mods:
        return Shares({}, k, 0, 0.0, dict(weights))
    x = layout_input if layout_input is not None else fused_layout_input(table, weights)
    x = np.asarray(x, np.float32)
    rng = np.random.default_rng(random_state)
    rows = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    fused = _fused_neighbours(x, rows, k)
    shares = {}
    for m in table.modalities:
        present = np.asarray(table.present[m], bool)
        mine = present[rows]
        if not mine.any() or present.sum() <= k:
            continue
        common = _shared(table.vectors[m], present, rows[mine], fused[mine], k)
        shares[m] = float(common.mean()) / k
    result = Shares(shares, k, len(rows), k / max(n - 1, 1), dict(weights))
    weighted = sorted(((s, m) for m, s in shares.items() if m in mods), reverse=True)
    if len(weighted) >= 2:
        (top, name), (second, _) = weighted[0], weighted[1]
        if top >= DOMINANT_SHARE and top >= DOMINANT_RATIO * max(second, 1e-9):
            result.dominant = name
    return result
