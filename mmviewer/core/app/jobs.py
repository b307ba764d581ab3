"""The jobs the app runs off the UI thread: plain functions and generators, no Qt.

The :class:`~mmviewer.core.app.model.AppModel` runs each on its job runner; tests
and benchmarks call them directly. UMAP itself runs in the :class:`LayoutService` child process.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from mmviewer.core.app.state import DEFAULT_LAYOUT
from mmviewer.core.data.model import PRECOMPUTED_SUFFIXES, MediaRef
from mmviewer.core.embed.options import EmbedOptions, choose_encoders, embedding_job, open_path
from mmviewer.core.layout.service import LayoutService
from mmviewer.core.match.workspace import Workspace
from mmviewer.core.store.embedding_store import EmbeddingStore

LAYOUT_FILE = "layout.npz"
#: Jobs that fill in figures ahead of need share one lane of the runner (one at a time, the
#: lowest priority first), leaving the other core to UMAP and to what the user clicked. Metrics
#: fit the aligners themselves, so they go first; the warm-up then adds only the target norms a
#: click needs (at 1M items the norms alone are ~5 s). A niceness of 5 on the UMAP child was
#: tried: metrics 71 -> 64 s, the map 87 -> 136 s.
FIGURES_PRIORITY = {"metrics": 0, "warm-up": 1, "suspects": 2, "item-values": 3, "map-drivers": 4}
# A warm re-layout starts from the current map, so it needs few epochs and a smaller fit sample
# (the other rows are placed by their neighbours): ~0.13-0.18 of a cold UMAP at 100k items.
WARM_EPOCHS = 25
WARM_MAX_FIT = 30_000


def figures_lane(slot: str) -> dict:
    """``submit`` keywords that put the job of ``slot`` in the figures lane."""
    return {"lane": "figures", "priority": FIGURES_PRIORITY[slot]}


def import_numerics() -> None:
    """Import what the first map and the first fits use (see AppModel.warm_imports)."""
    import pyarrow.parquet  # noqa: F401
    import scipy.linalg  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.utils.extmath  # noqa: F401


def ids_digest(ids) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=12)
    for item in ids:
        h.update(str(item).encode())
        h.update(b"\0")
    return h.hexdigest()


def weights_key(weights, params=DEFAULT_LAYOUT) -> str:
    key = ",".join(f"{m}={w:.6g}" for m, w in sorted(weights.items()))
    return key if tuple(params) == DEFAULT_LAYOUT else f"{key};{params[0]},{params[1]},{params[2]:g}"


def save_layout(store: EmbeddingStore, ids, weights, positions, params=DEFAULT_LAYOUT) -> None:
    try:
        store.write_npz(LAYOUT_FILE, {"ids_digest": np.array(ids_digest(ids)),
                                      "weights": np.array(weights_key(weights, params)),
                                      "positions": np.asarray(positions, np.float32)})
    except OSError:
        pass  # only a cache: the next open lays out again


def load_layout(store: EmbeddingStore | None, table, weights, params=DEFAULT_LAYOUT) -> np.ndarray | None:
    """The map :func:`save_layout` kept for this table, weights and parameters, or None."""
    data = store.read_npz(LAYOUT_FILE) if store is not None else None
    if (data is None or str(data.get("ids_digest")) != ids_digest(table.ids)
            or str(data.get("weights")) != weights_key(weights, params)):
        return None
    positions = np.asarray(data["positions"], np.float32)
    return positions if positions.shape == (table.n_items, 2) else None


def embed_job(path: Path, options: EmbedOptions, cancel: threading.Event):
    from mmviewer.core.store.embedding_store import store_dir_for
    from mmviewer.core.store.snapshot import load_snapshot, save_snapshot

    store_root = None
    shown_digest = None
    if options.use_store and path.suffix.lower() not in PRECOMPUTED_SUFFIXES:
        store_root = store_dir_for(path if path.is_dir() else path.parent)
        snapshot = load_snapshot(store_root, options.identity(), path)
        if snapshot is not None:
            shown_digest = snapshot[1].content_digest
            yield ("snapshot", *snapshot)
    dataset = open_path(path, options)
    yield ("opened", dataset)
    encoders, notices = ({}, []) if dataset.precomputed is not None else choose_encoders(options)
    result = yield from embedding_job(dataset, options, encoders, cancel=cancel)
    table = result.table
    if (store_root is not None and dataset.precomputed is None and not result.cancelled
            and table.n_items and table.content_digest != shown_digest):
        try:
            save_snapshot(store_root, dataset, table, options.identity())
        except OSError as err:
            result.report.note(str(store_root), f"could not save the quick-reopen snapshot: {err}")
    return dataset, result, encoders, notices


def layout_job(ws: Workspace, weights, init, cold: bool, service: LayoutService,
               params=DEFAULT_LAYOUT):
    """PCA at once (cold), then UMAP with ``params`` = (layout, n_neighbors, min_dist), warm
    from ``init`` when given; ``layout == "pca"`` stops at the PCA picture.

    Items lacking a modality are placed by its prediction from what they have, not in a cluster
    of their own (see layout/impute.py); only the instant picture before UMAP skips that.
    """
    from mmviewer.core.layout.impute import complete_missing
    from mmviewer.core.layout.pca import fused_layout_input, fused_pca_2d

    if not any(w > 0 for w in weights.values()):
        return None  # every weight at zero: keep the current map
    kind, n_neighbors, min_dist = params
    if kind == "pca":
        return fused_pca_2d(ws.table, weights, completion=complete_missing(ws)), "pca"
    if cold or init is None:
        yield fused_pca_2d(ws.table, weights), "pca"  # the instant picture, before UMAP's input
    x = fused_layout_input(ws.table, weights, completion=complete_missing(ws))
    # One UMAP thread: the other core is the figures lane's (at 1M items two threads made the
    # metrics wait 65 s for a map that came no sooner, both fighting for the same two cores).
    shape = {"n_neighbors": int(n_neighbors), "min_dist": float(min_dist), "n_jobs": 1}
    if cold or init is None:
        pos = service.umap(x, random_state=None, **shape)
    else:
        pos = service.umap(x, init=init, n_epochs=WARM_EPOCHS, random_state=None,
                           max_fit=WARM_MAX_FIT, **shape)
    return pos, "umap"


def modality_layout_job(ws: Workspace, service: LayoutService):
    from mmviewer.core.layout.pca import LAYOUT_DIMS, pca_layout, pca_reduce

    vectors, rows, which = ws.modality_points()
    x = pca_reduce(lambda index: vectors[index], len(vectors), LAYOUT_DIMS)
    try:
        pos = service.umap(x, random_state=None)
    except Exception:
        pos = pca_layout(vectors)
    return pos, rows, which


def metrics_job(ws: Workspace, method: str, weights, label_column):
    from mmviewer.core.evaluate.evaluation import evaluate_fusion, pair_metrics

    t = ws.table
    pairs = []
    for q in t.modalities:
        for tgt in t.modalities:
            if q == tgt or len(t.paired(q, tgt)) < 4:
                continue
            try:
                figures = pair_metrics(ws, q, tgt, method, label_column)
            except ValueError as err:
                figures = {"query": q, "target": tgt, "method": ws.resolve_method(q, tgt, method),
                           "error": str(err)}
            pairs.append(figures)
    fusion = None
    if label_column is not None and any(w > 0 for w in weights.values()):
        try:
            fusion = evaluate_fusion(t, weights, label_column, cache=ws.cached)
        except ValueError as err:
            fusion = {"error": str(err)}
    return {"pairs": pairs, "fusion": fusion, "method": method, "weights": dict(weights)}


def query_job(ws: Workspace, encoder, text: str, weights, method: str, k: int):
    loaded = encoder.prepare(MediaRef("text", text=text))
    vec = np.asarray(encoder.encode([loaded.value]), np.float32)[0]
    rows, scores = ws.query_vector(vec, "text", weights, method, k)
    return rows, scores
