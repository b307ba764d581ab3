"""On a 2x screen (QT_SCALE_FACTOR=2, Retina) points keep their size: twice the device pixels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from mmviewer.gui.map.renderer import PointCloudItem


def painted_width(qtbot, dpr: float) -> int:
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    plot.resize(200, 200)
    plot.show()
    qtbot.waitExposed(plot)
    item = PointCloudItem()
    item.set_points(np.array([0.0, 10.0], np.float32), np.array([0.0, 10.0], np.float32))
    plot.addItem(item)
    plot.getViewBox().setRange(xRange=(-10, 10), yRange=(-10, 10), padding=0)
    image = QImage(round(200 * dpr), round(200 * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(dpr)
    image.fill(0)
    p = QPainter(image)
    rect = plot.sceneRect()
    plot.scene().render(p, QRectF(0, 0, 200, 200), rect)
    p.end()
    centre = plot.getViewBox().mapViewToScene(pg.Point(0, 0))
    y = round(centre.y() * dpr)
    row = [QImage.pixelColor(image, x, y) for x in range(image.width())]
    coloured = [c for c in row if c.alpha() == 255 and c.blue() > c.red() + 20]
    return len(coloured)


def test_points_have_the_same_logical_size_at_twice_the_pixel_ratio(qtbot):
    one, two = painted_width(qtbot, 1.0), painted_width(qtbot, 2.0)
    assert one >= 5
    assert abs(two - 2 * one) <= 3  # was: the same device pixels, so half the size on screen
