"""The Items panel: one row per item, linked both ways with the map, the lists and the preview.

``QtItems(state, model, thumbnails)`` shows the model's :class:`~mmviewer.core.items.frame.ItemFrame`
(thumbnail, id, metadata, modalities, tags, and per modality pair the partner's rank and the
pair's score, filled in as the background ranking lands) through
:class:`~mmviewer.gui.table.table_model.ItemTableModel`. Above it: a filter expression
(``partner_rank > 10 and missing audio``, see :mod:`mmviewer.core.items.expr`) and an exact
search (id, file name, metadata value; Ctrl+F) that also lights its hits on the map. Below it:
the selection count and its actions (:class:`~mmviewer.gui.table.actions.SelectionBar`).

Clicks write ``state.current`` and ``state.selection``; both come back from any panel, and the
table scrolls to the current item. Filtering and sorting big tables run as jobs.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mmviewer.core.items.expr import FilterError, columns_of, parse
from mmviewer.core.items.frame import ALIASES, SUSPICION, pair_key
from mmviewer.core.items.view import ViewSpec, item_view
from mmviewer.gui.table.actions import SelectionBar
from mmviewer.gui.table.table_model import THUMB, ItemTableModel
from mmviewer.gui.table.view import ItemTableView

INLINE_MAX = 50_000  # views of bigger tables are computed in a job
TYPING_MS = 350  # the filter and the search apply once typing pauses
VALUES_REFRESH_MS = 1000  # a view that reads partner ranks follows them at most this often
MAX_HIGHLIGHT = 100_000  # search hits beyond this are not lit on the map one by one
FILTER_TIP = (
    "Keep the rows that pass, e.g. <code>partner_rank &gt; 10</code>, "
    "<code>label == \"3\" and not tagged \"checked\"</code>, <code>missing audio</code>, "
    "<code>id contains \"cat\"</code>, <code>label in (\"1\", \"7\")</code>, <code>selected</code>. "
    "Compare with == != &lt; &lt;= &gt; &gt;=; join with and / or / not and parentheses. "
    "<code>partner_rank</code> and <code>pair_score</code> follow the map's pair; every pair has "
    "its own columns (<code>rank_audio_image</code>, <code>score_audio_image</code>). "
    "Press Enter or pause typing to apply.")


class QtItems(QWidget):
    """The item table (see the module docstring)."""

    view_ready = Signal()  # the rows shown changed (filter, search, sort, new table)

    def __init__(self, state, model, thumbnails=None, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.spec = ViewSpec()
        self.error = ""
        self.searched = -1
        self._anchor = -1
        self._lit = False  # the search wrote state.highlight
        self._job = model.jobs.slot("item-view", id(self))

        self.filter_edit = QLineEdit(placeholderText="Filter: e.g. partner_rank > 10 and missing audio",
                                     clearButtonEnabled=True)
        self.filter_edit.setToolTip(FILTER_TIP)
        self.search_edit = QLineEdit(placeholderText="Find: id, file name or metadata value (Ctrl+F)",
                                     clearButtonEnabled=True)
        self.search_edit.setToolTip("Exact search (not by meaning): items whose id, a file name "
                                    "or a metadata value contains every word you type. The hits "
                                    "light up on the map; Enter opens the first.")
        self.chip = QToolButton()
        self.chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.chip.setToolTip("The table lists only the items you asked to see; click to list all")
        self.chip.clicked.connect(self.show_all_rows)
        self.chip.hide()
        self.status = QLabel()
        self.status.setToolTip("Rows shown, and how far the partner ranks have been computed")
        self.status.setWordWrap(True)
        self.table = ItemTableModel(thumbnails, self)
        self.view = ItemTableView(self)
        self.view.setModel(self.table)
        self.view.setToolTip("One row per item: click to open, Ctrl-click to add or remove, "
                             "Shift-click for a range, Ctrl+A for all rows shown; click a "
                             "header to sort, right-click it to choose columns")
        self.bar = SelectionBar(state, model, self)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 3)
        top.addWidget(self.search_edit, 2)
        line = QHBoxLayout()
        line.addWidget(self.chip)
        line.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addLayout(line)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.bar)

        self._typing = QTimer(self, singleShot=True, interval=TYPING_MS)
        self._values_timer = QTimer(self, singleShot=True, interval=VALUES_REFRESH_MS)
        self._connect()
        if model.items.frame is not None:
            self._on_items_frame_changed()

    def _connect(self) -> None:
        ev, items = self.state.events, self.model.items
        ev.selection.connect(self._on_state_selection)
        ev.current.connect(self._on_state_current)
        ev.match_pair.connect(self._on_state_match_pair)
        items.frame_changed.connect(self._on_items_frame_changed)
        items.values_changed.connect(self._on_items_values_changed)
        self.model.suspects.changed.connect(self._on_suspects_changed)
        self.filter_edit.textChanged.connect(lambda _t: self._typing.start())
        self.search_edit.textChanged.connect(lambda _t: self._typing.start())
        self.filter_edit.returnPressed.connect(self.apply)
        self.search_edit.returnPressed.connect(self._on_search_return_pressed)
        self._typing.timeout.connect(self.apply)
        self._values_timer.timeout.connect(self.apply)
        self.table.sort_requested.connect(self._on_table_sort_requested)
        self.view.row_pressed.connect(self._on_view_row_pressed)
        self.view.select_all.connect(self._on_view_select_all)
        self.view.escape.connect(lambda: setattr(self.state, "selection", ()))
        self.view.horizontalHeader().customContextMenuRequested.connect(self._on_header_menu)
        self.bar.actions.table_requested.connect(self.show_rows)
        self.selection_actions = None  # the bar's actions answer "show in table" here itself

    # -- public API ---------------------------------------------------------------------------
    def focus_search(self) -> None:
        """Ctrl+F: the exact search field, its text selected."""
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def show_rows(self, rows) -> None:
        """List only ``rows`` ("show the selection in the table"); the chip brings back all."""
        rows = tuple(int(r) for r in rows)
        self.spec = ViewSpec(self.spec.tree, self.spec.search, rows, self.spec.sort_key,
                             self.spec.descending)
        self.chip.setText(f"Only the {len(rows):,} chosen items  ✕")
        self.chip.show()
        self._request_view()

    def show_all_rows(self) -> None:
        self.chip.hide()
        self.spec = ViewSpec(self.spec.tree, self.spec.search, None, self.spec.sort_key,
                             self.spec.descending)
        self._request_view()

    def rows(self) -> list[int]:
        """Table rows shown, in display order."""
        return self.table.rows.tolist()

    def apply(self) -> None:
        """Parse the filter, take the search text, and recompute the rows shown."""
        self._typing.stop()
        try:
            tree = parse(self.filter_edit.text())
        except FilterError as err:
            self._show_error(str(err))
            return
        self.spec = ViewSpec(tree, self.search_edit.text().strip(), self.spec.restrict,
                             self.spec.sort_key, self.spec.descending)
        self._request_view()

    # -- computing the rows shown ---------------------------------------------------------------
    def _request_view(self) -> None:
        frame = self.model.items.frame
        if frame is None:
            return
        self._job.cancel()
        if frame.n <= INLINE_MAX:
            try:
                self._on_view_computed(item_view(frame, self.spec))
            except FilterError as err:
                self._show_error(str(err))
            return
        self.status.setText("<i>filtering…</i>")
        self._job.submit(item_view, frame, self.spec, on_result=self._on_view_computed,
                         on_error=lambda err: self._show_error(str(err)))

    def _on_view_computed(self, view) -> None:
        self.error = ""
        self.filter_edit.setStyleSheet("")
        self.searched = view.searched
        self.table.set_rows(view.rows)
        self._light_search_hits(view)
        self._describe()
        self._scroll_to(self.state.current)
        self.view_ready.emit()

    def _light_search_hits(self, view) -> None:
        if self.spec.search and len(view.rows) <= MAX_HIGHLIGHT:
            self.state.highlight = tuple(sorted(int(r) for r in view.rows))
            self._lit = True
        elif self._lit:
            self.state.highlight = ()
            self._lit = False

    def _show_error(self, text: str) -> None:
        self.error = text
        self.filter_edit.setStyleSheet("QLineEdit { border: 1px solid #d62728; }")
        self.status.setText(f"<span style='color:#d62728'>Filter: {html.escape(text)}</span>")
        self.view_ready.emit()

    def _describe(self) -> None:
        frame = self.model.items.frame
        parts = [f"{len(self.table.rows):,} of {frame.n:,} items"]
        if self.searched >= 0:
            parts.append(f"“{html.escape(self.spec.search)}” found in {self.searched:,}")
        if frame.values.pending() and not self.model.items.done:
            parts.append(f"partner ranks {100 * frame.values.progress():.0f}% computed…")
        self.status.setText(" · ".join(parts))

    def _depends_on_values(self) -> bool:
        names = columns_of(self.spec.tree) | {self.spec.sort_key}
        return any(n in ALIASES or n.startswith(("rank", "score")) for n in names)

    # -- model and state ------------------------------------------------------------------------
    def _on_items_frame_changed(self) -> None:
        frame = self.model.items.frame
        if self.table.frame is not frame:
            thumbs = self._has_images()
            self.table.set_frame(frame, thumbs)
            self.view.set_thumbnails(thumbs)
            self._anchor = -1
            self._default_columns()
            self.show_all_rows() if self.spec.restrict is not None else self.apply()
            self.table.set_selected(self.state.selection)
            self.table.set_current(self.state.current)
            self.bar.refresh()
        elif "tagged" in repr(self.spec.tree) or self.spec.sort_key == "tags":
            self.apply()
        else:
            self.table.refresh()

    def _has_images(self) -> bool:
        item = self.model.item(0) if self.model.items.frame.n else None
        return item is not None and "image" in self.model.workspace.table.modalities

    def _on_items_values_changed(self, done: bool) -> None:
        if self._depends_on_values():
            if done:
                self.apply()
            elif not self._values_timer.isActive():
                self._values_timer.start()
        else:
            self.table.refresh()
            self._describe()

    def _on_suspects_changed(self) -> None:
        """Suspicion landed: show its column, and re-apply a filter or sort that reads it."""
        if self.table.frame is None or self.model.suspects.status != "ready":
            return
        if SUSPICION in self.table.keys:
            self.view.setColumnHidden(self.table.keys.index(SUSPICION), False)
        names = columns_of(self.spec.tree) | {self.spec.sort_key}
        if SUSPICION in names:
            self.apply()
        else:
            self.table.refresh()

    def _on_state_selection(self, rows) -> None:
        self.table.set_selected(rows)
        if "selected" in repr(self.spec.tree):
            self._typing.start()

    def _on_state_current(self, row: int) -> None:
        self.table.set_current(row)
        self._scroll_to(row)

    def _on_state_match_pair(self, pair) -> None:
        for kind in ("rank", "score"):
            key = pair_key(kind, tuple(pair)) if len(pair) == 2 else ""
            if key in self.table.keys:
                self.view.setColumnHidden(self.table.keys.index(key), False)
        if self._depends_on_values():
            self.apply()

    def _scroll_to(self, row: int) -> None:
        if self.table.frame is None or row < 0:
            return
        pos = self.table.position_of(row)
        if pos >= 0:
            index = self.table.index(pos, 0)
            self.view.selectionModel().setCurrentIndex(index, self.view.selectionModel().SelectionFlag.NoUpdate)
            self.view.scrollTo(index)

    # -- columns ------------------------------------------------------------------------------
    def _default_columns(self) -> None:
        pair = tuple(self.state.match_pair)
        shown = {pair_key("rank", pair), pair_key("score", pair)} if len(pair) == 2 else set()
        for i, key in enumerate(self.table.keys):
            hidden = (key.startswith(("rank:", "score:")) and key not in shown
                      or key == SUSPICION and self.table.frame.suspicion is None)
            self.view.setColumnHidden(i, hidden)
        header = self.view.horizontalHeader()
        for i, key in enumerate(self.table.keys):
            title = "" if key == THUMB else self.table.frame.by_key[key].title
            width = header.fontMetrics().horizontalAdvance(title) + 28  # the title and sort arrow
            header.resizeSection(i, 40 if key == THUMB else max(width, 150 if key == "id" else 70))

    def _on_header_menu(self, pos) -> None:
        menu = QMenu(self)
        for i, key in enumerate(self.table.keys):
            title = "thumbnail" if key == THUMB else self.table.frame.by_key[key].title
            action = QAction(title, menu, checkable=True, checked=not self.view.isColumnHidden(i))
            action.toggled.connect(lambda on, i=i: self.view.setColumnHidden(i, not on))
            menu.addAction(action)
        menu.popup(self.view.horizontalHeader().mapToGlobal(pos))

    def _on_table_sort_requested(self, key: str, descending: bool) -> None:
        self.spec = ViewSpec(self.spec.tree, self.spec.search, self.spec.restrict, key, descending)
        self._request_view()

    # -- clicks and keys ------------------------------------------------------------------------
    def _on_view_row_pressed(self, position: int, modifiers) -> None:
        row = self.table.row_at(position)
        if row < 0:
            return
        selection = list(self.state.selection)
        if modifiers & Qt.KeyboardModifier.ShiftModifier and self._anchor >= 0:
            lo, hi = sorted((self._anchor, position))
            span = self.table.rows[lo:hi + 1].tolist()
            keep = selection if modifiers & Qt.KeyboardModifier.ControlModifier else []
            self.state.selection = tuple(sorted(set(keep) | set(span)))
        elif modifiers & Qt.KeyboardModifier.ControlModifier:
            self._anchor = position
            self.state.selection = tuple(sorted(set(selection) ^ {row}))
        else:
            self._anchor = position
            self.state.selection = (row,)
        self.state.current = row

    def _on_view_select_all(self) -> None:
        self.state.selection = tuple(sorted(int(r) for r in self.table.rows))

    def _on_search_return_pressed(self) -> None:
        self.apply()
        if len(self.table.rows):
            self.state.current = int(self.table.rows[0])
