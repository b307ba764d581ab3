"""A fitted modality pair applied to a table: scores of query rows against every target item.

Scoring item ``i``'s query media against every item's target media through an alignment used to
mean projecting *both* modalities of every item into the shared space and keeping the copies: at
a million items that is gigabytes per pair, and seconds to build before the first list. For the
affine aligners (every method but a contrastive head with a hidden layer) the shared-space target
vectors are ``z_j = v_j W + c``, so

    cos(z_j, q) = (v_j . (W q) + c . q) / |z_j|          (q a unit query in the shared space)

is one matrix-vector product over the raw target vectors plus a division by ``|z_j|``, whose N
values are computed once, blockwise and cancellably. Only those norms are kept.
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.data.table import l2_normalise
from mmviewer.core.match.topk import iter_blocks

NORM_BLOCK = 65_536


class AlignedPair:
    """``query`` media of some items against ``target`` media of all items, through ``aligner``.

    Parameters
    ----------
    table : EmbeddingTable
    query, target : str
    aligner : fitted Aligner, or None for the same modality (plain cosine)
    method : str
        The resolved method (``none``, ``cca``, ...), for labels.
    """

    def __init__(self, table, query: str, target: str, aligner, method: str,
                 target_norms: np.ndarray | None = None):
        self.table, self.query, self.target, self.method = table, query, target, method
        self.aligner = aligner
        self._query_map = None if aligner is None else aligner.affine_map("a")
        self._target_map = None if aligner is None else aligner.affine_map("b")
        if target_norms is not None and target_norms.shape != (table.n_items,):
            target_norms = None  # saved for another table: compute them again
        self._target_norms = target_norms
        self._target_projected: np.ndarray | None = None  # only for non-affine aligners

    @property
    def needs_norms(self) -> bool:
        """Scores divide by per-item target norms not computed (nor loaded) yet."""
        return not self.identity and self._target_map is not None and self._target_norms is None

    @property
    def identity(self) -> bool:
        """Both sides are the raw vectors (same modality, or method ``none``)."""
        return self.aligner is None or self.method == "none"

    def query_vectors(self, rows) -> np.ndarray:
        """(len(rows), k) unit query vectors in the shared space (zero rows where absent)."""
        rows = np.atleast_1d(np.asarray(rows, np.int64))
        x = self.table.vectors[self.query][rows]
        if self.identity:
            return x.astype(np.float32, copy=False)
        z = self.aligner.transform_a(x) if self._query_map is None else _affine(x, *self._query_map)
        z = l2_normalise(z)
        z[~self.table.present[self.query][rows]] = 0
        return z

    def scores(self, z: np.ndarray) -> np.ndarray:
        """(b, N) cosine of each shared-space query row ``z`` with every item's target media
        (0 for items lacking it; callers exclude those)."""
        z = np.atleast_2d(np.asarray(z, np.float32))
        v = self.table.vectors[self.target]
        if self.identity:
            return z @ v.T
        if self._target_map is None:
            return z @ self._projected_targets().T
        w, c = self._target_map
        raw = (z @ w.T) @ v.T + (z @ c)[:, None]  # (b, N): v_j . (W q) + c . q
        norms = self.target_norms()
        np.divide(raw, norms[None, :], out=raw, where=norms[None, :] > 0)
        raw[:, norms <= 0] = 0
        return raw

    def score_rows(self, rows) -> np.ndarray:
        """(len(rows), N) scores of items ``rows``' query media against every target."""
        return self.scores(self.query_vectors(rows))

    def target_vectors(self, rows) -> np.ndarray:
        """(len(rows), k) unit target vectors in the shared space (for a few rows: a query
        mapped into the target modality, or the line view)."""
        rows = np.atleast_1d(np.asarray(rows, np.int64))
        x = self.table.vectors[self.target][rows]
        if self.identity:
            return x.astype(np.float32, copy=False)
        z = self.aligner.transform_b(x) if self._target_map is None else _affine(x, *self._target_map)
        return l2_normalise(z)

    def target_norms(self) -> np.ndarray:
        """(N,) ``|v_j W + c|`` of every item's target media (0 where absent), computed once."""
        if self._target_norms is None:
            v, present = self.table.vectors[self.target], self.table.present[self.target]
            w, c = self._target_map
            norms = np.zeros(len(v), np.float32)
            for rows in iter_blocks(len(v), w.shape[1], NORM_BLOCK * 4 * w.shape[1]):
                z = _affine(v[rows], w, c)
                norms[rows] = np.sqrt(np.einsum("ij,ij->i", z, z))
            norms[~present] = 0
            self._target_norms = norms
        return self._target_norms

    def _projected_targets(self) -> np.ndarray:
        """Every target row through a non-affine aligner (a contrastive MLP head), kept."""
        if self._target_projected is None:
            v, present = self.table.vectors[self.target], self.table.present[self.target]
            out = None
            for rows in iter_blocks(len(v), v.shape[1], NORM_BLOCK * 4 * v.shape[1]):
                z = l2_normalise(self.aligner.transform_b(v[rows]))
                out = np.zeros((len(v), z.shape[1]), np.float32) if out is None else out
                out[rows] = z
            out[~present] = 0
            self._target_projected = out
        return self._target_projected


def _affine(x: np.ndarray, w: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32) @ w + c
