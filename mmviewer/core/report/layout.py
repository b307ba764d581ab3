"""The report's map positions outside the app: the app's cached UMAP when it matches the table
and weights, else a fresh UMAP (saved to the store, so the app then opens on the same map) or the
instant PCA picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmviewer.core.app.jobs import LAYOUT_FILE, ids_digest, save_layout, weights_key
from mmviewer.core.store.embedding_store import EmbeddingStore

LAYOUTS = ("auto", "umap", "pca")


def cached_layout(store_root: Path | None, table, weights) -> np.ndarray | None:
    """The app's saved UMAP of this table and weights, or None."""
    if store_root is None or not Path(store_root).is_dir():
        return None
    data = EmbeddingStore(Path(store_root)).read_npz(LAYOUT_FILE)
    if (data is None or str(data.get("ids_digest")) != ids_digest(table.ids)
            or str(data.get("weights")) != weights_key(weights)):
        return None
    positions = np.asarray(data["positions"], np.float32)
    return positions if positions.shape == (table.n_items, 2) else None


def map_positions(table, weights, store_root: Path | None, kind: str = "auto",
                  random_state: int = 0) -> tuple[np.ndarray, str]:
    """``(positions (N, 2), kind)``: ``auto`` takes the cached map, else lays out with UMAP;
    ``umap`` always lays out anew; ``pca`` is the instant (linear) picture."""
    from mmviewer.core.layout.pca import fused_layout_input, fused_pca_2d

    if kind not in LAYOUTS:
        raise ValueError(f"unknown layout {kind!r}; choose from {', '.join(LAYOUTS)}")
    if not any(w > 0 for w in weights.values()):
        raise ValueError("every fusion weight is 0: give at least one modality a positive weight")
    if kind == "auto":
        cached = cached_layout(store_root, table, weights)
        if cached is not None:
            return cached, "umap (the app's saved map)"
    if kind == "pca":
        return fused_pca_2d(table, weights), "pca"
    from mmviewer.core.layout.umap import umap_layout

    positions = umap_layout(fused_layout_input(table, weights), random_state=random_state)
    if store_root is not None:
        save_layout(EmbeddingStore(Path(store_root)), table.ids, weights, positions)
    return positions, "umap"
