"""The selection bar under the item table: the count, always shown, and what to do with it.

"Show in table", a tag field with Tag and Untag (type a new tag or pick one; Enter tags), and a
"More" menu with the rest of :class:`~mmviewer.gui.table.selection.SelectionActions` (only on the
map / hide / show all, copy or export ids) and "Export table…" for the rows shown with every
column and tag. One row at the default size; the buttons flow onto more when the dock is narrow.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QToolButton, QWidget

from mmviewer.core.app.state import Notice
from mmviewer.core.items.export import write_table
from mmviewer.gui.flow import FlowLayout
from mmviewer.gui.table.selection import SelectionActions, count_text


class SelectionBar(QWidget):
    """Count, tag field and action buttons of the item table (``panel`` is its QtItems)."""

    def __init__(self, state, model, panel):
        super().__init__(panel)
        self.state, self.model, self.panel = state, model, panel
        self.actions = SelectionActions(state, model, self)
        self.count = QLabel()
        self.count.setToolTip("How many items are selected (on the map, in the table or the lists)")
        font = self.count.font()
        font.setBold(True)
        self.count.setFont(font)
        self.tag_combo = QComboBox(editable=True)
        self.tag_combo.setToolTip("A tag for the selected items: type a new one or pick one; "
                                  "Enter or Tag gives it, Untag takes it away")
        self.tag_combo.setMinimumContentsLength(10)
        self.tag_combo.lineEdit().setPlaceholderText("tag")
        self.tag_combo.lineEdit().returnPressed.connect(self._on_tag_clicked)
        self.tag_button = self._button("Tag", "Give the selected items this tag", self._on_tag_clicked)
        self.untag_button = self._button("Untag", "Take this tag away from the selected items",
                                         self._on_untag_clicked)
        self.export_action = QAction("Export table…", self)
        self.export_action.setToolTip("Save the rows shown, every column and tag included "
                                      "(CSV or Parquet)")
        self.export_action.triggered.connect(self._on_export_clicked)
        a = self.actions.actions
        self.more_button = QToolButton(self)
        self.more_button.setText("More")
        self.more_button.setToolTip("Keep the selection alone on the map or hide it, copy or "
                                    "export its ids, export the table")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more = self.actions.menu(self)
        more.addAction(self.export_action)
        self.more_button.setMenu(more)
        self.show_button = QToolButton(self)
        self.show_button.setDefaultAction(a["table"])
        flow = FlowLayout(self, spacing=4, margin=0)
        for part in (self.count, self.show_button, self.tag_combo, self.tag_button,
                     self.untag_button, self.more_button):
            flow.addWidget(part)
        for signal in (state.events.selection, state.events.tags):
            signal.connect(self.refresh)
        self.destroyed.connect(lambda *_: self._disconnect())
        self.refresh()

    def _disconnect(self) -> None:
        for signal in (self.state.events.selection, self.state.events.tags):
            try:
                signal.disconnect(self.refresh)
            except (ValueError, RuntimeError):
                pass

    def _button(self, text: str, tip: str, handler) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(handler)
        return button

    def refresh(self, *_args) -> None:
        n = len(self.state.selection)
        self.count.setText(count_text(n))
        names = list(self.state.tag_map)
        typed = self.tag_combo.currentText()
        self.tag_combo.blockSignals(True)
        self.tag_combo.clear()
        self.tag_combo.addItems(names)
        self.tag_combo.setEditText(typed)
        self.tag_combo.blockSignals(False)
        self.tag_button.setEnabled(n > 0)
        self.untag_button.setEnabled(n > 0 and bool(names))

    def _on_tag_clicked(self) -> None:
        name = self.tag_combo.currentText().strip()
        if name and self.state.selection:
            self.actions.tag(name)

    def _on_untag_clicked(self) -> None:
        name = self.tag_combo.currentText().strip()
        if name and self.state.selection and name in self.state.tag_map:
            self.actions.tag(name, on=False)

    def _on_export_clicked(self) -> None:
        frame = self.model.items.frame
        if frame is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the item table", "items.csv",
                                              "CSV (*.csv);;Parquet (*.parquet)")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> None:
        """Write the rows shown, with the shown columns, to ``path`` in a job."""
        frame, view = self.model.items.frame, self.panel.view
        keys = [k for i, k in enumerate(self.panel.table.keys)
                if k in frame.by_key and not view.isColumnHidden(i)]
        if "tags" not in keys and frame.tags:
            keys.append("tags")
        self.model.jobs.submit(("export-table", id(self)), write_table, path, frame,
                               self.panel.table.rows.copy(), keys,
                               on_result=lambda p: self.model.notice.emit(
                                   Notice(f"Wrote {len(self.panel.table.rows):,} rows to {p}.",
                                          "info", path=str(p))),
                               on_error=lambda err: self.model.notice.emit(
                                   Notice(f"Could not export the table to {path}: {err}", "error",
                                          path=str(path))),
                               label="Exporting the item table")
