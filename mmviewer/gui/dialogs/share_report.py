"""File → Export report…: one self-contained HTML file of what the window shows.

The dialog asks for the file, a title and how much to embed (points, thumbnails, items with
matches), then runs :func:`mmviewer.core.report.report_job` on the model's job runner with a
progress bar; Cancel stops it at its next step and writes nothing. The report takes the
window's map, weights, method, colouring and metrics as they are, and shows the selection's
items (or the current one) first.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mmviewer.core.app.state import Notice
from mmviewer.core.report import ReportInput, ReportOptions, report_job, write_report
from mmviewer.core.report.suspects import discover
from mmviewer.core.store.embedding_store import store_dir_for
from mmviewer.gui.dialogs.path_field import PathField

REPORT_FILTER = "HTML report (*.html)"


def report_input(model, map_panel=None, metrics=None, title: str = "") -> ReportInput:
    """What the window shows, as the report's input (raises ValueError when there is no map)."""
    ws, state = model.workspace, model.state
    if ws is None:
        raise ValueError("open a dataset first")
    if model.positions is None or len(model.positions) != ws.table.n_items:
        raise ValueError("the map is still being laid out; try again in a moment")
    weights, method = state.weight_map, state.method
    if metrics is not None and (metrics.get("method") != method or metrics.get("weights") != weights):
        metrics = None  # measured for other choices: the job measures again
    dataset = model.dataset
    store = None
    if dataset is not None and dataset.precomputed is None and model.options.use_store:
        store = store_dir_for(Path(dataset.root))
    featured = tuple(state.selection) or ((state.current,) if state.current >= 0 else ())
    return ReportInput(
        ws.table, model.positions, dataset, title=title,
        source=str(getattr(dataset, "source", "") or ""), layout_kind=model.layout_kind,
        weights=weights, method=method, label_column=model.label_column(), metrics=metrics,
        colour_by=state.colour_by, match_pair=getattr(map_panel, "match_pair", None),
        featured=featured, store_root=store, workspace=ws)


def export_job(inp: ReportInput, options: ReportOptions, path: Path):
    """Generator job: gather, then write the page; returns ``(path, bytes, data)``."""
    if inp.suspects is None and inp.workspace is not None:
        inp.suspects = discover(inp.workspace, inp.method)
    data = yield from report_job(inp, options)
    size = write_report(data, path)
    return path, size, data


class QtShareReportDialog(QDialog):
    """Options, progress and outcome of one report export."""

    finished_export = Signal(str, int)  # path, bytes

    def __init__(self, model, default_path: Path, title: str, map_panel=None, metrics=None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.model, self.map_panel, self.metrics = model, map_panel, metrics
        self.written: Path | None = None
        self._job = model.jobs.slot("export-report", id(self))
        self.file = PathField(default_path, "Export report", REPORT_FILTER)
        self.path_edit = self.file.edit
        self.title_edit = QLineEdit(title)
        self.points = _spin(100, 1_000_000, ReportOptions.max_points, 1000,
                            "Bigger sets are shown as a random sample of this many points.")
        self.thumbs = _spin(0, 50_000, ReportOptions.max_thumbs, 100,
                            "Map points whose thumbnail is embedded (about 3 KB each, "
                            f"{ReportOptions.thumb_bytes / 1e6:g} MB in all at most).")
        self.items = _spin(1, 48, ReportOptions.sample_items, 1,
                           "Items shown with their cross-modal matches; the selection comes first.")
        form = QFormLayout()
        form.addRow("File", self.file)
        form.addRow("Title", self.title_edit)
        form.addRow("Points on the map", self.points)
        form.addRow("Thumbnails", self.thumbs)
        form.addRow("Items with matches", self.items)
        n_sel = len(model.state.selection)
        hint = QLabel(f"The {n_sel} selected item(s) are shown first." if n_sel else
                      "Tip: select items on the map to show them first.")
        hint.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.status = QLabel("One HTML file: it opens in any browser, offline, without mmviewer.")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button = self.buttons.addButton("Open in browser", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setVisible(False)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def options(self) -> ReportOptions:
        return ReportOptions(max_points=self.points.value(), max_thumbs=self.thumbs.value(),
                             sample_items=self.items.value())

    def start(self) -> bool:
        """Start the export; False (with the reason shown) when it cannot start."""
        path = self.file.path()
        if not path.name:
            self.status.setText("Choose a file to write.")
            return False
        if path.suffix.lower() not in (".html", ".htm"):
            path = path.with_suffix(".html")
            self.path_edit.setText(str(path))
        try:
            inp = report_input(self.model, self.map_panel, self.metrics, self.title_edit.text().strip())
        except ValueError as err:
            self.status.setText(f"Cannot export yet: {err}.")
            return False
        self.export_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.status.setText("Gathering…")
        self._job.submit(export_job, inp, self.options(), path, on_progress=self._on_job_progress,
                         on_result=self._on_job_returned,
                         on_error=lambda err: self._on_job_failed(path, err),
                         label=f"Exporting the report to {path.name}")
        return True

    def _on_job_progress(self, step) -> None:
        self.progress.setValue(int(100 * step.fraction))
        self.status.setText(f"{step.text}…")

    def _on_job_returned(self, value) -> None:
        path, size, data = value
        self.written = Path(path)
        self.progress.setValue(100)
        notes = " ".join(data["header"]["sampling"])
        self.status.setText(f"Wrote {Path(path).name} ({size / 1e6:.1f} MB). {notes}".strip())
        self.export_button.setEnabled(True)
        self.open_button.setVisible(True)
        self.close_button.setText("Close")
        self.model.notice.emit(Notice(f"Exported the report to {Path(path).name} "
                                      f"({size / 1e6:.1f} MB).", path=str(path)))
        self.finished_export.emit(str(path), size)

    def _on_job_failed(self, path: Path, err: BaseException) -> None:
        import traceback

        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        self.status.setText(f"Export failed: {err}")
        self.model.notice.emit(Notice(f"Report export failed: {err}", "error", path=str(path),
                                      details=traceback.format_exception(err)))

    def _on_open_clicked(self) -> None:
        if self.written is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.written)))

    def reject(self) -> None:
        """Cancel a running export (nothing is written) and close."""
        self._job.cancel()
        super().reject()


def _spin(low: int, high: int, value: int, step: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setGroupSeparatorShown(True)
    spin.setToolTip(tip)
    return spin
