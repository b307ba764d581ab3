"""The GUI's controller: runs the core's long jobs off the UI thread and publishes results.

Panels take ``(state, controller)``: they write user intent into the evented
:class:`~mmviewer.core.app.state.ViewState` and read derived data (the :class:`Workspace`, layouts,
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

from mmviewer.core.app.jobs import (
    LAYOUT_FILE,
    embed_job,
    ids_digest,
    layout_job,
    metrics_job,
    modality_layout_job,
    query_job,
    save_layout,
    weights_key,
)
from mmviewer.core.app.state import MAP_MODALITIES, Notice, ViewState
from mmviewer.core.embed.job import EmbedResult, Progress
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.core.layout.service import shared_service
from mmviewer.core.match.workspace import Workspace
from mmviewer.core.store.embedding_store import EmbeddingStore

#: Quiet time after the last weight change before a warm re-layout starts (slider drags).
RELAYOUT_DEBOUNCE_MS = 250
#: Metrics wait this long after the last change: they are the least urgent job, and starting
#: them after the map and the first match lists keeps those from competing for the cores.
METRICS_DELAY_MS = 800
SESSION_FILE = "session.json"


class _Slot:
    """One job kind: a generation counter, the running worker, and at most one queued request."""

    def __init__(self):
        self.generation = 0
        self.worker = None
        self.pending = None  # a zero-argument callable that starts the newest waiting request


class AppController(QObject):
    """Owns the dataset, the workspace and every background job of one window."""

    opened = Signal(object)  # Dataset, once scanned (embedding continues)
    embedding_done = Signal()  # every embedding job's end (table replaced, verified or not)
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
        #: True while a snapshot of the last session is shown and the folder is being re-checked.
        self.provisional = False
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
        self._run("embed", embed_job, Path(path), self.options, self._cancel,
                  on_yield=self._on_embed_progress, on_return=self._on_embed_done,
                  label=f"Embedding {Path(path).name}")

    def cancel_embedding(self) -> None:
        """Stop at the next batch; finished batches are kept and the partial table is shown."""
        self._cancel.set()

    def _on_embed_progress(self, message) -> None:
        if isinstance(message, Progress):
            self.progress.emit(message)
        elif message[0] == "snapshot":  # the last session's table: show it while we re-check
            _, dataset, table = message
            self.set_table(table, dataset)
            self.provisional = True
        else:  # ("opened", dataset)
            if not self.provisional:
                self.dataset = message[1]
            self.opened.emit(message[1])

    def _on_embed_done(self, value) -> None:
        dataset, result, encoders, notices = value
        shown = self.workspace.table if self.workspace is not None else None
        unchanged = (self.provisional and shown is not None and not result.cancelled
                     and result.table.content_digest == shown.content_digest)
        self.provisional = False
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
        if unchanged:  # the snapshot on screen is exactly this table: keep the user's view
            self.dataset, self.result, self._items_by_id = dataset, result, None
        else:
            self.set_table(result.table, dataset, result)
        self.embedding_done.emit()

    def set_table(self, table, dataset=None, result: EmbedResult | None = None) -> None:
        """Show ``table`` (also used directly by tests and for precomputed tables)."""
        self.provisional = False
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
        item_id = str(self.workspace.table.ids[row])
        items = self.dataset.items
        if len(items) == self.workspace.table.n_items:  # rows usually follow the items 1:1
            candidate = items[row]
            if candidate.id == item_id:
                return candidate
        if self._items_by_id is None:
            self._items_by_id = {it.id: it for it in items}
        return self._items_by_id.get(item_id)

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
        self._run("layout", layout_job, ws, weights, init, cold, self.layouts,
                  on_yield=self._on_layout, on_return=self._on_layout, label="Laying out the map")

    def _on_layout(self, value) -> None:
        if value is None:
            return
        positions, kind = value
        self.positions, self.layout_kind = positions, kind
        self.layout_ready.emit(positions, kind)
        if kind == "umap" and self._store is not None:
            self._run("save", save_layout, self._store, self.workspace.table.ids,
                      self.state.weight_map, positions, on_return=None)

    def _read_cached_layout(self) -> np.ndarray | None:
        """The last UMAP map of this table and weights, so a reopen shows it at once."""
        if self._store is None:
            return None
        data = self._store.read_npz(LAYOUT_FILE)
        table = self.workspace.table
        if (data is None or str(data.get("ids_digest")) != ids_digest(table.ids)
                or str(data.get("weights")) != weights_key(self.state.weight_map)):
            return None
        positions = np.asarray(data["positions"], np.float32)
        return positions if positions.shape == (table.n_items, 2) else None

    def request_modality_layout(self) -> None:
        ws = self.workspace
        if ws is None:
            return
        self._run("modlayout", modality_layout_job, ws, self.layouts,
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
        self._run("metrics", metrics_job, ws, self.state.method, self.state.weight_map,
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
        self._run("query", query_job, self.workspace, self.encoders["text"], text,
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
