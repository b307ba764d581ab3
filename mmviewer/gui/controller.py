"""The GUI's controller: runs the core's long jobs off the UI thread and publishes results.

Panels take ``(state, controller)``: they write user intent into the evented
:class:`~mmviewer.core.state.ViewState` and read derived data (the :class:`Workspace`, layouts,
metrics) from the controller's signals. Every job runs in a superqt worker (a QThreadPool
QThread); each job kind has a generation counter, so when a newer request supersedes a running
one the stale result is dropped ("the newest request wins"), and at most one job of a kind
runs while one more waits.
"""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import create_worker

from mmviewer.core.encoders.base import MediaRef
from mmviewer.core.job import EmbedResult, Progress
from mmviewer.core.layout_service import LayoutService, shared_service
from mmviewer.core.pipeline import EmbedOptions, choose_encoders, embedding_job, open_path
from mmviewer.core.state import MAP_MODALITIES, Notice, ViewState
from mmviewer.core.store import EmbeddingStore
from mmviewer.core.workspace import Workspace

#: Quiet time after the last weight change before a warm re-layout starts (slider drags).
RELAYOUT_DEBOUNCE_MS = 250
#: Metrics wait this long after the last change: they are the least urgent job, and starting
#: them after the map and the first match lists keeps those from competing for the cores.
METRICS_DELAY_MS = 800
# A warm re-layout starts from the current map, so it needs few epochs and a smaller fit sample
# (the other rows are placed by their neighbours): ~0.13-0.18 of a cold UMAP at 100k items.
WARM_EPOCHS = 25
WARM_MAX_FIT = 30_000
SESSION_FILE = "session.json"
LAYOUT_FILE = "layout.npz"


class _Slot:
    """One job kind: a generation counter, the running worker, and at most one queued request."""

    def __init__(self):
        self.generation = 0
        self.worker = None
        self.pending = None  # a zero-argument callable that starts the newest waiting request


class AppController(QObject):
    """Owns the dataset, the workspace and every background job of one window."""

    opened = Signal(object)  # Dataset, once scanned (embedding continues)
    progress = Signal(object)  # core.job.Progress
    table_ready = Signal()  # self.workspace is new; state was reset/restored
    layout_ready = Signal(object, str)  # (N, 2) float32 positions, kind: "pca" | "umap"
    modality_layout_ready = Signal(object)  # (positions (P, 2), item rows (P,), modality (P,))
    metrics_ready = Signal(object)  # list of per-pair dicts + fusion dict
    query_ready = Signal(object, object)  # rows, scores of a text query
    notice = Signal(object)  # core.state.Notice
    busy = Signal(str)  # what runs in the background ("" when idle)

    def __init__(self, state: ViewState | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state or ViewState()
        self.dataset = None
        self.result: EmbedResult | None = None
        self.workspace: Workspace | None = None
        self.encoders: dict = {}
        self.encoder_notices: list[str] = []
        self.options = EmbedOptions()
        #: UMAP runs in this child process so numba never freezes the window.
        self.layouts = shared_service()
        self.positions: np.ndarray | None = None
        self.layout_kind = ""
        self._store: EmbeddingStore | None = None
        self._items_by_id: dict | None = None
        self._cancel = threading.Event()
        self._slots = {name: _Slot() for name in ("embed", "layout", "modlayout", "metrics", "query", "save")}
        self._relayout_timer = QTimer(self, singleShot=True, interval=RELAYOUT_DEBOUNCE_MS)
        self._relayout_timer.timeout.connect(self.request_layout)
        self._metrics_timer = QTimer(self, singleShot=True, interval=METRICS_DELAY_MS)
        self._metrics_timer.timeout.connect(self.request_metrics)
        self.modality_positions = None  # the last (positions, rows, which) of the line mode
        self._applying_table = False  # set_table's own state changes start no jobs
        self.state.events.weights.connect(self._on_state_weights)
        self.state.events.method.connect(self._on_state_method)
        self.state.events.map_mode.connect(self._on_state_map_mode)

    # -- opening and embedding ----------------------------------------------------------------
    def open_path(self, path: str | Path, options: EmbedOptions | None = None) -> None:
        """Scan and embed ``path`` in the background; ``table_ready`` fires when done."""
        self.options = options or self.options
        self._cancel = threading.Event()
        self._run("embed", _embed_in_worker, Path(path), self.options, self._cancel,
                  on_yield=self._on_embed_progress, on_return=self._on_embed_done,
                  label=f"Embedding {Path(path).name}")

    def cancel_embedding(self) -> None:
        """Stop at the next batch; finished batches are kept and the partial table is shown."""
        self._cancel.set()

    def _on_embed_progress(self, message) -> None:
        if isinstance(message, Progress):
            self.progress.emit(message)
        else:  # ("opened", dataset)
            self.dataset = message[1]
            self.opened.emit(self.dataset)

    def _on_embed_done(self, value) -> None:
        dataset, result, encoders, notices = value
        self.encoders, self.encoder_notices = encoders, notices
        for text in notices:
            self.notice.emit(Notice(text, "warning"))
        if result.cancelled:
            self.notice.emit(Notice(
                f"Embedding cancelled: {result.table.n_items} items are shown; the finished "
                "batches are saved and reopening computes only the rest.", "warning"))
        skipped = len(result.report.skipped)
        if skipped:
            self.notice.emit(Notice(
                f"{skipped} file(s) skipped: see File → Import report.", "warning",
                path=result.report.skipped[0].path,
                details=[f"{p.path}: {p.reason}" for p in result.report.skipped]))
        self.set_table(result.table, dataset, result)

    def set_table(self, table, dataset=None, result: EmbedResult | None = None) -> None:
        """Show ``table`` (also used directly by tests and for precomputed tables)."""
        self.dataset, self.result = dataset, result
        self._items_by_id = None
        self.workspace = Workspace(table)
        self.positions, self.layout_kind = None, ""
        for slot in self._slots.values():
            if slot is not self._slots["embed"]:
                slot.generation += 1
                slot.pending = None
        self._store = None
        if dataset is not None and dataset.precomputed is None and self.options.use_store:
            try:
                self._store = EmbeddingStore.for_dataset(dataset.root)
            except OSError:
                self._store = None
        self.modality_positions = None
        self._applying_table = True
        try:
            self.state.reset(table.modalities)
            self.state.apply_session(self._read_session(), table.index_of)
        finally:
            self._applying_table = False
        self._relayout_timer.stop()
        self.table_ready.emit()
        cached = self._read_cached_layout()
        if cached is not None:
            self._on_layout((cached, "cached"))
        else:
            self.request_layout(cold=True)
        self._metrics_timer.start()
        if self.state.map_mode == MAP_MODALITIES:
            self.request_modality_layout()

    def item(self, row: int):
        """The dataset item (media references, metadata) shown at table row ``row``, or None."""
        if self.dataset is None or self.workspace is None or not 0 <= row < self.workspace.table.n_items:
            return None
        if self._items_by_id is None:
            self._items_by_id = {it.id: it for it in self.dataset.items}
        return self._items_by_id.get(str(self.workspace.table.ids[row]))

    # -- layouts ------------------------------------------------------------------------------
    def _on_state_weights(self, _value) -> None:
        if self.workspace is not None and not self._applying_table:
            self._relayout_timer.start()
            self._metrics_timer.start()

    def _on_state_method(self, _value) -> None:
        if self.workspace is not None and not self._applying_table:
            self._metrics_timer.start()
            if self.state.map_mode == MAP_MODALITIES:
                self.request_modality_layout()

    def _on_state_map_mode(self, mode) -> None:
        if self.workspace is not None and mode == MAP_MODALITIES and not self._applying_table:
            self.request_modality_layout()

    def request_layout(self, cold: bool = False) -> None:
        """PCA at once (cold) and UMAP in the background, warm-started from the current map."""
        ws = self.workspace
        if ws is None:
            return
        weights = self.state.weight_map
        init = None if cold or self.positions is None else self.positions
        self._run("layout", _layout_in_worker, ws, weights, init, cold, self.layouts,
                  on_yield=self._on_layout, on_return=self._on_layout, label="Laying out the map")

    def _on_layout(self, value) -> None:
        if value is None:
            return
        positions, kind = value
        self.positions, self.layout_kind = positions, kind
        self.layout_ready.emit(positions, kind)
        if kind == "umap" and self._store is not None:
            self._run("save", _save_layout, self._store, self.workspace.table.ids,
                      self.state.weight_map, positions, on_return=None)

    def _read_cached_layout(self) -> np.ndarray | None:
        """The last UMAP map of this table and weights, so a reopen shows it at once."""
        if self._store is None:
            return None
        data = self._store.read_npz(LAYOUT_FILE)
        table = self.workspace.table
        if (data is None or str(data.get("ids_digest")) != _ids_digest(table.ids)
                or str(data.get("weights")) != _weights_key(self.state.weight_map)):
            return None
        positions = np.asarray(data["positions"], np.float32)
        return positions if positions.shape == (table.n_items, 2) else None

    def request_modality_layout(self) -> None:
        ws = self.workspace
        if ws is None:
            return
        self._run("modlayout", _modality_layout_in_worker, ws, self.state.method, self.layouts,
                  on_return=self._on_modality_layout, label="Laying out modalities")

    def _on_modality_layout(self, value) -> None:
        self.modality_positions = value  # kept for a map view built later
        self.modality_layout_ready.emit(value)

    # -- metrics and queries ------------------------------------------------------------------
    def request_metrics(self) -> None:
        self._metrics_timer.stop()
        ws = self.workspace
        if ws is None:
            return
        self._run("metrics", _metrics_in_worker, ws, self.state.method, self.state.weight_map,
                  self.label_column(), on_return=self.metrics_ready.emit, label="Measuring alignment")

    def label_column(self) -> str | None:
        meta = self.workspace.table.metadata if self.workspace else {}
        for name in ("label", "labels", "class", "category"):
            if name in meta:
                return name
        return None

    def run_text_query(self, text: str, k: int = 20) -> None:
        """Embed ``text`` with the dataset's text encoder and rank items against it."""
        if self.workspace is None or "text" not in self.encoders:
            self.notice.emit(Notice("Text search needs a dataset embedded with a text encoder.", "warning"))
            return
        self._run("query", _query_in_worker, self.workspace, self.encoders["text"], text,
                  self.state.weight_map, self.state.method, k,
                  on_return=lambda v: self.query_ready.emit(*v), label="Searching")

    # -- sessions -----------------------------------------------------------------------------
    def _read_session(self):
        return self._store.read_json(SESSION_FILE) if self._store else None

    def save_session(self) -> None:
        if self._store is None or self.workspace is None:
            return
        try:
            self._store.write_json(SESSION_FILE, self.state.to_session(self.workspace.table.ids))
        except OSError as err:
            self.notice.emit(Notice(f"Could not save the session: {err}", "warning"))

    # -- the worker mechanism -----------------------------------------------------------------
    def _run(self, kind: str, func, *args, on_return, on_yield=None, label: str = "") -> None:
        """Start ``func`` for job ``kind`` now, or queue it behind the running one (replacing
        any request already waiting). Results of superseded generations are dropped."""
        slot = self._slots[kind]
        slot.generation += 1
        generation = slot.generation

        def start():
            slot.pending = None

            def accept(callback):
                def deliver(value):
                    if generation == slot.generation and callback is not None:
                        callback(value)
                return deliver

            def finished():
                slot.worker = None
                try:
                    if slot.pending is not None:
                        slot.pending()
                    elif not any(s.worker for s in self._slots.values()):
                        self.busy.emit("")
                except RuntimeError:
                    pass  # the controller was deleted while this worker ran (window closed)

            worker = create_worker(func, *args, _start_thread=False, _ignore_errors=True)
            worker.returned.connect(accept(on_return))
            if on_yield is not None:
                worker.yielded.connect(accept(on_yield))
            worker.errored.connect(accept(lambda err: self._on_worker_error(kind, err)))
            worker.finished.connect(finished)
            slot.worker = worker
            self.busy.emit(label)
            worker.start()

        if slot.worker is None:
            start()
        else:
            slot.pending = start
            quit_ = getattr(slot.worker, "quit", None)
            if kind != "embed" and quit_ is not None:
                quit_()  # generator jobs stop at their next yield

    def _on_worker_error(self, kind: str, err: BaseException) -> None:
        path = getattr(err, "filename", None)
        text = str(err) or type(err).__name__
        self.notice.emit(Notice(f"{kind} failed: {text}", "error", path=str(path) if path else None,
                                details=traceback.format_exception(err)))

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Cancel everything and wait briefly for workers (window closing)."""
        self._cancel.set()
        self._relayout_timer.stop()
        self._metrics_timer.stop()
        for slot in self._slots.values():
            slot.pending = None
            slot.generation += 1
            if slot.worker is not None and hasattr(slot.worker, "quit"):
                slot.worker.quit()
        deadline = time.monotonic() + timeout_s
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(max(0, int((deadline - time.monotonic()) * 1000)))


# -- functions that run in worker threads (no Qt) ---------------------------------------------
def _ids_digest(ids) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=12)
    for item in ids:
        h.update(str(item).encode())
        h.update(b"\0")
    return h.hexdigest()


def _weights_key(weights) -> str:
    return ",".join(f"{m}={w:.6g}" for m, w in sorted(weights.items()))


def _save_layout(store: EmbeddingStore, ids, weights, positions) -> None:
    try:
        store.write_npz(LAYOUT_FILE, {"ids_digest": np.array(_ids_digest(ids)),
                                      "weights": np.array(_weights_key(weights)),
                                      "positions": np.asarray(positions, np.float32)})
    except OSError:
        pass  # only a cache: the next open lays out again



def _embed_in_worker(path: Path, options: EmbedOptions, cancel: threading.Event):
    dataset = open_path(path, options)
    yield ("opened", dataset)
    encoders, notices = ({}, []) if dataset.precomputed is not None else choose_encoders(options)
    result = yield from embedding_job(dataset, options, encoders, cancel=cancel)
    return dataset, result, encoders, notices


def _layout_in_worker(ws: Workspace, weights, init, cold: bool, service: LayoutService):
    from mmviewer.core.layout import align_to, fused_layout_input, fused_pca_2d

    if not any(w > 0 for w in weights.values()):
        return None  # every weight at zero: keep the current map
    if cold or init is None:
        yield fused_pca_2d(ws.table, weights), "pca"  # the instant picture, before UMAP's input
    x = fused_layout_input(ws.table, weights)
    if cold or init is None:
        pos = service.umap(x, random_state=None)
    else:
        pos = service.umap(x, init=init, n_epochs=WARM_EPOCHS, random_state=None,
                           max_fit=WARM_MAX_FIT)
    if init is not None:
        pos = align_to(pos, init)
    return pos, "umap"


def _modality_layout_in_worker(ws: Workspace, method: str, service: LayoutService):
    from mmviewer.core.layout import LAYOUT_DIMS, pca_layout, pca_reduce

    vectors, rows, which = ws.modality_points(method)
    x = pca_reduce(lambda index: vectors[index], len(vectors), LAYOUT_DIMS)
    try:
        pos = service.umap(x, random_state=None)
    except Exception:
        pos = pca_layout(vectors)
    return pos, rows, which


def _metrics_in_worker(ws: Workspace, method: str, weights, label_column):
    from mmviewer.core.evaluation import evaluate_fusion

    t = ws.table
    pairs = []
    for q in t.modalities:
        for tgt in t.modalities:
            if q == tgt or len(t.paired(q, tgt)) < 4:
                continue
            try:
                figures = ws.pair_metrics(q, tgt, method, label_column)
            except ValueError as err:
                figures = {"query": q, "target": tgt, "method": ws.resolve_method(q, tgt, method),
                           "error": str(err)}
            pairs.append(figures)
    fusion = None
    if label_column is not None and any(w > 0 for w in weights.values()):
        try:
            fusion = evaluate_fusion(t, weights, label_column)
        except ValueError as err:
            fusion = {"error": str(err)}
    return {"pairs": pairs, "fusion": fusion, "method": method, "weights": dict(weights)}


def _query_in_worker(ws: Workspace, encoder, text: str, weights, method: str, k: int):
    loaded = encoder.prepare(MediaRef("text", text=text))
    vec = np.asarray(encoder.encode([loaded.value]), np.float32)[0]
    rows, scores = ws.query_vector(vec, "text", weights, method, k)
    return rows, scores
