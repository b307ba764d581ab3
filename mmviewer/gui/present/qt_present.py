"""Presentation mode (F11): the map and the current item full screen, in large type.

``QtPresentation(state, model, thumbnails)`` is a window of its own over the same state: a map
(a second :class:`~mmviewer.gui.map.qt_map.QtMap`, its toolbar hidden), the preview of the
current item (image, text, audio with playback) and a strip of its matches. Left/Right (also
Page Up/Down, Space, Backspace) step through the chosen items: the selection in row order, or
every item when nothing is selected; Home/End jump to the ends. Escape or F11 leave. Everything
it shows follows ``state.current``, so the main window stays in step behind it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from mmviewer.gui.map.qt_map import QtMap
from mmviewer.gui.present.match_strip import QtMatchStrip
from mmviewer.gui.preview.qt_preview import QtPreview

FONT_SCALE = 1.6
NEXT_KEYS = (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space, Qt.Key.Key_Down)
PREVIOUS_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Backspace, Qt.Key.Key_Up)
HOME = 10**9  # a step that far lands on the list's first or last item


def steps(selection, n_items: int) -> list[int]:
    """The rows presented in order: the selection (row order), or every row."""
    rows = sorted({int(r) for r in selection if 0 <= int(r) < n_items})
    return rows or list(range(n_items))


class QtPresentation(QWidget):
    """The presentation window; see the module docstring."""

    stepped = Signal(int)  # the row now current
    left = Signal()  # the user left presentation mode

    def __init__(self, state, model, thumbnails, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("presentation")
        self.setWindowTitle("mmviewer — presentation")
        self.state, self.model = state, model
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * FONT_SCALE)
        self.setFont(font)
        self.map = QtMap(state, model, thumbnails)
        self.map.toolbar.hide()
        self.preview = QtPreview(state, model, thumbnails)
        self.preview.meta.hide()  # file paths are not for an audience; the heading names the item
        self.strip = QtMatchStrip(state, model, thumbnails)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.hint = QLabel("← → step through the items · P pictures · Esc leaves")
        self.hint.setEnabled(False)
        for label in (self.heading, self.hint):  # long ids must not widen the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top = QHBoxLayout()
        top.addWidget(self.heading, 3)
        top.addWidget(self.hint, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.map)
        split.addWidget(self.preview)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.split = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 12)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.strip)
        # Shortcuts, not key events: the map's view and the strip's list would eat the arrows.
        for key in ("Escape", "F11"):
            QShortcut(QKeySequence(key), self, activated=self.leave)
        QShortcut(QKeySequence("P"), self, activated=self.toggle_pictures)
        for keys, delta in ((NEXT_KEYS, 1), (PREVIOUS_KEYS, -1), ((Qt.Key.Key_Home,), -HOME),
                            ((Qt.Key.Key_End,), HOME)):
            for key in keys:
                QShortcut(QKeySequence(key), self, activated=lambda d=delta: self.step(d))
        state.events.current.connect(self._on_state_current)
        state.events.selection.connect(self._on_state_selection)
        self._on_state_current(state.current)

    # -- stepping -------------------------------------------------------------------------------
    def rows(self) -> list[int]:
        ws = self.model.workspace
        return steps(self.state.selection, ws.table.n_items) if ws is not None else []

    def step(self, delta: int) -> int:
        """Move ``delta`` items along the list (clamped at its ends); returns the new row."""
        rows = self.rows()
        if not rows:
            return -1
        here = self.state.current
        if here in rows:
            i = min(max(rows.index(here) + delta, 0), len(rows) - 1)
        else:  # not on the list: start at its first (or last) item
            i = 0 if delta >= 0 else len(rows) - 1
        self.state.current = rows[i]
        return rows[i]

    # -- showing --------------------------------------------------------------------------------
    def present(self) -> None:
        """Go full screen on the current item (the first chosen one when there is none)."""
        if self.state.current not in self.rows():
            self.step(0)
        screen = self.screen() or QGuiApplication.primaryScreen()
        self._layout_for_screen()
        self.showFullScreen()
        if screen is not None and not self.geometry().contains(screen.geometry()):
            self.setGeometry(screen.geometry())  # no window manager honoured "full screen"
            self.setWindowState(self.windowState() | Qt.WindowState.WindowFullScreen)
        self.raise_()
        self.activateWindow()
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.model.request_matches()  # the strip draws the current item's lists
        self.map.reset_view()

    def toggle_pictures(self) -> None:
        """Item pictures on the map instead of dots (when few enough are in view)."""
        images = self.map.images
        images.set_enabled(not images.action.isChecked())

    def leave(self) -> None:
        self.preview.audio.stop()
        self.hide()
        self.left.emit()

    def _layout_for_screen(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() else None
        height = screen.height() if screen is not None else 1000
        self.strip.set_tile_size(int(height * 0.15))
        width = screen.width() if screen is not None else 1600
        self.split.setSizes([int(width * 0.6), int(width * 0.4)])

    def _on_state_current(self, row: int) -> None:
        ws = self.model.workspace
        rows = self.rows()
        if ws is None or not 0 <= row < ws.table.n_items:
            self.heading.setText("<b>No item chosen</b>")
            return
        where = f"{rows.index(row) + 1} of {len(rows)}" if row in rows else "not on the list"
        chosen = "selected items" if self.state.selection else "items"
        meta = " · ".join(f"{html.escape(str(k))}: <b>{html.escape(str(v[row]))}</b>"
                          for k, v in list(ws.table.metadata.items())[:3])
        self.heading.setText(f"<b>{html.escape(str(ws.table.ids[row]))}</b> &nbsp; {meta} &nbsp; "
                             f"<span style='color:gray'>{where} {chosen}</span>")
        self.stepped.emit(row)

    def _on_state_selection(self, _rows) -> None:
        self._on_state_current(self.state.current)
