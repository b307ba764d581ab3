"""The item table's Qt model: a ``QAbstractTableModel`` over the frame's arrays.

Rows are positions in the current view (``rows``: table rows in display order, from
:func:`mmviewer.core.items.view.item_view`); cells are read from the
:class:`~mmviewer.core.items.frame.ItemFrame` only when Qt paints them, so a million items cost
two int arrays here and nothing per row. Selected rows are painted from a boolean mask
(``state.selection``), not from Qt's selection model, whose ranges grow with scattered
selections; the current item is drawn bold.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication

from mmviewer.gui.preview.thumbnails import RowPixmaps

THUMB = "thumb"
THUMB_PX = 32
PIXMAPS = 256  # scaled thumbnails kept for painting
ROW_ROLE = Qt.ItemDataRole.UserRole


class ListedRows:
    """The table rows a model lists, in view order, and the way back from a row to its place
    (the item table and the suspects list). ``rows`` is set by the model; reset ``_position``
    with it."""

    rows: np.ndarray
    _position: np.ndarray | None = None

    def n_table_rows(self) -> int:  # pragma: no cover - each model says
        raise NotImplementedError

    def position_of(self, row: int) -> int:
        """View position of table row ``row``, or -1 when it is not listed."""
        if self._position is None:
            self._position = np.full(self.n_table_rows(), -1, np.int64)
            self._position[self.rows] = np.arange(len(self.rows))
        return int(self._position[row]) if 0 <= row < len(self._position) else -1

    def row_at(self, position: int) -> int:
        return int(self.rows[position]) if 0 <= position < len(self.rows) else -1

    def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt override)
        return 0 if parent is not None and parent.isValid() else len(self.rows)


class ItemTableModel(ListedRows, QAbstractTableModel):
    """Cells of the rows in view; ``keys`` are the frame's column keys (plus ``"thumb"``)."""

    sort_requested = Signal(str, bool)  # column key, descending

    def __init__(self, thumbnails=None, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.frame = None
        self.keys: list[str] = []
        self.rows = np.empty(0, np.int64)
        self.selected = np.zeros(0, bool)
        self.current = -1
        self._position: np.ndarray | None = None  # table row -> view position (-1: not shown)
        self._pixmaps = RowPixmaps(THUMB_PX, PIXMAPS)
        self._bold = QFont()
        self._bold.setBold(True)
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnails_ready)

    # -- what is shown ------------------------------------------------------------------------
    def set_frame(self, frame, thumbs: bool) -> None:
        self.beginResetModel()
        self.frame = frame
        self.keys = ([THUMB] if thumbs else []) + [c.key for c in frame.columns]
        self.rows = np.arange(frame.n, dtype=np.int64)
        self.selected = np.zeros(frame.n, bool)
        self._position = None
        self._pixmaps.clear()
        self.endResetModel()

    def set_rows(self, rows: np.ndarray) -> None:
        self.beginResetModel()
        self.rows = np.asarray(rows, np.int64)
        self._position = None
        self.endResetModel()

    def set_selected(self, rows) -> None:
        if self.frame is None:
            return
        mask = np.zeros(self.frame.n, bool)
        rows = np.asarray(rows, np.int64)
        mask[rows[(rows >= 0) & (rows < self.frame.n)]] = True
        self.selected = mask
        self.refresh()

    def set_current(self, row: int) -> None:
        self.current = int(row)
        self.refresh()

    def refresh(self) -> None:
        """Repaint the cells in view (values, selection or the current row changed)."""
        if len(self.rows) and self.keys:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(self.keys) - 1))

    def n_table_rows(self) -> int:
        return self.frame.n if self.frame is not None else 0

    # -- Qt -----------------------------------------------------------------------------------
    def columnCount(self, parent=None) -> int:  # noqa: N802 (Qt override)
        return 0 if parent is not None and parent.isValid() else len(self.keys)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.frame is None:
            return None
        row, key = int(self.rows[index.row()]), self.keys[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if key == THUMB else self.frame.text(key, row)
        if role == Qt.ItemDataRole.DecorationRole and key == THUMB:
            return self._pixmap(row)
        if role == Qt.ItemDataRole.BackgroundRole and self.selected[row]:
            return QApplication.palette().brush(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
        if role == Qt.ItemDataRole.ForegroundRole and self.selected[row]:
            return QApplication.palette().brush(QPalette.ColorGroup.Active,
                                                QPalette.ColorRole.HighlightedText)
        if role == Qt.ItemDataRole.FontRole and row == self.current:
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and key != THUMB \
                and self.frame.by_key[key].kind in ("number", "rank"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and key != THUMB:
            return f"{self.frame.text('id', row)} · {self.frame.by_key[key].title}: {self.frame.text(key, row)}"
        if role == ROW_ROLE:
            return row
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.keys):
            return None
        key = self.keys[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if key == THUMB else self.frame.by_key[key].title
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == THUMB:
                return "The item's image"
            column = self.frame.by_key[key]
            return f"{column.tip}. Filter name: {column.name}. Click to sort."
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(self.keys) and self.keys[column] != THUMB:
            self.sort_requested.emit(self.keys[column], order == Qt.SortOrder.DescendingOrder)

    # -- thumbnails ---------------------------------------------------------------------------
    def _pixmap(self, row: int):
        return self._pixmaps.get(self.thumbnails, row)

    def _on_thumbnails_ready(self, row: int) -> None:
        if self.frame is None or THUMB not in self.keys or not 0 <= row < self.frame.n:
            return
        pos = self.position_of(row)
        if pos >= 0:
            cell = self.index(pos, self.keys.index(THUMB))
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])
