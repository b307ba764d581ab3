"""The Suspects panel: the items whose modalities disagree, most suspect first, to check and mark.

``QtSuspects(state, model, thumbnails)`` lists the ranking of ``model.suspects`` (see
:mod:`mmviewer.core.app.suspects`; computed in the background the first time the panel is shown,
and again for a new method) in :class:`~mmviewer.gui.suspects.list_model.SuspectListModel`.
Beside the list, the current item: what its odd modality would rather match, both items'
pictures and captions, and its audio in the Preview panel's player.

A click or Up/Down writes ``state.current`` and ``state.selection`` (the map, the lists, the
preview and the item table follow); F marks the item fine, W wrong, U unmarks, and the cursor
moves on to the next suspect; Space plays its audio. Marks are the tags ``suspect:fine`` /
``suspect:wrong`` (saved with the session). "Hide fine" and "Only suspects" filter the list;
"Export CSV…" (also File → Export suspects) writes every item's scores and mark.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mmviewer.core.app import suspects as sd
from mmviewer.core.app.state import Notice
from mmviewer.gui.flow import FlowLayout
from mmviewer.gui.preview.thumbnails import ThumbnailCache
from mmviewer.gui.suspects.detail import SuspectDetail
from mmviewer.gui.suspects.list_model import COLUMNS, SuspectListModel, SuspectListView

CSV_FILTER = "CSV (*.csv)"


class QtSuspects(QWidget):
    """The Suspects panel (see the module docstring)."""

    def __init__(self, state, model, thumbnails=None, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.thumbnails = thumbnails if thumbnails is not None else ThumbnailCache(model, parent=self)
        self.suspects = model.suspects
        self._shown_version = -1
        self.shown = False  # in view (see set_shown)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setToolTip("What the ranking is of, and how far it has come")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.hide_fine = QCheckBox("Hide fine")
        self.hide_fine.setToolTip("Leave out the items you marked fine")
        self.only_suspects = QCheckBox("Only suspects")
        self.only_suspects.setToolTip("List only the items scored above the threshold")
        self.fine_button = self._button("Fine (F)", "The current item is right as it is; move on",
                                        lambda: self.mark_current(sd.FINE))
        self.wrong_button = self._button("Wrong (W)", "The current item's modalities do not "
                                         "belong together; move on", lambda: self.mark_current(sd.WRONG))
        self.unmark_button = self._button("Unmark (U)", "Take back the current item's mark",
                                          lambda: self.mark_current(None))
        self.export_button = self._button("Export CSV…", "Save every item's suspicion, odd "
                                          "modality, pair scores and mark (CSV)", self.ask_export)
        self.marked = QLabel()
        self.marked.setToolTip("Your marks so far (tags suspect:fine and suspect:wrong: filter "
                               "or colour the map by them)")

        self.table = SuspectListModel(self.thumbnails, self)
        self.view = SuspectListView(self)
        self.view.setModel(self.table)
        self.view.setToolTip("Most suspect first. Click or Up/Down to open an item; F fine, "
                             "W wrong, U unmark; Space or ▶ plays its audio")
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #777;")
        self.message.hide()

        self.detail = SuspectDetail(state, model, self.thumbnails)
        self.player = self.detail.player
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setCollapsible(0, False)

        bar = QWidget()
        flow = FlowLayout(bar, spacing=4, margin=0)
        for part in (self.hide_fine, self.only_suspects, self.fine_button, self.wrong_button,
                     self.unmark_button, self.export_button):
            flow.addWidget(part)
        line = QHBoxLayout()
        line.addWidget(self.status, 1)
        line.addWidget(self.marked)
        line.addWidget(self.progress)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(line)
        layout.addWidget(bar)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.splitter, 1)
        self._default_widths()

        self.suspects.changed.connect(self._on_suspects_changed)
        state.events.current.connect(self._on_state_current)
        state.events.tags.connect(self._on_state_tags)
        model.table_ready.connect(self._on_model_table_ready)
        self.hide_fine.toggled.connect(lambda _on: self._update_rows())
        self.only_suspects.toggled.connect(lambda _on: self._update_rows())
        self.view.row_pressed.connect(self._on_view_row_pressed)
        self.view.mark_pressed.connect(self.mark_current)
        self.view.play_pressed.connect(self.play_current)
        self.view.escape.connect(lambda: setattr(self.state, "selection", ()))
        self.view.select_all.connect(lambda: None)  # one item at a time here
        self._on_suspects_changed()

    def _button(self, text: str, tip: str, handler) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: handler())
        return button

    def _default_widths(self) -> None:
        header = self.view.horizontalHeader()
        for key, width in (("rank", 32), ("item", 124), ("play", 26), ("score", 48), ("odd", 52),
                           ("rather", 124), ("mark", 76), ("caption", 200)):
            header.resizeSection(COLUMNS.index(key), width)
        header.setStretchLastSection(True)  # the caption takes what is left

    # -- public API ---------------------------------------------------------------------------
    def rows(self) -> list[int]:
        """Table rows listed, in display order."""
        return self.table.rows.tolist()

    def mark_current(self, mark: str | None) -> None:
        """Mark the current item (None: unmark) and move on to the next listed one."""
        row = self.state.current
        if self.suspects.result is None or not 0 <= row < len(self.table.rank):
            return
        position = self.table.position_of(row)
        after = self.table.row_at(position + 1) if position >= 0 and mark is not None else -1
        self.suspects.mark([row], mark)
        if after >= 0:
            self.state.selection = (after,)
            self.state.current = after

    def play_current(self) -> None:
        """Play the current item's audio (decoded first when it is not yet)."""
        row = self.state.current
        if self.table.suspicion is not None and 0 <= row < len(self.table.has_audio) \
                and self.table.has_audio[row]:
            self.detail.play(row)

    def ask_export(self) -> bool:
        """Ask where, then write the CSV (File → Export suspects and the panel's button)."""
        if self.suspects.result is None:
            s = self.suspects
            self._notice("The suspects are still being computed; export again once they are "
                         "listed." if s.status == sd.COMPUTING else
                         f"Nothing to export: {s.message or 'the suspects are not computed.'}",
                         "warning")
            return False
        root = getattr(self.model.dataset, "root", None)  # beside the dataset, named after it
        start = (Path(root).parent / f"{Path(root).name}_suspects.csv" if root is not None
                 else Path.home() / "suspects.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export suspects", str(start), CSV_FILTER)
        if not path:
            return False
        return self.export_to(Path(path) if Path(path).suffix else Path(path).with_suffix(".csv"))

    def export_to(self, path) -> bool:
        path = Path(path)
        return self.suspects.export_csv(
            path, on_done=lambda p: self._notice(f"Exported suspects to {Path(p).name}.", path=p),
            on_error=lambda err: self._notice(f"Could not export suspects to {path}: {err}",
                                              "error", path=path))

    def _notice(self, text: str, level: str = "info", path=None) -> None:
        self.model.notice.emit(Notice(text, level, str(path) if path else None))

    # -- showing ------------------------------------------------------------------------------
    def set_shown(self, shown: bool) -> None:
        """The panel came into view (its dock's tab chosen) or left it: the suspects are
        computed the first time somebody looks (the main window connects its dock's
        ``visibilityChanged``; a tab behind another is "visible" to Qt, only moved away)."""
        self.shown = bool(shown)
        if self.shown:
            self.suspects.want()
            self._show_current()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._in_dock():
            self.set_shown(True)  # on its own (tests, another host): shown means seen

    def _in_dock(self) -> bool:
        widget = self.parentWidget()
        while widget is not None:
            if isinstance(widget, QDockWidget):
                return True
            widget = widget.parentWidget()
        return False

    def _on_model_table_ready(self) -> None:
        self._shown_version = -1
        self.detail.clear()
        if self.shown:
            self.suspects.want()
        self._on_suspects_changed()

    def _on_suspects_changed(self) -> None:
        s = self.suspects
        if s.version != self._shown_version:
            self._shown_version = s.version
            self._show_result()
        computing = s.status == sd.COMPUTING
        self.progress.setVisible(computing)
        if computing:
            self.progress.setRange(0, s.total)  # (0, 0): busy
            self.progress.setValue(s.done)
        empty = s.result is None
        text = html.escape(s.message)
        if s.status == sd.FAILED:
            text = f"<span style='color:#d62728'>{text}</span>"
        elif s.status == sd.IDLE:
            text = "<i>Suspects are computed when this panel is shown.</i>"
        elif s.status == sd.UNAVAILABLE:
            text = "<i>Nothing to rank.</i>"  # the reason fills the panel
        self.status.setText(text)
        self.message.setVisible(empty)
        self.splitter.setVisible(not empty)
        if empty:
            self.message.setText(s.message if s.status in (sd.UNAVAILABLE, sd.FAILED)
                                 else "Computing… the most suspect items will be listed here.")
        for widget in (self.export_button, self.fine_button, self.wrong_button,
                       self.unmark_button, self.hide_fine, self.only_suspects):
            widget.setEnabled(not empty)
        self.marked.setVisible(not empty)

    def _show_result(self) -> None:
        r = self.suspects.result
        ws = self.model.workspace
        has_audio = None
        if r is not None and ws is not None and "audio" in ws.table.present:
            has_audio = np.asarray(ws.table.present["audio"], bool)
        self.table.set_suspicion(r, has_audio, self.suspects.marks())
        self.table.set_current(self.state.current)
        self._update_rows()
        self._show_current()

    def _update_rows(self) -> None:
        r = self.table.suspicion
        if r is None:
            self.table.set_rows(np.empty(0, np.int64))
            self._count_marks()
            return
        order = self.table.order
        keep = np.isfinite(r.score[order])
        if self.hide_fine.isChecked():
            keep &= self.table.marks[order] != sd.FINE
        if self.only_suspects.isChecked():
            keep &= r.score[order] > r.threshold
        self.table.set_rows(order[keep])
        self._count_marks()
        self._scroll_to(self.state.current)

    def _count_marks(self) -> None:
        counts = {m: int(np.sum(self.table.marks == m)) for m in (sd.WRONG, sd.FINE)}
        shown = len(self.table.rows)
        self.marked.setText(f"{shown:,} listed · {counts[sd.WRONG]:,} wrong · "
                            f"{counts[sd.FINE]:,} fine")

    def _scroll_to(self, row: int) -> None:
        pos = self.table.position_of(row) if row >= 0 else -1
        if pos >= 0:
            index = self.table.index(pos, 0)  # the first column: no sideways scroll
            self.view.selectionModel().setCurrentIndex(
                index, self.view.selectionModel().SelectionFlag.NoUpdate)
            self.view.scrollTo(index)

    # -- the current item ---------------------------------------------------------------------
    def _on_state_current(self, row: int) -> None:
        self.table.set_current(row)
        self._scroll_to(row)
        self._show_current()

    def _on_state_tags(self, _tags) -> None:
        if self.model.applying_table or self.table.suspicion is None:
            return
        self.table.set_marks(self.suspects.marks())
        if self.hide_fine.isChecked():
            self._update_rows()
        else:
            self._count_marks()
        self._show_current()

    def _show_current(self) -> None:
        if self.shown:
            self.detail.show_row(self.table.suspicion, self.state.current)

    # -- clicks ---------------------------------------------------------------------------------
    def _on_view_row_pressed(self, position: int, _modifiers) -> None:
        row = self.table.row_at(position)
        if row >= 0:
            self.state.selection = (row,)
            self.state.current = row
