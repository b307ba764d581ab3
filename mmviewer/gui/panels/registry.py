"""The panels the main window hosts, imported lazily: a panel that cannot be built (missing
module, an import error, a constructor error) becomes a placeholder that says why, and the
rest of the window still works."""

from __future__ import annotations

import importlib
import traceback
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


@dataclass(frozen=True)
class PanelSpec:
    key: str  # also the dock's objectName suffix
    title: str
    module: str
    cls: str
    takes_thumbnails: bool
    tip: str


PANELS = (
    PanelSpec("map", "Map", "mmviewer.gui.map.qt_map", "QtMap", True,
              "The items laid out in 2-D by fused similarity (UMAP): close points are similar "
              "under the current weights. Click a point to select its item."),
    PanelSpec("matches", "Matches", "mmviewer.gui.matches.qt_matches", "QtMatches", True,
              "For the selected item: its best matches in each other modality, with the true "
              "partner marked, and the fused similar items."),
    PanelSpec("preview", "Preview", "mmviewer.gui.preview.qt_preview", "QtPreview", True,
              "The selected item: its image, its text and its audio (with playback)."),
    PanelSpec("fusion", "Fusion", "mmviewer.gui.panels.qt_fusion", "QtFusion", False,
              "Weights of each modality in the fused views, the alignment method, list length "
              "and map mode."),
    PanelSpec("metrics", "Metrics", "mmviewer.gui.panels.qt_metrics", "QtMetrics", False,
              "How well the modalities line up: held-out retrieval figures per modality pair."),
    PanelSpec("query", "Text query", "mmviewer.gui.panels.qt_query", "QtQuery", True,
              "Type a description to find the items that match it best, by meaning "
              "(Ctrl+Shift+F)."),
    PanelSpec("items", "Items", "mmviewer.gui.table.qt_items", "QtItems", True,
              "Every item as a row: metadata, modalities, tags, partner ranks and pair scores; "
              "sort, filter, find (Ctrl+F), tag and export."),
    PanelSpec("suspects", "Suspects", "mmviewer.gui.suspects.qt_suspects", "QtSuspects", True,
              "The items whose image, text and audio disagree, most suspect first, with the odd "
              "modality named: check each, mark it fine or wrong (F / W), export the list."),
)
SPECS = {spec.key: spec for spec in PANELS}


class Placeholder(QLabel):
    """Stands in for a panel that is not available; says why."""

    def __init__(self, spec: PanelSpec, reason: str, parent: QWidget | None = None):
        super().__init__(f"{spec.title} panel is not available.\n{reason}", parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setToolTip(reason)
        self.setStyleSheet("color: #777;")
        self.reason = reason


def build_panel(spec: PanelSpec, state, model, thumbnails) -> tuple[QWidget, str | None]:
    """``(widget, None)``, or ``(placeholder, reason)`` when the panel cannot be built."""
    try:
        module = importlib.import_module(spec.module)
        cls = getattr(module, spec.cls)
    except ModuleNotFoundError as err:
        if err.name == spec.module:
            return Placeholder(spec, f"({spec.module} is not installed)"), "missing"
        return _failed(spec, err)
    except Exception as err:  # a broken panel must not take the window down
        return _failed(spec, err)
    try:
        if spec.takes_thumbnails:
            widget = cls(state, model, thumbnails=thumbnails)
        else:
            widget = cls(state, model)
    except Exception as err:
        return _failed(spec, err)
    widget.setObjectName(f"panel_{spec.key}")
    return widget, None


def _failed(spec: PanelSpec, err: BaseException) -> tuple[QWidget, str]:
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    placeholder = Placeholder(spec, text)
    placeholder.details = traceback.format_exception(err)
    return placeholder, text
