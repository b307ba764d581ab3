"""File → Export matches / metrics / map.

Matches for every item are computed by the Matches panel's export generator
(:func:`mmviewer.core.match.export.iter_all_matches`) in a worker thread and written there
(CSV, or Parquet through pyarrow); metrics come from the Metrics panel's ``to_json()`` (or the
controller's latest result); the map from the map panel's ``export_image``. Every outcome is a
notice in the status bar.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from mmviewer.core.app.state import Notice

MATCH_FILTERS = "CSV (*.csv);;Parquet (*.parquet)"
METRICS_FILTERS = "JSON (*.json)"
MAP_FILTERS = "PNG image (*.png);;SVG drawing (*.svg)"


def with_suffix(path: str, selected_filter: str, default: str) -> Path:
    """``path`` with the suffix the chosen filter implies when the user typed none."""
    p = Path(path)
    if p.suffix:
        return p
    for suffix in (".csv", ".parquet", ".json", ".png", ".svg"):
        if suffix in (selected_filter or ""):
            return p.with_suffix(suffix)
    return p.with_suffix(default)


def _matches_job(ws, weights, method, k, path):
    """Worker: yield progress fractions, write the file, return (path, rows)."""
    from mmviewer.core.match.export import iter_all_matches, save_matches

    table = yield from iter_all_matches(ws, weights, method, k)
    save_matches(table, path)
    return str(path), table.num_rows


class Exporter(QObject):
    """Runs the exports of one window; results and errors become controller notices."""

    progress = Signal(float)  # matches export, fraction done
    finished = Signal(str)  # the path written

    def __init__(self, controller, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller
        self.last_metrics = None
        self.worker = None
        controller.metrics_ready.connect(self._on_controller_metrics_ready)
        controller.table_ready.connect(self._on_controller_table_ready)

    def _on_controller_metrics_ready(self, result) -> None:
        self.last_metrics = result

    def _on_controller_table_ready(self) -> None:
        self.last_metrics = None

    def _notice(self, text: str, level: str = "info", path=None, details=None) -> None:
        self.controller.notice.emit(Notice(text, level, str(path) if path else None, details or []))

    def _need_table(self) -> bool:
        if self.controller.workspace is None:
            self._notice("Nothing to export yet: open a dataset first.", "warning")
            return False
        return True

    # -- matches ----------------------------------------------------------------------------------
    def export_matches(self, path: str | Path) -> bool:
        """Start writing every item's match lists to ``path`` in the background."""
        if not self._need_table():
            return False
        if self.worker is not None:
            self._notice("An export is already running.", "warning")
            return False
        state = self.controller.state
        worker = create_worker(_matches_job, self.controller.workspace, state.weight_map,
                               state.method, state.k, Path(path),
                               _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self.progress.emit)
        worker.returned.connect(self._on_matches_returned)
        worker.errored.connect(lambda err: self._on_matches_errored(path, err))
        worker.finished.connect(self._on_worker_finished)
        self.worker = worker
        n = self.controller.workspace.table.n_items
        self._notice(f"Exporting the match lists of {n} items to {Path(path).name}…", path=path)
        worker.start()
        return True

    def _on_matches_returned(self, value) -> None:
        path, rows = value
        self.worker = None  # done: a next export may start from the handlers of `finished`
        self._notice(f"Exported {rows} match rows to {Path(path).name}.", path=path)
        self.finished.emit(path)

    def _on_matches_errored(self, path, err: BaseException) -> None:
        self.worker = None
        self._on_export_errored(path, err)

    def _on_export_errored(self, path, err: BaseException) -> None:
        import traceback


        self._notice(f"Export failed: {err}", "error", path=path,
                     details=traceback.format_exception(err))

    def _on_worker_finished(self) -> None:
        self.worker = None

    # -- metrics and map ------------------------------------------------------------------------
    def export_metrics(self, path: str | Path, metrics_panel=None) -> bool:
        if not self._need_table():
            return False
        data = None
        to_json = getattr(metrics_panel, "to_json", None)
        if to_json is not None:
            data = to_json()
        if data is None:
            data = self.last_metrics
        if data is None:
            self._notice("The metrics are still being computed; try again in a moment.", "warning")
            return False
        text = data if isinstance(data, str) else json.dumps(data, indent=2, default=_plain)
        return self._write(Path(path), lambda p: p.write_text(text, encoding="utf-8"), "metrics")

    def export_map(self, path: str | Path, map_panel=None) -> bool:
        if not self._need_table():
            return False
        export = getattr(map_panel, "export_image", None)
        if export is None:
            if map_panel is None or Path(path).suffix.lower() == ".svg":
                self._notice("The map panel cannot export images.", "warning")
                return False

            def export(p):
                if not map_panel.grab().save(str(p)):
                    raise OSError(f"could not write {p}")

        return self._write(Path(path), export, "map")

    def _write(self, path: Path, write, what: str) -> bool:
        try:
            write(path)
        except Exception as err:  # a failed export is a message, not a crash
            self._on_export_errored(path, err)
            return False
        self._notice(f"Exported the {what} to {path.name}.", path=path)
        self.finished.emit(str(path))
        return True


def _plain(value):
    """JSON fallback for numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
