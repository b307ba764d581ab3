"""The Suspects panel's list: a ``QAbstractTableModel`` over the ranked rows, and its view.

:class:`SuspectListModel` shows, for each item in the order of the ranking (most suspect
first): its rank, thumbnail and id, caption, a play button where it has audio, the score (tinted
above the threshold), the odd modality as a coloured badge, the item that modality would rather
belong to (thumbnail and id), and the person's mark. Cells are read from the
:class:`~mmviewer.core.evaluate.suspects.Suspicion` arrays when Qt paints them.

:class:`SuspectListView` is the item table's view (fixed-height rows, clicks and Up/Down turned
into ``row_pressed``) with the panel's keys: F fine, W wrong, U unmark, Space play, and a press
on the play column reported as ``play_pressed``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyle

from mmviewer.core.app.colours import MODALITY_COLOURS, PALETTE
from mmviewer.core.app.suspects import FINE, WRONG
from mmviewer.gui.preview.thumbnails import RowPixmaps
from mmviewer.gui.table.table_model import ListedRows
from mmviewer.gui.table.view import ItemTableView

THUMB_PX = 32
PIXMAPS = 256
ROW_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("rank", "item", "play", "score", "odd", "rather", "mark", "caption")
HEADERS = {"rank": "#", "item": "item", "caption": "caption", "play": "", "score": "score",
           "odd": "odd", "rather": "rather", "mark": "mark"}
HEADER_TIPS = {
    "rank": "Rank by suspicion: 1 is the item whose modalities disagree most",
    "item": "The item (its image and id)",
    "caption": "The item's text",
    "play": "Play the item's audio (Space)",
    "score": "Suspicion: how far its modalities' agreement falls below that of look-alike "
             "items; above the threshold (tinted) it is a suspect. Hover for each pair's score.",
    "odd": "The odd one out: the modality that disagrees with the others (with three "
           "modalities, the one whose two pairs both score low)",
    "rather": "The item the odd modality would rather belong to (its best match among the "
              "others): e.g. the audio clip seems to be that item's rather than this one's",
    "mark": "Your verdict: fine (F) or wrong (W); U takes it back",
}
MARK_TEXT = {FINE: "✓ fine", WRONG: "✗ wrong", "": ""}
MARK_COLOURS = {FINE: QColor(44, 160, 44), WRONG: QColor(214, 39, 40)}
SUSPECT_TINT = QBrush(QColor(214, 39, 40, 45))


def badge_colour(modality: str) -> QColor:
    rgb = MODALITY_COLOURS.get(modality, PALETTE[4])
    return QColor.fromRgbF(float(rgb[0]), float(rgb[1]), float(rgb[2]))


class SuspectListModel(ListedRows, QAbstractTableModel):
    """Rows in display order (``rows``: table rows); see the module docstring."""

    def __init__(self, thumbnails=None, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.suspicion = None
        self.has_audio = np.zeros(0, bool)
        self.rows = np.empty(0, np.int64)
        self.rank = np.zeros(0, np.int64)  # table row -> rank (1-based) in the whole ranking
        self.order = np.empty(0, np.int64)
        self.marks = np.zeros(0, dtype=object)
        self.current = -1
        self._position: np.ndarray | None = None
        self._pixmaps = RowPixmaps(THUMB_PX, PIXMAPS)
        self._bold = QFont()
        self._bold.setBold(True)
        self._play = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnails_ready)

    # -- what is shown ------------------------------------------------------------------------
    def set_suspicion(self, suspicion, has_audio, marks) -> None:
        self.beginResetModel()
        self.suspicion = suspicion
        n = len(suspicion.score) if suspicion is not None else 0
        self.has_audio = np.asarray(has_audio, bool) if has_audio is not None else np.zeros(n, bool)
        self.rank = np.zeros(n, np.int64)
        #: Rows most suspect first (NaN last), sorted once per result.
        self.order = np.asarray(suspicion.order(), np.int64) if suspicion is not None else \
            np.empty(0, np.int64)
        self.rank[self.order] = np.arange(1, n + 1)
        self.marks = marks
        self.rows = np.empty(0, np.int64)
        self._position = None
        self._pixmaps.clear()
        self.endResetModel()

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = np.asarray(rows, np.int64)
        self._position = None
        self.endResetModel()

    def set_marks(self, marks) -> None:
        self.marks = marks
        self.refresh()

    def set_current(self, row: int) -> None:
        self.current = int(row)
        self.refresh()

    def refresh(self) -> None:
        if len(self.rows):
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))

    def n_table_rows(self) -> int:
        return len(self.rank)

    # -- Qt -----------------------------------------------------------------------------------
    def columnCount(self, parent=None) -> int:  # noqa: N802 (Qt override)
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        key = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[key]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[key]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.suspicion is None:
            return None
        row, key = int(self.rows[index.row()]), COLUMNS[index.column()]
        if role == ROW_ROLE:
            return row
        s = self.suspicion
        odd = str(s.odd[row] or "")
        if key == "odd" and odd:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(badge_colour(odd))
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(255, 255, 255))
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(key, row)
        if role == Qt.ItemDataRole.DecorationRole:
            if key == "item":
                return self._pixmap(row)
            if key == "rather" and s.rather[row] >= 0:
                return self._pixmap(int(s.rather[row]))
            if key == "play" and self.has_audio[row]:
                return self._play
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(key, row)
        if role == Qt.ItemDataRole.FontRole and (row == self.current or key == "mark"):
            return self._bold
        if role == Qt.ItemDataRole.ForegroundRole and key == "mark" and self.marks[row]:
            return QBrush(MARK_COLOURS[self.marks[row]])
        if role == Qt.ItemDataRole.BackgroundRole:
            if row == self.current:
                colour = QApplication.palette().color(QPalette.ColorGroup.Active,
                                                      QPalette.ColorRole.Highlight)
                colour.setAlpha(70)
                return QBrush(colour)
            if key == "score" and s.score[row] > s.threshold:
                return SUSPECT_TINT
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("rank", "score"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, key: str, row: int) -> str:
        s = self.suspicion
        if key == "rank":
            return str(self.rank[row])
        if key == "item":
            return str(s.ids[row])
        if key == "caption":
            return self.thumbnails.caption(row) if self.thumbnails is not None else ""
        if key == "score":
            v = float(s.score[row])
            return "" if np.isnan(v) else f"{v:.2f}"
        if key == "odd":
            return str(s.odd[row] or "—")
        if key == "rather":
            rather = int(s.rather[row])
            return str(s.ids[rather]) if rather >= 0 else ""
        if key == "mark":
            return MARK_TEXT[self.marks[row]]
        return ""

    def _tip(self, key: str, row: int) -> str:
        s = self.suspicion
        item = str(s.ids[row])
        if key == "score":
            pairs = [f"{p.replace(':', ' ↔ ')}: {_pair_text(v[row])}" for p, v in sorted(s.pairs.items())]
            return "\n".join([f"{item}: suspicion {self._text('score', row)} (suspect above "
                              f"{s.threshold:.2f})", *pairs])
        if key == "odd":
            odd = str(s.odd[row] or "")
            if not odd:
                return ("No single modality stands out: with two modalities, or when every pair "
                        "scores alike, the pair as a whole disagrees")
            return f"{item}: its {odd} disagrees with its other modalities"
        if key == "rather":
            rather = int(s.rather[row])
            if rather < 0:
                return "No other item fits it better"
            what = str(s.odd[row] or "query side")
            caption = self.thumbnails.caption(rather) if self.thumbnails is not None else ""
            return (f"{item}'s {what} matches {s.ids[rather]} better than its own item"
                    + (f"\n{s.ids[rather]}: {caption}" if caption else ""))
        if key == "play":
            return "Play its audio (Space)" if self.has_audio[row] else "This item has no audio"
        if key == "caption":
            return self._text("caption", row)
        return HEADER_TIPS[key]

    # -- thumbnails ---------------------------------------------------------------------------
    def _pixmap(self, row: int):
        return self._pixmaps.get(self.thumbnails, row)

    def _on_thumbnails_ready(self, row: int) -> None:
        if self.suspicion is None or not len(self.rows):
            return
        for col in (COLUMNS.index("item"), COLUMNS.index("rather")):
            top, bottom = self.index(0, col), self.index(len(self.rows) - 1, col)
            self.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DecorationRole])
            # one signal per column: the row may show as an item or as another's "rather"


def _pair_text(v) -> str:
    v = float(v)
    return "—" if np.isnan(v) else f"{v:.2f}"


class SuspectListView(ItemTableView):
    """The item table's view with the panel's keys (see the module docstring)."""

    mark_pressed = Signal(object)  # "fine", "wrong" or None (unmark)
    play_pressed = Signal()  # Space, or a press on the play column (after row_pressed)

    KEYS = {Qt.Key.Key_F: FINE, Qt.Key.Key_W: WRONG, Qt.Key.Key_U: None}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortingEnabled(False)  # the ranking is the order
        self.horizontalHeader().setSectionsMovable(False)
        self.set_thumbnails(True)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().mousePressEvent(event)
        index = self.indexAt(event.position().toPoint())
        if (index.isValid() and event.button() == Qt.MouseButton.LeftButton
                and COLUMNS[index.column()] == "play"):
            self.play_pressed.emit()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        key, mods = event.key(), event.modifiers()
        plain = not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        if plain and key in self.KEYS:
            self.mark_pressed.emit(self.KEYS[key])
            return
        if plain and key == Qt.Key.Key_Space:
            self.play_pressed.emit()
            return
        super().keyPressEvent(event)
