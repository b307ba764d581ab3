"""The item table's view: fixed-height rows (a million scroll like ten), clicks and keys as a
person expects from a list of files, reported as view positions with their modifiers.

Qt's own selection is off (``NoSelection``): the panel keeps the selection in the state and the
model paints it, so a click, Ctrl-click (toggle), Shift-click (range), Up/Down (move, with Shift
extend), Ctrl+A (all shown) and Escape (none) are turned into :attr:`row_pressed`,
:attr:`select_all` and :attr:`escape`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

ROW_PX = 22
THUMB_ROW_PX = 36
MOVE_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown,
             Qt.Key.Key_Home, Qt.Key.Key_End)


class ItemTableView(QTableView):
    row_pressed = Signal(int, object)  # view position, keyboard modifiers
    select_all = Signal()
    escape = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row size queries
        rows.setDefaultSectionSize(ROW_PX)
        rows.hide()
        header = self.horizontalHeader()
        header.setSectionsMovable(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def set_thumbnails(self, on: bool) -> None:
        self.verticalHeader().setDefaultSectionSize(THUMB_ROW_PX if on else ROW_PX)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().mousePressEvent(event)
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            self.row_pressed.emit(index.row(), event.modifiers())

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        key, mods = event.key(), event.modifiers()
        if key == Qt.Key.Key_A and mods & Qt.KeyboardModifier.ControlModifier:
            self.select_all.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        before = self.currentIndex().row()
        super().keyPressEvent(event)
        after = self.currentIndex().row()
        if key in MOVE_KEYS and after >= 0 and after != before:
            self.row_pressed.emit(after, mods & Qt.KeyboardModifier.ShiftModifier)
