"""Shared look of the small pyqtgraph plots inside panels (waveform, recall chart)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget


def style_plot(plot: pg.PlotWidget, widget: QWidget) -> None:
    """Draw ``plot`` in the widget palette's colours (not pyqtgraph's global black)."""
    palette = widget.palette()
    plot.setBackground(palette.color(QPalette.ColorRole.Base))
    text = palette.color(QPalette.ColorRole.Text)
    for name in ("left", "bottom"):
        plot.getAxis(name).setPen(text)
        plot.getAxis(name).setTextPen(text)
