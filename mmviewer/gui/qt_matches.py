"""The Matches panel: ranked lists for the current item, re-weighted live.

Top: fused "Similar items" (the recommendation view). Bottom: a grid with one button per list
— rows are the query modality (or ``fused``), columns the target modality, each button shows
where the true partner ranks — and the chosen list below it, headed e.g. "text → image · ridge ·
partner rank 3 · fitted on this item".

Work split (house rules 4 and 5): a new item, method or k computes the weight-independent part
(cross-modal lists, per-modality score vectors; the first fit of a learned aligner) in a worker,
newest request wins; a weight change recombines the cached vectors synchronously, which is
elementwise work over N (see :mod:`mmviewer.gui.matches_data` and ``benchmarks/bench_matches.py``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QLabel,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import create_worker

from mmviewer.gui.matches_data import FUSED, ItemMatches, cross_pairs, export_rows, list_name
from mmviewer.gui.matches_export import iter_all_matches, save_matches  # noqa: F401 (re-export)
from mmviewer.gui.matches_view import AudioDurations, MatchListView
from mmviewer.gui.thumbnails import ThumbnailCache

#: Show "fitting…"/"matching…" only when a worker takes longer than this (no flicker).
PLACEHOLDER_DELAY_MS = 150


def _compute(generation: int, ws, row: int, method: str, k: int):
    """Worker: the weight-independent lists of ``row``; errors come back as text."""
    try:
        return generation, ItemMatches.compute(ws, row, method, k), ""
    except Exception as err:  # a failed fit must reach the panel as a reason, not a traceback
        return generation, None, f"{type(err).__name__}: {err}"


class QtMatches(QWidget):
    """Match lists of ``state.current``; see the module docstring."""

    lists_ready = Signal()  # the lists of a new item / method / k are drawn
    reweighted = Signal()  # the weight-dependent lists were redrawn after a weight change

    def __init__(self, state, controller, thumbnails=None, parent=None):
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self.thumbnails = thumbnails if thumbnails is not None else ThumbnailCache(controller, parent=self)
        self.durations = AudioDurations(controller, self)
        self.data: ItemMatches | None = None  # the weight-independent part for data.row
        self.cross_lists: dict[tuple[str, str], object] = {}
        self.similar_list = None
        self.fused_lists: dict[str, object] = {}
        self.shown = ""  # name of the list in the lower view, e.g. "text→image"
        self._generation = 0
        self._worker = None
        self._pending = None
        self._placeholder = ""
        self._fitted: set[tuple[str, str, str]] = set()
        self._timer = QTimer(self, singleShot=True, interval=PLACEHOLDER_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

        self.similar_header = QLabel("Similar items")
        self.similar_header.setToolTip("Items most similar to the current one under the fused "
                                       "similarity (the weight sliders); updates live while you drag.")
        self.similar_view = MatchListView(controller, self.thumbnails, self.durations)
        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.pair_header = QLabel()
        self.pair_header.setWordWrap(True)
        self.pair_header.setToolTip("The list shown below: query → target modality, the alignment "
                                    "method, and the rank of the item's own (true partner) media.")
        self.pair_view = MatchListView(controller, self.thumbnails, self.durations)
        for view in (self.similar_view, self.pair_view):
            view.row_chosen.connect(self._on_view_row_chosen)
            view.row_focused.connect(self._on_view_row_focused)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.similar_header)
        top_layout.addWidget(self.similar_view)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        caption = QLabel("<b>Cross-modal matches</b> — rows: query, columns: target; "
                         "#n = rank of the true partner")
        caption.setWordWrap(True)
        caption.setToolTip("Click a cell to show that list. 'fused' ranks each target by the "
                           "weighted mean over this item's modalities.")
        bottom_layout.addWidget(caption)
        bottom_layout.addWidget(self.grid_box)
        bottom_layout.addWidget(self.pair_header)
        bottom_layout.addWidget(self.pair_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        state.events.current.connect(self._on_state_current)
        state.events.method.connect(self._on_state_method)
        state.events.k.connect(self._on_state_k)
        state.events.weights.connect(self._on_state_weights)
        controller.table_ready.connect(self._on_controller_table_ready)
        if controller.workspace is not None:
            self._on_controller_table_ready()

    # -- the list grid --------------------------------------------------------------------------
    def _modalities(self) -> list[str]:
        ws = self.controller.workspace
        return list(ws.table.modalities) if ws is not None else []

    def _build_grid(self) -> None:
        for button in self.buttons.values():
            self.group.removeButton(button)
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.buttons = {}
        mods = self._modalities()
        corner = QLabel("query ↓  target →")
        corner.setToolTip("Each row is the modality of the current item used as the query; each "
                          "column the modality of the items it is matched against.")
        self.grid.addWidget(corner, 0, 0)
        for j, tgt in enumerate(mods):
            self.grid.addWidget(QLabel(tgt, alignment=Qt.AlignmentFlag.AlignCenter), 0, j + 1)
        for i, q in enumerate([*mods, FUSED]):
            self.grid.addWidget(QLabel(q), i + 1, 0)
            for j, tgt in enumerate(mods):
                if q == tgt:
                    self.grid.addWidget(QLabel("—", alignment=Qt.AlignmentFlag.AlignCenter), i + 1, j + 1)
                    continue
                name = list_name(q, tgt)
                button = QToolButton(text="·", checkable=True, autoRaise=False)
                button.setMinimumWidth(56)
                button.clicked.connect(lambda _=False, n=name: self.show_list(n))
                self.group.addButton(button)
                self.grid.addWidget(button, i + 1, j + 1)
                self.buttons[name] = button
        names = list(self.buttons)
        preferred = list_name("text", "image")
        self.shown = self.shown if self.shown in names else (preferred if preferred in names else (names or [""])[0])
        if self.shown:
            self.buttons[self.shown].setChecked(True)
        self._describe_buttons()

    def _describe_buttons(self) -> None:
        for name, button in self.buttons.items():
            q, tgt = name.split("→")
            lst = self._list(name)
            rank = None if lst is None else lst.partner_rank
            button.setText("·" if lst is None else (f"#{rank}" if rank else "–"))
            what = (f"{tgt} matches for the weighted mean over this item's modalities" if q == FUSED
                    else f"{tgt} matches for this item's {q}")
            extra = "" if lst is None else (f" ({lst.method}); true partner at rank {rank}" if rank
                                            else f" ({lst.method}); {lst.note or 'no partner rank'}")
            button.setToolTip(f"{q} → {tgt}: {what}{extra}. Click to show the list.")

    def _list(self, name: str):
        q, tgt = name.split("→")
        return self.fused_lists.get(tgt) if q == FUSED else self.cross_lists.get((q, tgt))

    def show_list(self, name: str) -> None:
        """Show list ``name`` (e.g. ``"text→image"`` or ``"fused→audio"``) in the lower view."""
        if name not in self.buttons:
            raise KeyError(f"no list {name!r}; have {sorted(self.buttons)}")
        self.shown = name
        self.buttons[name].setChecked(True)
        self._draw_pair()

    # -- requests -------------------------------------------------------------------------------
    def _on_controller_table_ready(self) -> None:
        self._generation += 1
        self.data, self.cross_lists, self.similar_list, self.fused_lists = None, {}, None, {}
        self._fitted.clear()
        self._build_grid()
        self._request("")

    def _on_state_current(self, _row) -> None:
        self._request("matching…")

    def _on_state_method(self, _method) -> None:
        self._request("fitting")

    def _on_state_k(self, _k) -> None:
        self._request("matching…")

    def _request(self, placeholder: str) -> None:
        self._generation += 1
        ws, row = self.controller.workspace, self.state.current
        if ws is None or not 0 <= row < ws.table.n_items:
            self._timer.stop()
            self.data, self.cross_lists, self.similar_list, self.fused_lists = None, {}, None, {}
            self._describe_buttons()
            for view in (self.similar_view, self.pair_view):
                view.show_message("select an item to see its matches")
            self.similar_header.setText("Similar items")
            self.pair_header.setText("")
            return
        args = (self._generation, ws, row, self.state.method, self.state.k)
        self._placeholder = placeholder
        self._timer.start()
        if self._worker is None:
            self._start(args)
        else:
            self._pending = args  # newest request wins; started when the running one ends

    def _start(self, args) -> None:
        self._pending = None
        self._worker = create_worker(_compute, *args, _start_thread=False, _ignore_errors=True)
        self._worker.returned.connect(self._on_worker_returned)
        self._worker.finished.connect(self._on_worker_finished)
        self._worker.start()

    def _on_worker_finished(self) -> None:
        self._worker = None
        if self._pending is not None:
            self._start(self._pending)

    def _on_timer_timeout(self) -> None:
        text = self._placeholder
        if text == "fitting":
            ws, method = self.controller.workspace, self.state.method
            q, tgt = self.shown.split("→") if self.shown else ("", "")
            resolved = ws.resolve_method(q, tgt, method) if q in ws.table.vectors else method
            fresh = resolved != "none" and (q, tgt, resolved) not in self._fitted
            text = f"fitting {resolved}… (first use of this method can take seconds)" if fresh else "matching…"
        elif text == "matching…":
            self.similar_view.show_message(text)
        if text:
            self.pair_view.show_message(text)

    def _on_worker_returned(self, value) -> None:
        generation, data, error = value
        if generation != self._generation:
            return  # superseded
        self._timer.stop()
        if data is None:
            self.pair_view.show_message(f"could not compute matches: {error}")
            self.similar_view.show_message(f"could not compute matches: {error}")
            self.lists_ready.emit()
            return
        self.data = data
        self.cross_lists = dict(data.cross)
        for (q, tgt), lst in data.cross.items():
            if (q, tgt) not in data.errors:
                self._fitted.add((q, tgt, lst.method))
        self._reweight()
        self.lists_ready.emit()

    # -- weights (synchronous, elementwise) -----------------------------------------------------
    def _on_state_weights(self, _weights) -> None:
        if self.data is not None and self.data.row == self.state.current:
            self._reweight()
            self.reweighted.emit()

    def _reweight(self) -> None:
        weights = self.state.weight_map
        self.similar_list, self.fused_lists = self.data.reweight(weights)
        active = " · ".join(f"{m} {w:g}" for m, w in self.state.weights if m in self.data.modalities)
        self.similar_header.setText(f"<b>Similar items</b> — fused ({active})")
        self.similar_view.show_matches(self.similar_list, "item")
        self._describe_buttons()
        self._draw_pair()

    def _draw_pair(self) -> None:
        lst = self._list(self.shown) if self.shown else None
        if lst is None:
            return
        q, tgt = self.shown.split("→")
        parts = [f"<b>{q} → {tgt}</b>", lst.method]
        if lst.partner_rank is not None:
            parts.append(f"partner rank {lst.partner_rank}")
        if lst.in_training:
            parts.append("fitted on this item")
        self.pair_header.setText(" · ".join(parts))
        self.pair_view.show_matches(lst, tgt)

    # -- user choices -----------------------------------------------------------------------------
    def _on_view_row_chosen(self, row: int) -> None:
        self.state.current = row

    def _on_view_row_focused(self, row: int) -> None:
        self.state.selection = (row,)

    # -- export ---------------------------------------------------------------------------------
    def rows_for_export(self) -> list[dict]:
        """Every list shown for the current item, one dict per entry: ``query_id``, ``list``,
        ``rank``, ``match_id``, ``score``, ``is_partner`` (see :func:`iter_all_matches` for
        the same over all items)."""
        if self.data is None or self.similar_list is None:
            return []
        ids = self.controller.workspace.table.ids
        qid = str(ids[self.data.row])
        rows = export_rows(qid, "similar", self.similar_list, ids)
        for (q, tgt), lst in self.cross_lists.items():
            rows += export_rows(qid, list_name(q, tgt), lst, ids)
        for tgt, lst in self.fused_lists.items():
            rows += export_rows(qid, list_name(FUSED, tgt), lst, ids)
        return rows

    def cross_pairs(self) -> list[tuple[str, str]]:
        return cross_pairs(self._modalities())
