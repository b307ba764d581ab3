"""The Text query panel: type a description, find the items that match it.

Enter runs :meth:`AppModel.run_text_query` (the text is embedded in a worker with the
dataset's text encoder and ranked against every item through the current alignment and
weights); ``query_ready`` fills the hit list and lights the hits up on the map through
``state.highlight``: the top k, less those under the minimum score, and the status says how
many it lit out of how many items. Clicking a hit makes it the current item; Clear resets the
highlight. (Finding items by id, file name or metadata is the Items panel's exact search.)
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mmviewer.gui.preview.thumbnails import ThumbnailCache

ICON = 40
TOP_K = 10
NO_MINIMUM = -1.0  # the score spin's lowest value: no minimum
ROW_ROLE = Qt.ItemDataRole.UserRole
ENCODER_TIP = (
    "Search by text: your words are embedded with the dataset's text encoder (the CLIP text "
    "tower, or the TF-IDF/LSA encoder when working offline) and every item is ranked by how well "
    "its media match, through the current alignment method and fusion weights. Press Enter to search."
)


class QtQuery(QWidget):
    """Free-text search over the items; hits are highlighted on the map."""

    results_shown = Signal()  # the hit list was redrawn from query_ready

    def __init__(self, state, model, thumbnails=None, parent=None):
        super().__init__(parent)
        self.state = state
        self.model = model
        self.thumbnails = thumbnails if thumbnails is not None else ThumbnailCache(model, parent=self)
        self.searching = ""
        self._items: dict[int, QListWidgetItem] = {}

        self.edit = QLineEdit(placeholderText="Search by text…", clearButtonEnabled=True)
        self.edit.setToolTip(ENCODER_TIP)
        self.edit.returnPressed.connect(self._on_edit_return_pressed)
        self.search_button = QToolButton(text="Search")
        self.search_button.setToolTip(ENCODER_TIP)
        self.search_button.clicked.connect(self._on_edit_return_pressed)
        self.clear_button = QToolButton(text="Clear")
        self.clear_button.setToolTip("Clear the hits and their highlight on the map")
        self.clear_button.clicked.connect(self.clear)
        self.k_spin = QSpinBox(minimum=1, maximum=10_000, value=TOP_K)
        self.k_spin.setPrefix("top ")
        self.k_spin.setToolTip("How many of the best-scoring items to light up at most")
        self.min_spin = QDoubleSpinBox(minimum=NO_MINIMUM, maximum=1.0, singleStep=0.05,
                                       decimals=2, value=NO_MINIMUM)
        self.min_spin.setPrefix("score ≥ ")
        self.min_spin.setSpecialValueText("any score")
        self.min_spin.setToolTip("Light up only hits scoring at least this (cosine through the "
                                 "alignment; 'any score' keeps the whole top k)")
        for spin in (self.k_spin, self.min_spin):
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self._on_spin_value_changed)
        self._last: tuple | None = None  # the rows and scores of the last search
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setToolTip("What the last search found")
        self.results = QListWidget()
        self.results.setIconSize(QSize(ICON, ICON))
        self.results.setUniformItemSizes(True)
        self.results.setToolTip("Hits, best first, with their score; click one (or press Enter) "
                                "to make it the current item")
        self.results.itemClicked.connect(self._on_results_item_chosen)
        self.results.itemActivated.connect(self._on_results_item_chosen)
        blank = QPixmap(ICON, ICON)
        blank.fill(QColor(0, 0, 0, 0))
        self._blank = QIcon(blank)

        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addWidget(self.search_button)
        row.addWidget(self.clear_button)
        limits = QHBoxLayout()
        limits.addWidget(self.k_spin)
        limits.addWidget(self.min_spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addLayout(limits)
        layout.addWidget(self.status)
        layout.addWidget(self.results, 1)

        model.query_ready.connect(self._on_model_query_ready)
        model.table_ready.connect(self._on_model_table_ready)
        model.notice.connect(self._on_model_notice)
        self.thumbnails.ready.connect(self._on_thumbnails_ready)

    # -- searching ------------------------------------------------------------------------------
    def search(self, text: str) -> None:
        """Run a text query (what Enter does)."""
        text = text.strip()
        if not text:
            return
        if self.model.workspace is None or "text" not in self.model.encoders:
            self.status.setText("Text search needs a dataset embedded with a text encoder "
                                "(a precomputed table brings none).")
        else:
            self.searching = text
            self.status.setText(f"<i>searching for “{html.escape(text)}”…</i>")
        self.model.run_text_query(text, k=self.k_spin.value())

    def _on_edit_return_pressed(self) -> None:
        self.search(self.edit.text())

    def _on_model_notice(self, notice) -> None:
        if self.searching and notice.level == "error" and notice.text.startswith("query"):
            self.status.setText(f"Search failed: {notice.text}")
            self.searching = ""

    def _on_model_query_ready(self, rows, scores) -> None:
        self._last = ([int(r) for r in rows], [float(v) for v in scores], self.searching)
        self.searching = ""
        self._show_hits()

    def _on_spin_value_changed(self, _value) -> None:
        if self._last is not None:
            if len(self._last[0]) < self.k_spin.value() and self._last[2]:
                self.search(self._last[2])  # more hits than the last search fetched
            else:
                self._show_hits()

    def _show_hits(self) -> None:
        all_rows, all_scores, text = self._last
        k, low = self.k_spin.value(), self.min_spin.value()
        kept = [(r, s) for r, s in zip(all_rows[:k], all_scores[:k], strict=True)
                if low <= NO_MINIMUM or s >= low]
        self.results.clear()
        self._items = {}
        ids = self.model.workspace.table.ids
        for rank, (row, score) in enumerate(kept, start=1):
            caption = self.thumbnails.caption(row)
            item = QListWidgetItem(f"{rank}. {ids[row]}  ·  {score:.3f}\n{caption or ''}")
            item.setData(ROW_ROLE, row)
            image = self.thumbnails.get(row)
            item.setIcon(QIcon(QPixmap.fromImage(image)) if image is not None else self._blank)
            item.setToolTip(f"{ids[row]}: score {score:.3f}\n{caption}")
            self.results.addItem(item)
            self._items[row] = item
        self.status.setText(self._describe(len(kept), min(k, len(all_rows)), text))
        self.state.highlight = tuple(sorted(r for r, _ in kept))
        self.results_shown.emit()

    def _describe(self, lit: int, top: int, text: str) -> str:
        n = self.model.workspace.table.n_items
        what = f" for “{html.escape(text)}”" if text else ""
        if not lit:
            return f"Lit nothing{what}: no item scores ≥ {self.min_spin.value():.2f}"
        out = f"Lit {lit:,} of {n:,} items{what}"
        if lit < top:
            out += f" ({top - lit} of the top {top} score under {self.min_spin.value():.2f})"
        if lit >= n:
            out += " — every item: lower top k or set a minimum score to single some out"
        return out

    def _on_thumbnails_ready(self, row: int) -> None:
        item = self._items.get(row)
        image = self.thumbnails.get(row)
        if item is not None and image is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _on_results_item_chosen(self, item: QListWidgetItem) -> None:
        self.state.current = int(item.data(ROW_ROLE))

    def clear(self) -> None:
        """Forget the hits and reset the map highlight."""
        self._last = None
        self.results.clear()
        self._items = {}
        self.status.setText("")
        self.state.highlight = ()

    def _on_model_table_ready(self) -> None:
        self._last = None
        self.results.clear()
        self._items = {}
        self.status.setText("")
        self.searching = ""
