"""One ranked match list of the Matches panel, and the audio durations its audio rows show.

:class:`MatchListView` draws a :class:`~mmviewer.core.match.lists.MatchList`: rank, the match
(a thumbnail for image targets, the caption for text, id + duration for audio, thumbnail and
caption for whole items), the score, and a clear mark on the true partner. Up/Down walk the
list (``row_focused``); a click or Enter chooses a row (``row_chosen``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTreeWidget, QTreeWidgetItem

from mmviewer.core.app.runner import each

ICON = 32
#: A list always shows at least this many rows (the panel scrolls rather than squash it).
MIN_ROWS = 3
PARTNER_MARK = "✓ partner"
PARTNER_BRUSH = QBrush(QColor(60, 180, 75, 80))
ROW_ROLE = Qt.ItemDataRole.UserRole


def _duration(path) -> float | None:
    """An audio file's duration from its header (no decoding)."""
    import soundfile

    info = soundfile.info(str(path))
    return info.frames / info.samplerate if info.samplerate else None


class AudioDurations(QObject):
    """Durations of items' audio files, read off the UI thread and cached."""

    updated = Signal()

    def __init__(self, model, parent=None):
        super().__init__(parent)
        self.model = model
        self._known: dict[int, float | None] = {}
        self._missing: dict[int, object] = {}  # row -> path, asked and not yet read
        self._job = model.jobs.slot("audio-durations", id(self))
        model.table_ready.connect(self._on_model_table_ready)

    def _on_model_table_ready(self) -> None:
        self._job.cancel()
        self._known.clear()
        self._missing.clear()

    def get(self, row: int) -> float | None:
        return self._known.get(row)

    def request(self, rows) -> None:
        """Read the durations of ``rows`` in the background (``updated`` as they land)."""
        added = False
        for row in map(int, rows):
            item = self.model.item(row)
            ref = item.media.get("audio") if item is not None else None
            if row not in self._known and row not in self._missing and ref is not None and ref.path is not None:
                self._missing[row] = ref.path
                added = True
        if added:
            self._job.submit(each, _duration, list(self._missing.items()),
                             on_progress=self._on_duration_read)

    def _on_duration_read(self, value) -> None:
        row, seconds, _error = value  # an unreadable header: the row shows no duration
        if self._missing.pop(row, None) is not None:
            self._known[row] = seconds
            self.updated.emit()


class MatchListView(QTreeWidget):
    """A ranked list; ``kind`` is the target modality, or ``"item"`` for whole items."""

    row_chosen = Signal(int)  # clicked or Enter
    row_focused = Signal(int)  # the keyboard/mouse cursor moved onto a row

    def __init__(self, model, thumbnails, durations: AudioDurations, parent=None,
                 min_rows: int = MIN_ROWS):
        super().__init__(parent)
        self.model = model
        self.thumbnails = thumbnails
        self.durations = durations
        self.kind = "item"
        self._items: dict[int, QTreeWidgetItem] = {}
        self._query_row = -1
        self.setColumnCount(4)
        self.setHeaderLabels(["#", "match", "score", ""])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAllColumnsShowFocus(True)
        self.setIconSize(QSize(ICON, ICON))
        self.setMinimumHeight(self.header().sizeHint().height() + min_rows * (ICON + 4) + 4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setToolTip("Ranked matches, best first; the true partner is marked ✓. Click or press "
                        "Enter to open a match, Up/Down to walk the list.")
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        blank = QPixmap(ICON, ICON)
        blank.fill(QColor(0, 0, 0, 0))
        self._blank_icon = QIcon(blank)
        speaker = QPixmap(blank)  # a small speaker centred in the thumbnail's place
        painter = QPainter(speaker)
        small = self.style().standardIcon(QStyle.StandardPixmap.SP_MediaVolume).pixmap(ICON // 2)
        painter.drawPixmap((ICON - small.width()) // 2, (ICON - small.height()) // 2, small)
        painter.end()
        self._audio_icon = QIcon(speaker)
        self.itemClicked.connect(self._on_view_item_chosen)
        self.itemActivated.connect(self._on_view_item_chosen)
        self.currentItemChanged.connect(self._on_view_current_changed)
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnails_ready)
        durations.updated.connect(self._on_durations_updated)

    # -- filling --------------------------------------------------------------------------------
    def show_matches(self, matches, kind: str) -> None:
        """Show ``matches`` (a MatchList); its ``note`` when it is empty."""
        if len(matches.rows) == 0:
            self.show_message(matches.note or "no matches")
            return
        self.kind = kind
        ids = self.model.workspace.table.ids
        self.blockSignals(True)
        self.clear()
        self._items = {}
        for i, (row, score) in enumerate(zip(matches.rows, matches.scores, strict=True)):
            row = int(row)
            item = QTreeWidgetItem([str(i + 1), "", f"{score:.3f}", ""])
            item.setData(0, ROW_ROLE, row)
            item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if kind != "item" and row == matches.query_row:
                item.setText(3, PARTNER_MARK)
                font = QFont(item.font(1))
                font.setBold(True)
                for col in range(4):
                    item.setFont(col, font)
                    item.setBackground(col, PARTNER_BRUSH)
                item.setToolTip(3, "The query item's own media: the true cross-modal partner.")
            self._describe(item, row, str(ids[row]))
            self._items[row] = item
            self.addTopLevelItem(item)
        self.blockSignals(False)
        if matches.query_row != self._query_row:  # another item: its list starts at #1
            self._query_row = matches.query_row
            self.scrollToTop()
        if kind == "audio":
            self.durations.request(self._items)

    def show_message(self, text: str) -> None:
        """Replace the list by one grey, unselectable line (placeholder or note)."""
        self.blockSignals(True)
        self.clear()
        self._items = {}
        item = QTreeWidgetItem(["", text, "", ""])
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        item.setToolTip(1, text)
        self.addTopLevelItem(item)
        self.blockSignals(False)

    def rows(self) -> list[int]:
        """The item rows shown, best first."""
        return list(self._items)

    def partner_index(self) -> int | None:
        """Position of the marked partner in the list, or None."""
        for i in range(self.topLevelItemCount()):
            if self.topLevelItem(i).text(3) == PARTNER_MARK:
                return i
        return None

    def _describe(self, item: QTreeWidgetItem, row: int, item_id: str) -> None:
        caption = self.thumbnails.caption(row) if self.thumbnails is not None else ""
        if self.kind == "text":
            item.setText(1, caption or item_id)
            item.setToolTip(1, f"{item_id}\n{caption}" if caption else item_id)
            return
        if self.kind == "audio":
            seconds = self.durations.get(row)
            item.setIcon(1, self._audio_icon)
            item.setText(1, f"{item_id} · {seconds:.1f} s" if seconds is not None else item_id)
            item.setToolTip(1, f"{item_id}: audio" + (f", {seconds:.2f} s" if seconds else ""))
            return
        image = self.thumbnails.get(row) if self.thumbnails is not None else None
        item.setIcon(1, QIcon(QPixmap.fromImage(image)) if image is not None else self._blank_icon)
        item.setText(1, item_id if self.kind == "image" or not caption else f"{item_id} · {caption}")
        item.setToolTip(1, f"{item_id}\n{caption}" if caption else item_id)

    def _on_thumbnails_ready(self, row: int) -> None:
        item = self._items.get(row)
        image = self.thumbnails.get(row)
        if item is not None and image is not None and self.kind in ("image", "item"):
            item.setIcon(1, QIcon(QPixmap.fromImage(image)))

    def _on_durations_updated(self) -> None:
        if self.kind == "audio":
            ids = self.model.workspace.table.ids
            for row, item in self._items.items():
                self._describe(item, row, str(ids[row]))

    # -- choosing -------------------------------------------------------------------------------
    def _on_view_item_chosen(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        row = item.data(0, ROW_ROLE)
        if row is not None:
            self.row_chosen.emit(int(row))

    def _on_view_current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        row = current.data(0, ROW_ROLE) if current is not None else None
        if row is not None:
            self.row_focused.emit(int(row))
