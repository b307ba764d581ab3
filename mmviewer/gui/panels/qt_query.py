"""The Text query panel: type a description, find the items that match it.

Enter runs :meth:`AppModel.run_text_query` (the text is embedded in a worker with the
dataset's text encoder and ranked against every item through the current alignment and
weights); ``query_ready`` fills the hit list and lights the hits up on the map through
``state.highlight``. Clicking a hit makes it the current item; Clear resets the highlight.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mmviewer.gui.preview.thumbnails import ThumbnailCache

ICON = 40
MIN_HITS = 20
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
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
        self.model.run_text_query(text, k=max(MIN_HITS, self.state.k))

    def _on_edit_return_pressed(self) -> None:
        self.search(self.edit.text())

    def _on_model_notice(self, notice) -> None:
        if self.searching and notice.level == "error" and notice.text.startswith("query"):
            self.status.setText(f"Search failed: {notice.text}")
            self.searching = ""

    def _on_model_query_ready(self, rows, scores) -> None:
        rows = [int(r) for r in rows]
        self.results.clear()
        self._items = {}
        ids = self.model.workspace.table.ids
        for rank, (row, score) in enumerate(zip(rows, scores, strict=True), start=1):
            caption = self.thumbnails.caption(row)
            item = QListWidgetItem(f"{rank}. {ids[row]}  ·  {float(score):.3f}\n{caption or ''}")
            item.setData(ROW_ROLE, row)
            image = self.thumbnails.get(row)
            item.setIcon(QIcon(QPixmap.fromImage(image)) if image is not None else self._blank)
            item.setToolTip(f"{ids[row]}: score {float(score):.3f}\n{caption}")
            self.results.addItem(item)
            self._items[row] = item
        what = f" for “{self.searching}”" if self.searching else ""
        self.status.setText(f"{len(rows)} hit(s){what}, highlighted on the map" if rows
                            else f"no hits{what}")
        self.searching = ""
        self.state.highlight = tuple(rows)
        self.results_shown.emit()

    def _on_thumbnails_ready(self, row: int) -> None:
        item = self._items.get(row)
        image = self.thumbnails.get(row)
        if item is not None and image is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _on_results_item_chosen(self, item: QListWidgetItem) -> None:
        self.state.current = int(item.data(ROW_ROLE))

    def clear(self) -> None:
        """Forget the hits and reset the map highlight."""
        self.results.clear()
        self._items = {}
        self.status.setText("")
        self.state.highlight = ()

    def _on_model_table_ready(self) -> None:
        self.results.clear()
        self._items = {}
        self.status.setText("")
        self.searching = ""
