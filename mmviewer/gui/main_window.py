"""The main window: the map in the middle, the other panels in docks, menus, status bar.

The window owns no analysis: it hosts the panels (each built from the one
:class:`~mmviewer.core.app.state.ViewState` and the :class:`~mmviewer.core.app.model.AppModel`),
turns user gestures (menus, drops, recent files) into ``model.open_path`` calls, saves the
session of the dataset it leaves, and remembers its geometry and dock layout in QSettings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QWidget,
)

from mmviewer.core.app.model import AppModel
from mmviewer.core.app.state import Notice, ViewState
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.gui.exports import Exporter
from mmviewer.gui.menus import MenuHandlers, build_menus
from mmviewer.gui.panels.registry import PANELS, SPECS, build_panel
from mmviewer.gui.preview.thumbnails import ThumbnailCache
from mmviewer.gui.qt_jobs import QtScheduler
from mmviewer.gui.qt_status import QtStatus
from mmviewer.gui.settings import RecentPaths, app_settings, load_options

TABLE_SUFFIXES = (".parquet", ".npz")
MANIFEST_SUFFIXES = (".csv", ".jsonl")
STATE_VERSION = 1
#: How long closing waits for running jobs to stop before the process leaves without them.
QUIT_WAIT_S = 1.0
#: Where each dock starts (the map is the central widget).
DOCK_PLACES = {
    "fusion": Qt.DockWidgetArea.LeftDockWidgetArea,
    "query": Qt.DockWidgetArea.BottomDockWidgetArea,
    "matches": Qt.DockWidgetArea.RightDockWidgetArea,
    "preview": Qt.DockWidgetArea.RightDockWidgetArea,
    "metrics": Qt.DockWidgetArea.BottomDockWidgetArea,
    "items": Qt.DockWidgetArea.BottomDockWidgetArea,
    "suspects": Qt.DockWidgetArea.BottomDockWidgetArea,
}
#: The default window: this size, or the screen's when it is smaller (e.g. 1000x700).
DEFAULT_SIZE = (1500, 940)


#: Docks whose panels are tall: they scroll instead of forcing the window taller.
SCROLLED = ("metrics", "matches", "preview", "fusion", "query")


def _scrollable(widget: QWidget) -> QScrollArea:
    """The panel in a vertical scroll area: a short window scrolls it instead of growing past
    the screen (and the status bar); its width follows the dock (no sideways scrolling)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    widget.setMinimumWidth(1)  # an explicit minimum: the area may narrow it to the dock
    area.setWidget(widget)
    return area


def fitted_size(screen, wanted: tuple[int, int] = (1500, 940)) -> tuple[int, int]:
    """The first window size: ``wanted``, shrunk to fit the screen's free area (1000 x 700
    screens, 2x scale factors)."""
    if screen is None:
        return wanted
    free = screen.availableGeometry()
    return min(wanted[0], int(free.width() * 0.96)), min(wanted[1], int(free.height() * 0.94))


def droppable_path(urls) -> Path | None:
    """The first local folder, manifest or embeddings table among dropped ``urls``."""
    for url in urls:
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        if path.is_dir() or path.suffix.lower() in TABLE_SUFFIXES + MANIFEST_SUFFIXES:
            return path
    return None


class MainWindow(MenuHandlers, QMainWindow):
    """One dataset at a time, shown in linked panels."""

    def __init__(self, model: AppModel | None = None, settings=None,
                 options: EmbedOptions | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mmviewer_main_window")
        self.setWindowTitle("mmviewer")
        self.settings = settings if settings is not None else app_settings()
        # The model's results reach the UI thread through a QtScheduler; what lands after the
        # window closed is dropped by the closed runner (see gui/qt_jobs.py).
        self.model = model or AppModel(ViewState(), scheduler=QtScheduler())
        self.state = self.model.state
        self.options = options or load_options(self.settings)
        self.ask_encoders = True  # False after "don't ask again this session"
        self.recent = RecentPaths(self.settings)
        self.thumbnails = ThumbnailCache(self.model, parent=self)
        self.exporter = Exporter(self.model, self)
        self.report_dialog = None
        self.presentation = None
        self._requested: Path | None = None
        self._dialogs: list = []  # non-modal dialogs kept alive
        self._shown_once = False
        self._restored = False  # a saved dock layout was applied
        self.clean_exit = True

        self.status = QtStatus(self.model, self)
        self.setStatusBar(self.status)
        self.report_button = QPushButton("Import report")
        self.report_button.setFlat(True)
        self.report_button.setToolTip("Files skipped or noted during import, with the reason.")
        self.report_button.clicked.connect(self._on_report_triggered)
        self.report_button.setVisible(False)
        self.status.addWidget(self.report_button)

        self.panels: dict[str, QWidget] = {}
        self.panel_errors: dict[str, str] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._build_panels()
        self.actions_by_name = build_menus(self)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._default_state = self.saveState(STATE_VERSION)
        self._restore_window()

        self.model.opened.connect(self._on_model_opened)
        self.model.table_ready.connect(self._on_model_table_ready)
        self.model.embedding_done.connect(self._on_model_table_ready)

    # -- panels -----------------------------------------------------------------------------------
    def _build_panels(self) -> None:
        for spec in PANELS:
            widget, error = build_panel(spec, self.state, self.model, self.thumbnails)
            self.panels[spec.key] = widget
            if error and error != "missing":
                self.panel_errors[spec.key] = error
            if spec.key == "map":
                self.setCentralWidget(widget)
                continue
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(f"dock_{spec.key}")
            dock.setWidget(_scrollable(widget) if spec.key in SCROLLED else widget)
            if hasattr(widget, "set_shown"):  # works only while seen (a tab may be behind)
                dock.visibilityChanged.connect(widget.set_shown)
            dock.setToolTip("")
            dock.toggleViewAction().setToolTip(spec.tip)
            self.addDockWidget(DOCK_PLACES[spec.key], dock)
            self.docks[spec.key] = dock
        # The right column runs the full height; the items and metrics docks (tabs) sit under the
        # map and the left column, so the table gets the width it needs.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        bottom = [self.docks[k] for k in ("items", "suspects", "metrics", "query")
                  if k in self.docks]
        for other in bottom[1:]:
            self.tabifyDockWidget(bottom[0], other)
        if bottom:
            bottom[0].raise_()
        for key in ("map", "items"):  # "Show in table" from the map's selection menu
            actions = getattr(self.panels.get(key), "selection_actions", None)
            if actions is not None:
                actions.table_requested.connect(self._on_selection_table_requested)
        self.resize(*fitted_size(self.screen(), DEFAULT_SIZE))
        for key, error in self.panel_errors.items():
            QTimer.singleShot(0, lambda k=key, e=error: self.model.notice.emit(
                Notice(f"The {SPECS[k].title} panel could not be built: {e}", "error",
                       details=list(getattr(self.panels[k], "details", [])))))

    def apply_default_sizes(self) -> None:
        """Dock sizes of the default layout (applied once the window has its real size), in
        proportion to it: at 1000x700 the map keeps about half the width."""
        d, w, h = self.docks, self.width(), self.height()
        self.resizeDocks([d["fusion"], d["matches"]], [min(270, int(0.2 * w)), min(480, int(0.3 * w))],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([d["matches"], d["preview"]], [int(0.62 * h), int(0.38 * h)], Qt.Orientation.Vertical)
        self.resizeDocks([d["items"]], [min(320, int(0.37 * h))], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks.values():
            dock.setVisible(True)
        self.apply_default_sizes()

    def showEvent(self, event):  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._restored:
                QTimer.singleShot(0, self.apply_default_sizes)

    def _restore_window(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self._restored = self.restoreState(state, STATE_VERSION)

    def _save_window(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(STATE_VERSION))
        self.settings.sync()

    # -- opening ----------------------------------------------------------------------------------
    def open_path(self, path: str | Path, options: EmbedOptions | None = None) -> None:
        """Open ``path`` with ``options`` (default: the current ones) without asking."""
        path = Path(path).expanduser()
        if options is not None:
            self.options = options
        self.model.save_session()  # the dataset being left
        self._requested = path
        self.status.start_embedding(path.name or str(path))
        self.report_button.setVisible(False)
        self.model.open_path(path, self.options)

    def open_interactive(self, path: str | Path) -> bool:
        """Open ``path`` after the encoder dialog (unless it is a table or the user said
        "don't ask again this session"); False when the user cancelled."""
        path = Path(path)
        if path.suffix.lower() not in TABLE_SUFFIXES and self.ask_encoders:
            from mmviewer.gui.dialogs.encoders import ask_encoders

            options, dont_ask = ask_encoders(self, self.settings, str(path), self.options,
                                             self.model.jobs)
            if options is None:
                return False
            self.options = options
            self.ask_encoders = not dont_ask
        self.open_path(path)
        return True

    def open_demo(self, options: EmbedOptions | None = None) -> None:
        from mmviewer.gui.demo import open_demo

        open_demo(self, options or self.options)

    def _on_model_opened(self, dataset) -> None:
        if self._requested is not None:
            self.recent.add(self._requested)
        name = (self._requested or Path(str(dataset.source))).name
        doing = "checking for changes" if self.model.provisional else "embedding"
        self.setWindowTitle(f"mmviewer — {name} ({doing}: {len(dataset.items)} items…)")

    def _on_model_table_ready(self) -> None:
        ws = self.model.workspace
        name = self._requested.name if self._requested else "table"
        self.setWindowTitle(f"mmviewer — {name} ({ws.table.n_items} items, "
                            f"{', '.join(ws.table.modalities)})")
        report = self._report()
        count = len(report.skipped) + len(report.notes) if report else 0
        self.report_button.setText(f"Import report ({count})")
        self.report_button.setVisible(bool(count))

    def _report(self):
        if self.model.result is not None:
            return self.model.result.report
        return getattr(self.model.dataset, "report", None)

    # -- drops and closing ------------------------------------------------------------------------
    def dragEnterEvent(self, event):  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls() and droppable_path(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event):  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event):  # noqa: N802
        path = droppable_path(event.mimeData().urls()) if event.mimeData().hasUrls() else None
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        # Leave the drop handler first: the encoder dialog is modal.
        QTimer.singleShot(0, lambda: self.open_interactive(path))

    def closeEvent(self, event):  # noqa: N802
        self.model.save_session()
        self._save_window()
        #: False when a job was still running after the shutdown's wait (see app.exit_now).
        self.clean_exit = self.model.shutdown(timeout_s=QUIT_WAIT_S)
        super().closeEvent(event)
