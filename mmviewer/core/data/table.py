"""The in-memory embedding table every analysis works on.

One row per item; one dense matrix per modality. Items that lack a modality have a zero row
there and ``present[m][i] == False``. Rows that are present are L2-normalised, so a dot product
is a cosine similarity. This is the hand-off point between the embedding job (or a precomputed
table) and fusion / alignment / matching / metrics / layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def l2_normalise(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Return rows scaled to unit length; all-zero rows stay zero (float32)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > eps)


def l2_normalise_inplace(x: np.ndarray, eps: float = 1e-12, block: int = 1 << 16) -> np.ndarray:
    """Scale the rows of a float32 array to unit length in place (block by block: no full-size
    temporaries); all-zero rows stay zero. Returns ``x``."""
    if x.dtype != np.float32 or not x.flags.writeable:
        raise ValueError("l2_normalise_inplace needs a writeable float32 array")
    for start in range(0, len(x), block):
        part = x[start : start + block]
        norms = np.sqrt(np.einsum("ij,ij->i", part, part))[:, None]
        np.divide(part, norms, out=part, where=norms > eps)
        part[(norms <= eps)[:, 0]] = 0
    return x


def check_vectors(x: np.ndarray, name: str, dtype: type = np.float32) -> np.ndarray:
    """Return ``x`` as a finite 2-D float array (``dtype``) or raise a ValueError naming it."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d), got shape {x.shape}")
    if x.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {x.dtype}")
    x = np.asarray(x, dtype=dtype)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


@dataclass
class EmbeddingTable:
    """Per-item embeddings for one dataset.

    Attributes
    ----------
    ids : (N,) array of str
        Item ids, unique.
    vectors : dict modality -> (N, d_m) float32
        Unit rows where the item has the modality, zero rows elsewhere.
    present : dict modality -> (N,) bool
    encoders : dict modality -> str
        The encoder id that produced each modality's vectors.
    metadata : dict column -> (N,) array
        Extra per-item columns from a manifest (e.g. ``label``), for colouring and filtering.
    """

    ids: np.ndarray
    vectors: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    encoders: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, np.ndarray] = field(default_factory=dict)
    #: Digest of the media content and encoder ids behind the vectors ("" when unknown); two
    #: tables with equal digests hold the same vectors (see ``job._assemble``).
    content_digest: str = ""

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=object)
        n = len(self.ids)
        for m, mat in self.vectors.items():
            if mat.ndim != 2 or mat.shape[0] != n:
                raise ValueError(f"{m} vectors have shape {mat.shape}, expected ({n}, d)")
            if m not in self.present:
                self.present[m] = np.linalg.norm(mat, axis=1) > 0
        self._index: dict[str, int] | None = None
        self._derived: dict = {}

    def derived(self, key, compute):
        """``compute()`` once per table and ``key``: for values derived from the vectors alone
        (e.g. the per-modality layout bases), which tables treat as immutable once built."""
        try:
            return self._derived[key]
        except KeyError:
            value = self._derived[key] = compute()
            return value

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_rows(
        cls,
        ids: Sequence[str],
        rows: Mapping[str, Mapping[str, np.ndarray]],
        encoders: Mapping[str, str] | None = None,
        metadata: Mapping[str, Sequence] | None = None,
    ) -> EmbeddingTable:
        """Build from ``rows[modality][item_id] = vector`` (items may lack modalities)."""
        ids = list(ids)
        index = {item: i for i, item in enumerate(ids)}
        vectors, present = {}, {}
        for m, by_id in rows.items():
            if not by_id:
                continue
            dim = len(next(iter(by_id.values())))
            mat = np.zeros((len(ids), dim), dtype=np.float32)
            mask = np.zeros(len(ids), dtype=bool)
            for item, vec in by_id.items():
                i = index[item]
                mat[i] = vec
                mask[i] = True
            vectors[m] = l2_normalise(mat)
            present[m] = mask & (np.linalg.norm(vectors[m], axis=1) > 0)
        meta = {k: np.asarray(v, dtype=object) for k, v in (metadata or {}).items()}
        return cls(np.asarray(ids, dtype=object), vectors, present, dict(encoders or {}), meta)

    # -- queries ------------------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.ids)

    @property
    def modalities(self) -> list[str]:
        """Modalities with at least one item, in canonical order."""
        from mmviewer.core.data.modalities import MODALITIES

        have = [m for m in MODALITIES if m in self.vectors and self.present[m].any()]
        return have + [m for m in self.vectors if m not in MODALITIES and self.present[m].any()]

    def dim(self, modality: str) -> int:
        return self.vectors[modality].shape[1]

    def index_of(self, item_id: str) -> int:
        if self._index is None:
            self._index = {str(item): i for i, item in enumerate(self.ids)}
        try:
            return self._index[item_id]
        except KeyError:
            raise KeyError(f"no item with id {item_id!r}") from None

    def paired(self, a: str, b: str) -> np.ndarray:
        """Indices of items that have both modalities ``a`` and ``b``."""
        return np.flatnonzero(self.present[a] & self.present[b])

    def subset(self, index: np.ndarray, modalities: Sequence[str] | None = None) -> EmbeddingTable:
        """The items at ``index`` (copies), with only ``modalities`` when given."""
        index = np.asarray(index)
        keep = self.vectors if modalities is None else modalities
        return EmbeddingTable(
            self.ids[index],
            {m: self.vectors[m][index] for m in keep},
            {m: self.present[m][index] for m in keep},
            {m: e for m, e in self.encoders.items() if m in keep},
            {k: v[index] for k, v in self.metadata.items()},
        )

    # -- open formats -------------------------------------------------------------------------
    def to_parquet(self, path: str | Path) -> None:
        """Write ids, metadata and one fixed-size-list vector column per modality."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = {"id": pa.array([str(i) for i in self.ids], pa.string())}
        for k, v in self.metadata.items():
            cols[k] = pa.array([None if x is None else str(x) for x in v], pa.string())
        for m, mat in self.vectors.items():
            flat = pa.array(np.ascontiguousarray(mat, dtype=np.float32).reshape(-1))
            absent = ~self.present[m]
            mask = pa.array(absent) if absent.any() else None
            cols[m] = pa.FixedSizeListArray.from_arrays(flat, mat.shape[1], mask=mask)
        table = pa.table(cols)
        table = table.replace_schema_metadata(
            {f"mmviewer.encoder.{m}": e for m, e in self.encoders.items()}
        )
        pq.write_table(table, str(path))
