"""What a person does with a selection: tag it, show it in the table, keep it alone on the map or
hide it, copy or export its ids.

:class:`SelectionActions` holds one ``QAction`` per action, enabled while something is
selected, and writes the state (``state.tags``, ``state.hidden``, ``state.selection``); any panel
may put them in a menu or on buttons. "Show in table" emits :attr:`table_requested` (the main
window raises the table dock and restricts it to those rows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QWidget

from mmviewer.core.app.state import Notice
from mmviewer.core.items.export import write_ids


def count_text(n: int) -> str:
    return "nothing selected" if n == 0 else f"{n:,} selected"


class SelectionActions(QObject):
    """Actions on ``state.selection`` (see the module docstring)."""

    table_requested = Signal(object)  # the rows to show in the table

    def __init__(self, state, model, parent: QWidget):
        super().__init__(parent)
        self.state, self.model, self.widget = state, model, parent
        a = self.actions = {}
        for key, text, tip in (
            ("table", "Show in table", "List the selected items alone in the item table"),
            ("tag", "Tag…", "Give the selected items a tag (saved with the session, a colour "
                            "and a filter: tagged \"name\")"),
            ("untag", "Untag…", "Take a tag away from the selected items"),
            ("only", "Only these on the map", "Hide every other point on the map"),
            ("hide", "Hide on the map", "Leave the selected points off the map"),
            ("all", "Show all on the map", "Bring back every hidden point"),
            ("copy", "Copy ids", "Copy the selected items' ids to the clipboard, one per line"),
            ("export", "Export ids…", "Save the selected items' ids to a text file"),
            ("clear", "Clear selection", "Select nothing (Escape on the map)"),
        ):
            action = QAction(text, self)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(getattr(self, f"_on_{key}_triggered"))
            a[key] = action
        state.events.selection.connect(self._on_state_changed)
        state.events.hidden.connect(self._on_state_changed)
        state.events.tags.connect(self._on_state_changed)
        parent.destroyed.connect(self._disconnect)
        self._on_state_changed()

    def _disconnect(self, *_args) -> None:
        for signal in (self.state.events.selection, self.state.events.hidden, self.state.events.tags):
            try:
                signal.disconnect(self._on_state_changed)
            except (ValueError, RuntimeError):
                pass

    def menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        menu.setToolTipsVisible(True)
        for group in (("table",), ("tag", "untag"), ("only", "hide", "all"), ("copy", "export"),
                      ("clear",)):
            for key in group:
                menu.addAction(self.actions[key])
            menu.addSeparator()
        return menu

    def _on_state_changed(self, *_args) -> None:
        some = bool(self.state.selection)
        for key in ("table", "tag", "only", "hide", "copy", "export", "clear"):
            self.actions[key].setEnabled(some)
        self.actions["untag"].setEnabled(some and bool(self.state.tags))
        self.actions["all"].setEnabled(bool(self.state.hidden))

    # -- the actions (also the API tests and other panels use) --------------------------------
    def ids(self) -> list[str]:
        ws = self.model.workspace
        return [] if ws is None else [str(ws.table.ids[r]) for r in self.state.selection]

    def tag(self, name: str, on: bool = True) -> None:
        self.state.tag_rows(name, self.state.selection, on)

    def keep_only(self) -> None:
        n = self.model.workspace.table.n_items
        keep = np.zeros(n, bool)
        keep[np.asarray(self.state.selection, np.int64)] = True
        self.state.hidden = tuple(int(r) for r in np.flatnonzero(~keep))

    def hide(self) -> None:
        self.state.hidden = tuple(sorted(set(self.state.hidden) | set(self.state.selection)))

    # -- handlers -----------------------------------------------------------------------------
    def _on_table_triggered(self) -> None:
        self.table_requested.emit(tuple(self.state.selection))

    def _ask_tag(self, title: str, names: list[str]) -> str:
        name, ok = QInputDialog.getItem(self.widget, title, "Tag:", names, 0, True)
        return name.strip() if ok else ""

    def _on_tag_triggered(self) -> None:
        name = self._ask_tag("Tag the selected items", list(self.state.tag_map))
        if name:
            self.tag(name)

    def _on_untag_triggered(self) -> None:
        name = self._ask_tag("Untag the selected items", list(self.state.tag_map))
        if name:
            self.tag(name, on=False)

    def _on_only_triggered(self) -> None:
        self.keep_only()

    def _on_hide_triggered(self) -> None:
        self.hide()

    def _on_all_triggered(self) -> None:
        self.state.hidden = ()

    def _on_copy_triggered(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(self.ids()))
        self.model.notice.emit(Notice(f"Copied {len(self.state.selection):,} id(s).", "info"))

    def _on_export_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.widget, "Export the selected ids",
                                              "selection.txt", "Text (*.txt);;All files (*)")
        if not path:
            return
        try:
            write_ids(Path(path), self.ids())
        except OSError as err:
            self.model.notice.emit(Notice(f"Could not write {path}: {err.strerror or err}",
                                          "error", path=path))
            return
        self.model.notice.emit(Notice(f"Wrote {len(self.state.selection):,} id(s) to {path}.",
                                      "info", path=path))

    def _on_clear_triggered(self) -> None:
        self.state.selection = ()
