"""The main window's menus and actions (File, Edit, View, Help), wired to its handlers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

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
    for key in ("export_matches", "export_metrics", "export_map", "export_report"):
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
