"""The app model: the dataset, its derived data, and the policies that keep them current.

No Qt. Panels take ``(state, model)``: they write what the user does into the evented
:class:`~mmviewer.core.app.state.ViewState` and draw what the model publishes on its signals
(psygnal, emitted on the owner's thread). The model listens to the state and starts jobs on its
one :class:`~mmviewer.core.app.runner.JobRunner`:

* a new table: the cached map or a PCA picture at once, then UMAP; fits, metrics and per-item
  values once that first picture is up (``after_first_picture``);
* a weight change: a warm re-layout once the drag pauses, metrics after that (match lists are
  recombined by the panel from the weight-independent data published here);
* a new current item, method or list length: its similar items and its cross-modal lists;
* suspects (``model.suspects``): computed once a panel or the map asks, again for a new method;
* quitting: every job cancelled, the layout child terminated.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

import numpy as np
from psygnal import Signal

from mmviewer.core.app import jobs
from mmviewer.core.app.colours import modality_pairs
from mmviewer.core.app.items import ItemData
from mmviewer.core.app.runner import JobRunner, Scheduler
from mmviewer.core.app.state import MAP_MODALITIES, Notice, ViewState
from mmviewer.core.app.suspects import SuspectData
from mmviewer.core.embed.job import EmbedResult, Progress
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.core.layout.service import shared_service
from mmviewer.core.match.workspace import Workspace
from mmviewer.core.runtime.blas import blas_one_thread_for_good
from mmviewer.core.store.embedding_store import EmbeddingStore

#: Quiet time after the last weight change before a warm re-layout starts (slider drags).
RELAYOUT_DEBOUNCE_S = 0.25
#: Metrics wait this long after the last change, so a drag starts them once; the figures lane
#: (see core/app/jobs.py) keeps them from competing with the map and a click's lists.
METRICS_DELAY_S = 0.8
SESSION_FILE = "session.json"
LABEL_COLUMNS = ("label", "labels", "class", "category")


class AppModel:
    """Owns the dataset, the workspace and every background job of one window."""

    opened = Signal(object)  # Dataset, once scanned (embedding continues)
    embedding_done = Signal()  # every embedding job's end (table replaced, verified or not)
    progress = Signal(object)  # core.embed.job.Progress
    table_ready = Signal()  # self.workspace is new; state was reset/restored
    layout_ready = Signal(object, str)  # (N, 2) float32 positions, kind: "pca" | "umap" | "cached"
    modality_layout_ready = Signal(object)  # (positions (P, 2), item rows (P,), modality (P,))
    metrics_ready = Signal(object)  # {"pairs": [...], "fusion": {...}, "method", "weights"}
    query_ready = Signal(object, object)  # rows, scores of a text query
    similar_ready = Signal(object, str)  # SimilarItems of state.current (None + reason on failure)
    matches_ready = Signal(object, str)  # ItemMatches of state.current/method/k (None + reason)
    notice = Signal(object)  # core.app.state.Notice
    busy = Signal(str)  # what runs in the background ("" when idle)

    def __init__(self, state: ViewState | None = None, scheduler: Scheduler | None = None,
                 layouts=None):
        blas_one_thread_for_good()  # the jobs run side by side: see the function
        self.state = state or ViewState()
        self.jobs = JobRunner(scheduler)
        self.jobs.busy_changed.connect(self.busy.emit)
        self.jobs.failed.connect(self._on_jobs_failed)
        self.dataset = None
        self.result: EmbedResult | None = None
        self.workspace: Workspace | None = None
        self.encoders: dict = {}
        self.encoder_notices: list[str] = []
        self.options = EmbedOptions()
        #: True while a snapshot of the last session is shown and the folder is being re-checked.
        self.provisional = False
        #: UMAP runs in this child process so numba never freezes the window.
        self.layouts = layouts if layouts is not None else shared_service()
        self.positions: np.ndarray | None = None
        self.layout_kind = ""
        self.modality_positions = None  # the last (positions, rows, which) of the line mode
        self._store: EmbeddingStore | None = None
        self._items_by_id: dict | None = None
        self._stop_embedding = threading.Event()
        self._applying_table = False  # set_table's own state changes start no jobs
        self._waiting_for_picture: list | None = None  # jobs held until the first map is up
        ev = self.state.events
        ev.weights.connect(self._on_state_weights)
        ev.method.connect(self._on_state_method)
        ev.map_mode.connect(self._on_state_map_mode)
        ev.current.connect(self._on_state_current)
        ev.k.connect(self._on_state_k)
        ev.map_source.connect(self._on_state_map_layout)
        ev.layout.connect(self._on_state_map_layout)
        self.layout_ready.connect(lambda *_: self._first_picture_shown())
        self.items = ItemData(self)  # per-item columns; listens to the state and table_ready
        self.suspects = SuspectData(self)  # suspicion per item and the fine / wrong marks

    # -- opening and embedding ----------------------------------------------------------------
    def open_path(self, path: str | Path, options: EmbedOptions | None = None) -> None:
        """Scan and embed ``path`` in the background; ``table_ready`` fires when done."""
        self.options = options or self.options
        self._stop_embedding = threading.Event()
        self.jobs.submit("embed", jobs.embed_job, Path(path), self.options, self._stop_embedding,
                         on_progress=self._on_embed_progress, on_result=self._on_embed_done,
                         on_error=lambda err: self._report_error("embed", err),
                         label=f"Embedding {Path(path).name}")

    def cancel_embedding(self) -> None:
        """Stop at the next batch; finished batches are kept and the partial table is shown."""
        self._stop_embedding.set()

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
        for slot in ("layout", "modality-layout", "metrics", "query", "matches", "warm-up"):
            self.jobs.cancel(slot)
        self.provisional = False
        self.dataset, self.result = dataset, result
        self._items_by_id = None
        self._store = self._store_for(dataset)
        self.workspace = Workspace(table, store=self._store)
        self.positions, self.layout_kind = None, ""
        self.modality_positions = None
        self._waiting_for_picture = []
        self._applying_table = True
        try:
            self.state.reset(table.modalities, modality_pairs(table))
            self.state.apply_session(self._read_session(), table.index_of)
        finally:
            self._applying_table = False
        self.table_ready.emit()
        cached = self._read_cached_layout()
        if cached is not None:
            self._on_layout((cached, "cached"))
        else:
            self.request_layout(cold=True)
        self.after_first_picture(self.request_metrics)  # in the figures lane, metrics first
        self.after_first_picture(self.request_warm_up)
        if self.state.map_mode == MAP_MODALITIES:
            self.request_modality_layout()
        self.request_matches()

    def _store_for(self, dataset) -> EmbeddingStore | None:
        """Where the session, the last map and fitted aligners of ``dataset`` are kept."""
        if dataset is None or not self.options.use_store:
            return None
        try:
            if dataset.precomputed is not None:
                return EmbeddingStore.for_table(dataset.source)
            return EmbeddingStore.for_dataset(dataset.root)
        except OSError:
            return None

    @property
    def applying_table(self) -> bool:
        """True while :meth:`set_table` resets and restores the state: panels redraw on
        ``table_ready`` that follows, not on each of those state events."""
        return self._applying_table

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

    # -- policies: what each state change starts -----------------------------------------------
    def _on_state_weights(self, _value) -> None:
        if self.workspace is not None and not self._applying_table:
            self.request_layout(delay_s=RELAYOUT_DEBOUNCE_S)
            self.request_metrics(delay_s=METRICS_DELAY_S)

    def _on_state_method(self, _value) -> None:
        if self.workspace is not None and not self._applying_table:
            self.request_warm_up()
            self.request_metrics(delay_s=METRICS_DELAY_S)
            self.request_matches()

    def _on_state_map_mode(self, mode) -> None:
        if self.workspace is not None and mode == MAP_MODALITIES and not self._applying_table:
            self.request_modality_layout()

    def _on_state_map_layout(self, _value) -> None:
        if self.workspace is not None and not self._applying_table:
            self.request_layout(delay_s=RELAYOUT_DEBOUNCE_S)

    def _on_state_current(self, _row) -> None:
        if not self._applying_table:
            self.request_matches()

    def _on_state_k(self, _k) -> None:
        if not self._applying_table:
            self.request_matches()

    # -- layouts ------------------------------------------------------------------------------
    def request_layout(self, cold: bool = False, delay_s: float = 0.0) -> None:
        """PCA at once (cold) and UMAP in the background, warm-started from the current map."""
        ws = self.workspace
        if ws is None:
            return
        init = None if cold or self.positions is None else self.positions
        self.jobs.submit("layout", jobs.layout_job, ws, self.layout_weights(), init, cold,
                         self.layouts, self.state.layout,
                         on_progress=self._on_layout, on_result=self._on_layout,
                         on_error=self._on_layout_error, delay_s=delay_s, label="Laying out the map")

    def _on_layout_error(self, err: BaseException) -> None:
        self._report_error("layout", err)
        self._first_picture_shown()  # what waited for the map must not wait for ever

    def after_first_picture(self, fn) -> None:
        """``fn()`` once this table's first map is up (100k items: ~15 s later without this)."""
        if self._waiting_for_picture is None:
            return fn()
        self._waiting_for_picture.append(fn)

    def _first_picture_shown(self) -> None:
        waiting, self._waiting_for_picture = self._waiting_for_picture, None
        for fn in waiting or ():
            fn()

    def layout_weights(self) -> dict[str, float]:
        """The fusion weights, or one modality alone when the map is of that modality."""
        source, weights = self.state.map_source, self.state.weight_map
        return {source: 1.0} if source in weights else weights

    def _on_layout(self, value) -> None:
        if value is None:
            return
        positions, kind = value
        self.positions, self.layout_kind = positions, kind
        self.layout_ready.emit(positions, kind)  # which also opens the first-picture gate
        if kind == "umap" and self._store is not None:
            self.jobs.submit("save-layout", jobs.save_layout, self._store, self.workspace.table.ids,
                             self.layout_weights(), positions, self.state.layout)

    def _read_cached_layout(self) -> np.ndarray | None:
        """The last UMAP map of this table and weights, so a reopen shows it at once."""
        return jobs.load_layout(self._store, self.workspace.table, self.layout_weights(), self.state.layout)

    def request_modality_layout(self) -> None:
        if self.workspace is None:
            return
        self.jobs.submit("modality-layout", jobs.modality_layout_job, self.workspace, self.layouts,
                         on_result=self._on_modality_layout,
                         on_error=lambda err: self._report_error("modality layout", err),
                         label="Laying out modalities")

    def _on_modality_layout(self, value) -> None:
        self.modality_positions = value  # kept for a map view built later
        self.modality_layout_ready.emit(value)

    # -- match lists of the current item --------------------------------------------------------
    def request_warm_up(self) -> None:
        """Fit the current method's aligners and prepare every pair's scoring now, so the first
        click on an item shows its lists at once (at a million items a fit takes seconds)."""
        if self.workspace is not None:
            self.jobs.submit("warm-up", self.workspace.warm_up, self.state.method,
                             on_error=lambda err: self._report_error("alignment", err),
                             label="Fitting alignments", **jobs.figures_lane("warm-up"))

    def request_matches(self) -> None:
        """The current item's similar items and cross-modal lists (one job: they share their
        passes over the vectors; may fit aligners on first use of a method)."""
        ws, row = self.workspace, self.state.current
        if ws is None or not 0 <= row < ws.table.n_items:
            self.jobs.cancel("matches")
            return

        def failed(err: BaseException) -> None:
            self.similar_ready.emit(None, _reason(err))
            self.matches_ready.emit(None, _reason(err))

        self.jobs.submit("matches", ws.item_lists, row, self.state.method, self.state.k,
                         on_progress=lambda similar: self.similar_ready.emit(similar, ""),
                         on_result=lambda matches: self.matches_ready.emit(matches, ""),
                         on_error=failed, label="Matching across modalities", urgent=True)

    # -- metrics and queries ------------------------------------------------------------------
    def request_metrics(self, delay_s: float = 0.0) -> None:
        ws = self.workspace
        if ws is None:
            return
        self.jobs.submit("metrics", jobs.metrics_job, ws, self.state.method, self.state.weight_map,
                         self.label_column(), on_result=self.metrics_ready.emit,
                         on_error=lambda err: self._report_error("metrics", err),
                         delay_s=delay_s, label="Measuring alignment", **jobs.figures_lane("metrics"))

    def label_column(self) -> str | None:
        meta = self.workspace.table.metadata if self.workspace else {}
        for name in LABEL_COLUMNS:
            if name in meta:
                return name
        return None

    def run_text_query(self, text: str, k: int = 20) -> None:
        """Embed ``text`` with the dataset's text encoder and rank items against it."""
        if self.workspace is None or "text" not in self.encoders:
            self.notice.emit(Notice("Text search needs a dataset embedded with a text encoder.", "warning"))
            return
        self.jobs.submit("query", jobs.query_job, self.workspace, self.encoders["text"], text,
                         self.state.weight_map, self.state.method, k,
                         on_result=lambda v: self.query_ready.emit(*v), label="Searching", urgent=True,
                         on_error=lambda err: self._report_error("text query", err))

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

    def warm_imports(self) -> None:
        """Import the numerical libraries the first picture and fits need, in the background,
        while the user picks a dataset (scikit-learn alone took seconds on a busy machine, all
        of them before the first PCA picture)."""
        self.jobs.submit("warm-imports", jobs.import_numerics)

    # -- errors and shutdown ------------------------------------------------------------------
    def _on_jobs_failed(self, slot, err: BaseException) -> None:
        self._report_error(str(slot), err)

    def _report_error(self, what: str, err: BaseException) -> None:
        path = getattr(err, "filename", None)
        self.notice.emit(Notice(f"{what} failed: {_reason(err)}", "error",
                                path=str(path) if path else None,
                                details=traceback.format_exception(err)))

    def shutdown(self, timeout_s: float = 1.5, stop_layouts: bool = True) -> bool:
        """Cancel every job, stop the layout child (unless ``stop_layouts`` is False: tests share
        it) and wait up to ``timeout_s`` for job threads; True when none is left running (those
        left are daemon threads and end with the process)."""
        self._stop_embedding.set()
        self.jobs.cancel_all()
        if stop_layouts:
            self.layouts.close()
        return self.jobs.shutdown(timeout_s)


def _reason(err: BaseException) -> str:
    return str(err) or type(err).__name__
