"""The main window's menus and actions (File, Edit, View, Help) and what each does
(:class:`MenuHandlers`, a mixin of :class:`~mmviewer.gui.main_window.MainWindow`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLineEdit, QMenu

from mmviewer.core.app.state import Notice
from mmviewer.gui.exports import MAP_FILTERS, MATCH_FILTERS, METRICS_FILTERS, with_suffix

RECENT_MENU = "Open recent"


def _action(window, text: str, handler, tip: str, shortcut=None) -> QAction:
    action = QAction(text, window)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _checked=False: handler())
    return action


def build_menus(window) -> dict[str, QAction]:
    """Create the menu bar of ``window`` (a :class:`~mmviewer.gui.main_window.MainWindow`)."""
    bar = window.menuBar()
    a = {}
    a["open"] = _action(window, "&Open folder…", window._on_open_folder_triggered,
                        "Open a dataset folder (or a folder with a data.csv manifest) and embed "
                        "it; you choose the encoders first.", QKeySequence.StandardKey.Open)
    a["open_table"] = _action(window, "Open &embeddings table…", window._on_open_table_triggered,
                              "Open embeddings computed elsewhere (Parquet or NPZ); nothing is "
                              "re-encoded.")
    a["open_demo"] = _action(window, "Open the &demo dataset", window._on_open_demo_triggered,
                             "53 bundled photos, emoji, captions and spoken captions (CLIP when "
                             "its weights are on this computer, else the offline encoders).")
    a["report"] = _action(window, "Import &report…", window._on_report_triggered,
                          "Files that were skipped or noted during import, with the reason.")
    a["export_matches"] = _action(window, "Export &matches…", window._on_export_matches_triggered,
                                  "Write every item's match lists (CSV or Parquet).")
    a["export_metrics"] = _action(window, "Export me&trics…", window._on_export_metrics_triggered,
                                  "Write the alignment metrics shown in the Metrics panel (JSON).")
    a["export_map"] = _action(window, "Export m&ap…", window._on_export_map_triggered,
                              "Save the map as an image (PNG) or drawing (SVG).")
    a["export_report"] = _action(window, "Export report (&HTML)…", window._on_export_report_triggered,
                                 "One self-contained web page of the map, the metrics and the "
                                 "matches, to share with people who do not run mmviewer.")
    a["export_suspects"] = _action(window, "Export &suspects (CSV)…",
                                   window._on_export_suspects_triggered,
                                   "Every item's suspicion, odd modality, pair scores and your "
                                   "fine / wrong mark, most suspect first (the Suspects panel).")
    a["quit"] = _action(window, "&Quit", window.close, "Save the session and quit.",
                        QKeySequence.StandardKey.Quit)
    file_menu = bar.addMenu("&File")
    file_menu.setToolTipsVisible(True)
    file_menu.addAction(a["open"])
    file_menu.addAction(a["open_table"])
    window.recent_menu = QMenu(RECENT_MENU, file_menu)
    window.recent_menu.setToolTipsVisible(True)
    window.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(window))
    file_menu.addMenu(window.recent_menu)
    fill_recent_menu(window)
    file_menu.addAction(a["open_demo"])
    file_menu.addSeparator()
    file_menu.addAction(a["report"])
    file_menu.addSeparator()
    for key in ("export_matches", "export_metrics", "export_map", "export_suspects",
                "export_report"):
        file_menu.addAction(a[key])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])

    a["find"] = _action(window, "&Find…", window._on_find_triggered,
                        "Find items by id, file name or metadata value (the Items panel).",
                        QKeySequence.StandardKey.Find)
    a["find_meaning"] = _action(window, "Search by &meaning…", window._on_find_meaning_triggered,
                                "Rank the items by how well they match a typed description "
                                "(the Text query panel).", "Ctrl+Shift+F")
    a["cancel"] = _action(window, "&Cancel embedding", window.model.cancel_embedding,
                          "Stop embedding after the current batch; what is done is kept.")
    edit_menu = bar.addMenu("&Edit")
    edit_menu.setToolTipsVisible(True)
    edit_menu.addAction(a["find"])
    edit_menu.addAction(a["find_meaning"])
    edit_menu.addAction(a["cancel"])

    view_menu = bar.addMenu("&View")
    view_menu.setToolTipsVisible(True)
    for key, dock in window.docks.items():
        toggle = dock.toggleViewAction()
        toggle.setToolTip(f"Show or hide the {dock.windowTitle()} panel.")
        toggle.setStatusTip(toggle.toolTip())
        view_menu.addAction(toggle)
        a[f"view_{key}"] = toggle
    view_menu.addSeparator()
    a["present"] = _action(window, "&Presentation mode", window._on_present_triggered,
                           "The map, the current item and its matches full screen in large "
                           "type; ← → step through the selection; Esc leaves.", "F11")
    view_menu.addAction(a["present"])
    a["reset_layout"] = _action(window, "&Reset panel layout", window.reset_layout,
                                "Put every panel back where it started.")
    view_menu.addAction(a["reset_layout"])

    a["guide"] = _action(window, "How to read the &map and the match lists",
                         window._on_guide_triggered,
                         "What the map's distances, the lines and the match lists mean.",
                         QKeySequence.StandardKey.HelpContents)
    a["about"] = _action(window, "&About mmviewer", window._on_about_triggered,
                         "Versions, the encoders in use, and whether CLIP weights were found.")
    help_menu = bar.addMenu("&Help")
    help_menu.setToolTipsVisible(True)
    help_menu.addAction(a["guide"])
    help_menu.addAction(a["about"])
    for action in a.values():
        window.addAction(action)  # shortcuts work while a dock has the focus
    return a


def fill_recent_menu(window) -> None:
    """Rebuild File → Open recent from the settings (vanished paths are pruned)."""
    menu = window.recent_menu
    menu.clear()
    paths = window.recent.paths()
    for path in paths:
        action = menu.addAction(Path(path).name or path)
        action.setToolTip(path)
        action.setStatusTip(path)
        action.setData(path)
        action.triggered.connect(lambda _checked=False, p=path: window.open_interactive(p))
    if not paths:
        empty = menu.addAction("No recent datasets")
        empty.setEnabled(False)
        empty.setToolTip("Datasets you open are listed here (the last 10).")
    menu.addSeparator()
    clear = menu.addAction("Clear list")
    clear.setToolTip("Forget the recent datasets.")
    clear.setEnabled(bool(paths))
    clear.triggered.connect(lambda _checked=False: window.recent.clear())


class MenuHandlers:
    """The window's menu handlers (a mixin: it uses the window's model, panels and docks)."""

    def _start_dir(self) -> str:
        return str(self._requested.parent if self._requested else Path.home())

    def _on_open_folder_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a dataset folder", self._start_dir())
        if folder:
            self.open_interactive(folder)

    def _on_open_table_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an embeddings table", self._start_dir(),
            "Embeddings (*.parquet *.npz);;Manifests (*.csv *.jsonl);;All files (*)")
        if path:
            self.open_interactive(path)

    def _on_open_demo_triggered(self) -> None:
        self.open_demo()

    def _on_report_triggered(self):
        from mmviewer.gui.dialogs.report import QtReportDialog

        report = self._report()
        if report is None:
            self.model.notice.emit(Notice("No dataset has been opened yet.", "info"))
            return None
        source = str(self._requested) if self._requested else ""
        self.report_dialog = QtReportDialog(report, source, self)
        self.report_dialog.show()
        return self.report_dialog

    def _save_name(self, title: str, filters: str, default_name: str) -> Path | None:
        start = str(Path(self._start_dir()) / default_name)
        path, chosen = QFileDialog.getSaveFileName(self, title, start, filters)
        return with_suffix(path, chosen, Path(default_name).suffix) if path else None

    def _dataset_stem(self) -> str:
        return (self._requested.stem if self._requested else "mmviewer") or "mmviewer"

    def _on_export_matches_triggered(self) -> None:
        path = self._save_name("Export matches", MATCH_FILTERS, f"{self._dataset_stem()}_matches.csv")
        if path:
            self.exporter.export_matches(path)

    def _on_export_metrics_triggered(self) -> None:
        path = self._save_name("Export metrics", METRICS_FILTERS, f"{self._dataset_stem()}_metrics.json")
        if path:
            self.exporter.export_metrics(path, self.panels.get("metrics"))

    def _on_export_map_triggered(self):
        from mmviewer.gui.dialogs.map_export import QtMapExportDialog

        panel = self.panels.get("map")
        if self.model.workspace is None or not hasattr(panel, "layer"):
            path = self._save_name("Export map", MAP_FILTERS, f"{self._dataset_stem()}_map.png")
            if path:
                self.exporter.export_map(path, panel)  # says why it cannot
            return None
        dialog = QtMapExportDialog(panel, Path(self._start_dir()) / f"{self._dataset_stem()}_map.png",
                                   self._dataset_stem(), self)
        return self._show_dialog(dialog)

    def _on_export_report_triggered(self):
        from mmviewer.gui.dialogs.share_report import QtShareReportDialog

        if self.model.workspace is None:
            self.model.notice.emit(Notice("Nothing to export yet: open a dataset first.", "warning"))
            return None
        stem = self._dataset_stem()
        dialog = QtShareReportDialog(self.model, Path(self._start_dir()) / f"{stem}_report.html",
                                     stem, self.panels.get("map"), self.exporter.last_metrics, self)
        return self._show_dialog(dialog)

    def _on_export_suspects_triggered(self) -> bool:
        dock, panel = self.docks.get("suspects"), self.panels.get("suspects")
        if self.model.workspace is None or dock is None or not hasattr(panel, "ask_export"):
            self.model.notice.emit(Notice("Nothing to export yet: open a dataset first."
                                          if self.model.workspace is None else
                                          "The Suspects panel is not available.", "warning"))
            return False
        dock.show()
        dock.raise_()  # shown: the suspects are computed if they were not
        return panel.ask_export()

    def _on_present_triggered(self):
        from mmviewer.gui.present.qt_present import QtPresentation

        if self.model.workspace is None:
            self.model.notice.emit(Notice("Open a dataset first: presentation mode shows its "
                                          "map and items.", "info"))
            return None
        if self.presentation is None:  # one per window, kept: its panels stay connected
            self.presentation = QtPresentation(self.state, self.model, self.thumbnails, self)
        pictures = getattr(self.panels.get("map"), "images", None)
        if pictures is not None:  # present the map as it is shown: dots or pictures
            self.presentation.map.images.set_enabled(pictures.action.isChecked())
        self.presentation.present()
        return self.presentation

    def _on_selection_table_requested(self, rows) -> None:
        dock, panel = self.docks.get("items"), self.panels.get("items")
        if dock is None or not hasattr(panel, "show_rows"):
            return
        dock.show()
        dock.raise_()
        panel.show_rows(rows)

    def _on_find_triggered(self) -> None:
        """Ctrl+F: the exact search of the Items panel (id, file name, metadata)."""
        dock, panel = self.docks.get("items"), self.panels.get("items")
        if dock is None or not hasattr(panel, "focus_search"):
            self._on_find_meaning_triggered()
            return
        dock.show()
        dock.raise_()
        panel.focus_search()

    def _on_find_meaning_triggered(self) -> None:
        """Ctrl+Shift+F: the Text query panel (search by meaning)."""
        dock = self.docks.get("query")
        if dock is None:
            return
        dock.show()
        dock.raise_()  # a tab beside Items and Metrics
        panel = self.panels["query"]
        focus = getattr(panel, "focus_query", None)
        if callable(focus):
            focus()
            return
        edit = panel.findChild(QLineEdit)
        (edit or panel).setFocus(Qt.FocusReason.ShortcutFocusReason)
        if edit is not None:
            edit.selectAll()

    def _on_guide_triggered(self) -> None:
        from mmviewer.gui.dialogs.help import QtHelpDialog

        self._show_dialog(QtHelpDialog(self))

    def _on_about_triggered(self):
        from mmviewer.gui.dialogs.help import QtAboutDialog

        return self._show_dialog(QtAboutDialog(self.model, self))

    def _show_dialog(self, dialog):
        self._dialogs = [d for d in self._dialogs if d.isVisible()] + [dialog]
        dialog.show()
        return dialog

