"""Layouts for map tests and the mapping from data to widget pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF


def grid(n: int = 30, cols: int = 6, step: float = 1.0) -> np.ndarray:
    i = np.arange(n)
    return np.column_stack([(i % cols) * step, (i // cols) * step]).astype(np.float32)


def show_layout(qtbot, panel, pos, kind="umap"):
    with qtbot.waitSignal(panel.points_changed, timeout=5000):
        panel.model.layout_ready.emit(pos, kind)


def widget_xy(panel, x, y) -> tuple[int, int]:
    p = panel.plot.mapFromScene(panel.view_box.mapViewToScene(QPointF(float(x), float(y))))
    return p.x(), p.y()
