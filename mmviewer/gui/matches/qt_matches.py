"""The Matches panel: ranked lists for the current item, re-weighted live.

Top: fused "Similar items" (the recommendation view). Bottom: a grid with one button per list
— rows are the query modality (or ``fused``), columns the target modality, each button shows
where the true partner ranks — and the chosen list below it, headed e.g. "text → image · ridge ·
partner rank 3 · fitted on this item".

Work split: when the item, method or k change, the app model computes the weight-independent
part in two jobs (``similar_ready``: the similar list's per-modality cosines, fast;
``matches_ready``: the cross-modal lists and per-modality score vectors, which fit aligners on
the first use of a method; the similar list does not wait for them). A weight change recombines
those vectors here, synchronously: elementwise work over N (see :mod:`mmviewer.core.match.lists`
and ``benchmarks/bench_matches.py``).
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

from mmviewer.core.match.export import iter_all_matches, save_matches  # noqa: F401 (re-export)
from mmviewer.core.match.lists import (
    FUSED,
    SIMILAR,
    ItemMatches,
    SimilarItems,
    cross_pairs,
    export_rows,
    list_name,
)
from mmviewer.gui.matches.list_view import AudioDurations, MatchListView
from mmviewer.gui.preview.thumbnails import ThumbnailCache

#: Show "fitting…"/"matching…" only when a worker takes longer than this (no flicker).
PLACEHOLDER_DELAY_MS = 150


class QtMatches(QWidget):
    """Match lists of ``state.current``; see the module docstring."""

    similar_ready = Signal()  # the similar list of a new item / k is drawn
    lists_ready = Signal()  # every list of the newest item / method / k request is drawn
    reweighted = Signal()  # the weight-dependent lists were redrawn after a weight change

    def __init__(self, state, model, thumbnails=None, parent=None):
        super().__init__(parent)
        self.state = state
        self.model = model
        self.thumbnails = thumbnails if thumbnails is not None else ThumbnailCache(model, parent=self)
        self.durations = AudioDurations(model, self)
        self.similar: SimilarItems | None = None  # the similar list's cached scorer
        self._similar_k: int | None = None  # the list length it was drawn with
        self.data: ItemMatches | None = None  # cross lists and score vectors for data.row
        self.cross_lists: dict[tuple[str, str], object] = {}
        self.similar_list = None
        self.fused_lists: dict[str, object] = {}
        self.shown = ""  # name of the list in the lower view, e.g. "text→image"
        self._waiting: set[str] = set()
        self._fitted: set[tuple[str, str, str]] = set()
        self._timer = QTimer(self, singleShot=True, interval=PLACEHOLDER_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

        self.similar_header = QLabel("Similar items")
        self.similar_header.setToolTip("Items most similar to the current one under the fused "
                                       "similarity (the weight sliders); updates live while you drag.")
        self.similar_view = MatchListView(model, self.thumbnails, self.durations, min_rows=2)
        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(1)
        self.grid_box.setStyleSheet(
            "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text);"
            " font-weight: bold; border-radius: 3px; }")
        self.buttons: dict[str, QToolButton] = {}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.pair_header = QLabel()
        self.pair_header.setWordWrap(True)
        self.pair_header.setToolTip("The list shown below: query → target modality, the alignment "
                                    "method, and the rank of the item's own (true partner) media.")
        self.pair_view = MatchListView(model, self.thumbnails, self.durations)
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
        caption = QLabel("<b>Cross-modal</b> · #n: rank of the true partner")
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
        state.events.match_list.connect(self._on_state_match_list)
        model.table_ready.connect(self._on_model_table_ready)
        model.similar_ready.connect(self._on_model_similar_ready)
        model.matches_ready.connect(self._on_model_matches_ready)
        if model.workspace is not None:
            self._on_model_table_ready()

    # -- the list grid --------------------------------------------------------------------------
    def _modalities(self) -> list[str]:
        ws = self.model.workspace
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
                button.setMinimumWidth(48)
                button.clicked.connect(lambda _=False, n=name: self.show_list(n))
                self.group.addButton(button)
                self.grid.addWidget(button, i + 1, j + 1)
                self.buttons[name] = button
        names = list(self.buttons)
        preferred = list_name("text", "image")
        chosen = self.state.match_list  # the user's choice, restored with the session
        self.shown = next((n for n in (chosen, self.shown, preferred) if n in names), (names or [""])[0])
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
        self.state.match_list = name

    def _on_state_match_list(self, name: str) -> None:
        if name in self.buttons and name != self.shown and not self.model.applying_table:
            self.show_list(name)

    # -- waiting for the model (it computes the lists when the item, method or k change) ----
    def _on_model_table_ready(self) -> None:
        self.similar, self.data = None, None
        self.cross_lists, self.similar_list, self.fused_lists = {}, None, {}
        self._fitted.clear()
        self._build_grid()
        self._expect(similar=True, lists=True)

    def _on_state_current(self, _row) -> None:
        self._expect(similar=True, lists=True)

    def _on_state_method(self, _method) -> None:
        self._expect(similar=False, lists=True)

    def _on_state_k(self, _k) -> None:
        self._expect(similar=True, lists=True)

    def _expect(self, similar: bool, lists: bool) -> None:
        """The model is computing new lists: show a placeholder if they take a while."""
        ws, row = self.model.workspace, self.state.current
        if ws is None or not 0 <= row < ws.table.n_items:
            self._timer.stop()
            self._waiting.clear()
            self.similar, self.data = None, None
            self.cross_lists, self.similar_list, self.fused_lists = {}, None, {}
            self._describe_buttons()
            for view in (self.similar_view, self.pair_view):
                view.show_message("select an item to see its matches")
            self.similar_header.setText("Similar items")
            self.pair_header.setText("")
            return
        if similar:
            self._waiting.add(SIMILAR)
        if lists:
            self._waiting.add("lists")
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        """A worker is taking a while: say so instead of showing the previous item's lists."""
        if SIMILAR in self._waiting:
            self.similar_view.show_message("matching…")
        if "lists" not in self._waiting:
            return
        ws, method = self.model.workspace, self.state.method
        # known_method: never decide "auto" here (that samples the data): the UI thread waits for nothing
        fits = sorted({resolved for q, tgt in cross_pairs(self._modalities())
                       if (resolved := ws.known_method(q, tgt, method)) not in (None, "none")
                       and (q, tgt, resolved) not in self._fitted})
        text = (f"fitting {', '.join(fits)}… (the first use of a method fits its aligners on at most "
                f"{ws.fit_max_pairs:,} pairs: seconds)" if fits else "matching…")
        self.pair_view.show_message(text)
        for button in self.buttons.values():
            button.setText("…")

    def _on_model_similar_ready(self, similar: SimilarItems | None, error: str) -> None:
        if similar is not None and similar.row != self.state.current:
            return  # an answer for an item the user has left
        self._waiting.discard(SIMILAR)
        if similar is None:
            self.similar_view.show_message(f"could not compute similar items: {error}")
        elif not (similar is self.similar and self._similar_k == self.state.k):  # else drawn
            self.similar = similar
            self._draw_similar()
        self.similar_ready.emit()
        self._maybe_ready()

    def _on_model_matches_ready(self, data: ItemMatches | None, error: str) -> None:
        if data is not None and (data.row, data.method, data.k) != (
                self.state.current, self.state.method, self.state.k):
            return  # an answer to an older question
        self._waiting.discard("lists")
        if data is None:
            self.pair_view.show_message(f"could not compute matches: {error}")
        else:
            self.data = data
            self.cross_lists = dict(data.cross)
            for (q, tgt), lst in data.cross.items():
                if (q, tgt) not in data.errors:
                    self._fitted.add((q, tgt, lst.method))
            self.fused_lists = data.fused_all(self.state.weight_map)
            self._describe_buttons()
            self._draw_pair()
        self._maybe_ready()

    def _maybe_ready(self) -> None:
        if not self._waiting:
            self._timer.stop()
            self.lists_ready.emit()

    # -- weights (synchronous, elementwise) -----------------------------------------------------
    def _on_state_weights(self, _weights) -> None:
        row = self.state.current
        if self.similar is not None and self.similar.row == row:
            self._draw_similar()
        if self.data is not None and self.data.row == row:
            self.fused_lists = self.data.fused_all(self.state.weight_map)
            self._describe_buttons()
            if self.shown.startswith(FUSED):
                self._draw_pair()
        self.reweighted.emit()

    def _draw_similar(self) -> None:
        self.similar_list = self.similar.matches(self.state.weight_map, self.state.k)
        self._similar_k = self.state.k
        modalities = self._modalities()
        active = " · ".join(f"{m} {w:.2f}" for m, w in self.state.weights if m in modalities)
        self.similar_header.setText(f"<b>Similar items</b> — fused ({active})")
        self.similar_view.show_matches(self.similar_list, "item")

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
        ws = self.model.workspace
        reason = ws.method_reason(q, tgt, self.state.method, known_only=True) if ws else ""
        self.pair_header.setToolTip(f"Alignment: {reason}" if reason else "")
        self.pair_view.show_matches(lst, tgt)

    # -- user choices -----------------------------------------------------------------------------
    def _on_view_row_chosen(self, row: int) -> None:
        self.state.current = row

    def _on_view_row_focused(self, row: int) -> None:
        self.state.selection = (row,)

    # -- export ---------------------------------------------------------------------------------
    def rows_for_export(self) -> list[dict]:
        """Every list of the current item, one dict per entry: ``query_id``, ``list``, ``rank``,
        ``match_id``, ``score``, ``is_partner`` (empty while the lists are being computed; see
        :func:`iter_all_matches` for the same over all items)."""
        if (self.data is None or self.similar is None or self._waiting
                or not self.data.row == self.similar.row == self.state.current):
            return []  # still computing: the lists would not belong to one item
        ids = self.model.workspace.table.ids
        qid = str(ids[self.data.row])
        rows = export_rows(qid, SIMILAR, self.similar_list, ids)
        for (q, tgt), lst in self.cross_lists.items():
            rows += export_rows(qid, list_name(q, tgt), lst, ids)
        for tgt, lst in self.fused_lists.items():
            rows += export_rows(qid, list_name(FUSED, tgt), lst, ids)
        return rows

    def cross_pairs(self) -> list[tuple[str, str]]:
        return cross_pairs(self._modalities())
