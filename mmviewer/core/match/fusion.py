"""Fused similarity across modalities, driven by per-modality weights.

The fused similarity of items ``i`` and ``j`` is the weighted mean of their per-modality cosine
similarities over the modalities *both* items have::

    s(i, j) = sum_m w_m p_im p_jm cos_m(i, j) / sum_m w_m p_im p_jm     (0 when the sum is 0)

where ``p_im`` says whether item ``i`` has modality ``m``. Two items that share no weighted
modality are *not comparable*; :func:`fused_similarity` and :meth:`FusedScorer.support` report
that so callers can leave such pairs out of neighbour lists.

A weight change re-enters here and must be cheap: :class:`FusedScorer` does the matrix products
for one query item once, after which every :meth:`FusedScorer.scores` call is ``O(N * M)``
elementwise work. :func:`fused_vectors` gives one vector per item for layouts (UMAP / PCA).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from mmviewer.core.data.table import EmbeddingTable

Weights = Mapping[str, float]


def validate_weights(weights: Weights, modalities: Iterable[str] | None = None) -> dict[str, float]:
    """Check fusion weights and return them as a plain ``{modality: float}`` dict.

    Parameters
    ----------
    weights : mapping of str to float
        One non-negative, finite weight per modality. Modalities left out weigh 0.
    modalities : iterable of str, optional
        The modalities that exist; a weight for any other modality is an error.

    Returns
    -------
    dict of str to float

    Raises
    ------
    ValueError
        When a weight is negative, NaN or infinite, not a number, or names an unknown modality.
    """
    if not isinstance(weights, Mapping):
        raise ValueError(f"weights must be a dict modality -> float, got {type(weights).__name__}")
    known = None if modalities is None else list(modalities)
    out: dict[str, float] = {}
    for m, w in weights.items():
        if known is not None and m not in known:
            raise ValueError(f"weight given for unknown modality {m!r}; the table has {known}")
        try:
            value = float(w)
        except (TypeError, ValueError):
            raise ValueError(f"weight for {m!r} must be a number, got {w!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"weight for {m!r} must be finite, got {value}")
        if value < 0:
            raise ValueError(f"weight for {m!r} must be >= 0, got {value}")
        out[str(m)] = value
    return out


def _active(table: EmbeddingTable, weights: Weights) -> dict[str, float]:
    """Validated weights, restricted to positive weights, in the table's modality order."""
    w = validate_weights(weights, table.vectors.keys())
    order = list(table.modalities) + [m for m in table.vectors if m not in table.modalities]
    return {m: w[m] for m in order if w.get(m, 0.0) > 0}


class FusedScorer:
    """Fused similarity of one query item to every item, re-weighted cheaply.

    The per-modality score vectors ``S_m = V_m @ v_m(q)`` are computed once, on construction;
    :meth:`scores` then only combines them, so dragging a weight slider costs ``O(N * M)``
    elementwise work instead of a pass over the embeddings.

    Parameters
    ----------
    table : EmbeddingTable
    query : int
        Row index of the query item in ``table``.
    cosines : dict, optional
        ``{modality: (N,)}`` cosines of the query with every item, already computed (a
        click's lists compute them for their own use).

    Attributes
    ----------
    query : int
    modalities : list of str
        Modalities the query item has (only these can contribute).
    """

    def __init__(self, table: EmbeddingTable, query: int, cosines: dict | None = None) -> None:
        n = table.n_items
        if not -n <= int(query) < n:
            raise ValueError(f"query index {query} out of range for {n} items")
        self.query = int(query) % n
        self._known = list(table.vectors)
        self._n = n
        self._cos: dict[str, np.ndarray] = {}
        self._present: dict[str, np.ndarray] = {}
        for m in table.vectors:
            if not table.present[m][self.query]:
                continue
            mask = np.asarray(table.present[m], dtype=bool)
            s = cosines[m] if cosines and m in cosines else table.vectors[m] @ table.vectors[m][self.query]
            self._cos[m] = np.where(mask, s, 0).astype(np.float32)
            self._present[m] = mask.astype(np.float32)
        self.modalities = list(self._cos)

    def _weights(self, weights: Weights) -> dict[str, float]:
        w = validate_weights(weights, self._known)
        return {m: w[m] for m in self.modalities if w.get(m, 0.0) > 0}

    def _combine(self, weights: Weights) -> tuple[np.ndarray, np.ndarray]:
        num = np.zeros(self._n, dtype=np.float32)
        den = np.zeros(self._n, dtype=np.float32)
        for m, w in self._weights(weights).items():
            num += np.float32(w) * self._cos[m]
            den += np.float32(w) * self._present[m]
        return num, den

    def scores(self, weights: Weights) -> np.ndarray:
        """Fused similarity of the query to every item.

        Parameters
        ----------
        weights : mapping of str to float

        Returns
        -------
        (N,) float32
            ``s(query, j)`` for every item ``j``; 0 where the two share no weighted modality.
        """
        num, den = self._combine(weights)
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    def support(self, weights: Weights) -> np.ndarray:
        """(N,) bool: items that share at least one positively weighted modality with the query."""
        return self._combine(weights)[1] > 0


def fused_similarity(
    table: EmbeddingTable,
    weights: Weights,
    rows: Sequence[int] | np.ndarray,
    cols: Sequence[int] | np.ndarray | None = None,
    each: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fused similarity between a block of items and (a subset of) all items.

    Parameters
    ----------
    table : EmbeddingTable
    weights : mapping of str to float
    rows : array of int
        Row indices of the query items (keep the block small: the result is dense).
    cols : array of int, optional
        Column indices of the target items; all items when omitted.
    each : dict, optional
        Receives ``{modality: (similarity, support)}`` of each weighted modality alone, the
        products the fusion was made of (a caller ranking by single modalities too needs no
        second pass).

    Returns
    -------
    similarity : (len(rows), len(cols)) float32
        ``s(i, j)`` as in the module docstring; 0 where not comparable.
    support : (len(rows), len(cols)) bool
        Whether ``i`` and ``j`` share a positively weighted modality.
    """
    active = _active(table, weights)
    rows = np.asarray(rows, dtype=np.intp)
    every = slice(None)  # all items: no gathered copy of the vectors
    cols = every if cols is None else np.asarray(cols, dtype=np.intp)
    n_cols = table.n_items if cols is every else len(cols)
    num = np.zeros((len(rows), n_cols), dtype=np.float32)
    den = np.zeros_like(num)
    for m, w in active.items():
        v, p = table.vectors[m], np.asarray(table.present[m], dtype=np.float32)
        sim, both = v[rows] @ v[cols].T, np.outer(p[rows], p[cols])
        num += np.float32(w) * sim
        den += np.float32(w) * both
        if each is not None:
            each[m] = (sim, both > 0)
    support = den > 0
    return np.divide(num, den, out=np.zeros_like(num), where=support), support


def fused_vectors(table: EmbeddingTable, weights: Weights) -> np.ndarray:
    """One vector per item whose dot products approximate the fused similarity (for layout).

    Item ``i`` gets the concatenation over positively weighted modalities of
    ``sqrt(w_m / W_i) * e_im`` with ``W_i = sum_m w_m p_im``, so every item with at least one
    weighted modality has a unit-length row, and items that have none get a zero row.

    For two items that both have every weighted modality, the dot product equals ``s(i, j)``
    exactly. When either item lacks a modality the dot product is
    ``sum_{m both} w_m cos_m / sqrt(W_i W_j)``: the numerator of ``s(i, j)`` over a denominator
    that is at least ``s``'s, i.e. the similarity is shrunk towards 0 by the share of weight the
    two items do not have in common. This is the price of one fixed vector per item; use
    :class:`FusedScorer` or :func:`fused_similarity` where the exact value matters.

    Parameters
    ----------
    table : EmbeddingTable
    weights : mapping of str to float
        Modalities with weight 0 (or left out) are dropped from the concatenation.

    Returns
    -------
    (N, sum of the weighted modalities' dims) float32

    Raises
    ------
    ValueError
        For invalid weights or when no modality has a positive weight.
    """
    scales = fused_scales(table, weights)
    if not scales:
        raise ValueError("fused_vectors needs at least one modality with a positive weight")
    blocks = [table.vectors[m] * f[:, None] for m, f in scales.items()]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float32)


def fused_scales(table: EmbeddingTable, weights: Weights,
                 present: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Per-item block factors of :func:`fused_vectors`: ``{m: sqrt(w_m p_im / W_i)}`` (N,)
    float32 for each positively weighted modality, in table order (empty when none is).

    ``present`` overrides the table's presence per modality (the map counts predicted vectors
    as present, see :mod:`mmviewer.core.layout.impute`)."""
    active = _active(table, weights)
    has = {m: np.asarray((present or {}).get(m, table.present[m]), dtype=np.float64) for m in active}
    total = np.zeros(table.n_items, dtype=np.float64)
    for m, w in active.items():
        total += w * has[m]
    out = {}
    for m, w in active.items():
        scale = np.divide(w, total, out=np.zeros_like(total), where=total > 0)
        scale *= has[m]
        out[m] = np.sqrt(scale).astype(np.float32)
    return out
