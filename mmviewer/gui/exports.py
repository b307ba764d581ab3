"""File → Export matches / metrics / map.

Matches for every item are computed and written by
:func:`mmviewer.core.match.export.write_all_matches`, a job of the model's runner
(CSV, or Parquet through pyarrow); metrics come from the Metrics panel's ``to_json()`` (or the
model's latest result); the map from the map panel's ``export_image``. Every outcome is a
notice in the status bar.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from mmviewer.core.app.state import Notice
from mmviewer.core.match.export import write_all_matches

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


class Exporter(QObject):
    """Runs the exports of one window; results and errors become model notices."""

    progress = Signal(float)  # matches export, fraction done
    finished = Signal(str)  # the path written

    def __init__(self, model, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        self.last_metrics = None
        self._job = model.jobs.slot("export-matches", id(self))
        model.metrics_ready.connect(self._on_model_metrics_ready)
        model.table_ready.connect(self._on_model_table_ready)

    def _on_model_metrics_ready(self, result) -> None:
        self.last_metrics = result

    def _on_model_table_ready(self) -> None:
        self.last_metrics = None

    def _notice(self, text: str, level: str = "info", path=None, details=None) -> None:
        self.model.notice.emit(Notice(text, level, str(path) if path else None, details or []))

    def _need_table(self) -> bool:
        if self.model.workspace is None:
            self._notice("Nothing to export yet: open a dataset first.", "warning")
            return False
        return True

    # -- matches ----------------------------------------------------------------------------------
    def export_matches(self, path: str | Path) -> bool:
        """Start writing every item's match lists to ``path`` in the background."""
        if not self._need_table():
            return False
        if self._job.active:
            self._notice("An export is already running.", "warning")
            return False
        state = self.model.state
        self._job.submit(write_all_matches, self.model.workspace, state.weight_map, state.method,
                         state.k, Path(path), on_progress=self.progress.emit,
                         on_result=self._on_matches_returned,
                         on_error=lambda err: self._on_export_errored(path, err),
                         label=f"Exporting matches to {Path(path).name}")
        n = self.model.workspace.table.n_items
        self._notice(f"Exporting the match lists of {n} items to {Path(path).name}…", path=path)
        return True

    def _on_matches_returned(self, value) -> None:
        path, rows = value
        self._notice(f"Exported {rows} match rows to {Path(path).name}.", path=path)
        self.finished.emit(path)

    def _on_export_errored(self, path, err: BaseException) -> None:
        import traceback

        self._notice(f"Export failed: {err}", "error", path=path,
                     details=traceback.format_exception(err))

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
