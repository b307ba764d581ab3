"""Mouse tools of the map: pan (pyqtgraph's own), rectangle and lasso selection, click.

:class:`MapViewBox` is a pyqtgraph ``ViewBox`` that turns a left drag into a selection shape when
the rectangle or lasso tool is active, or with a modifier in pan mode (Shift-drag: rectangle,
Ctrl- or Alt-drag: lasso). With a selection tool active, Shift adds to the selection and Ctrl
removes from it. Shapes are emitted in data coordinates; the panel decides what they select.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

PAN, RECT, LASSO = "pan", "rect", "lasso"
REPLACE, ADD, SUBTRACT = "replace", "add", "subtract"
LASSO_STEP_PX = 3.0  # lasso vertices closer than this on screen are dropped

_SHIFT = Qt.KeyboardModifier.ShiftModifier
_CTRL = Qt.KeyboardModifier.ControlModifier
_ALT = Qt.KeyboardModifier.AltModifier


def tool_for(tool: str, modifiers) -> tuple[str, str]:
    """(shape tool, combine op) for a left drag with ``modifiers`` while ``tool`` is active."""
    if tool == PAN:
        if modifiers & _SHIFT:
            return RECT, REPLACE
        if modifiers & (_CTRL | _ALT):
            return LASSO, REPLACE
        return PAN, REPLACE
    if modifiers & _SHIFT:
        return tool, ADD
    if modifiers & (_CTRL | _ALT):
        return tool, SUBTRACT
    return tool, REPLACE


class MapViewBox(pg.ViewBox):
    """A ViewBox with selection tools; emits shapes and clicks in data coordinates."""

    clicked = Signal(float, float, object)  # x, y, keyboard modifiers
    rect_drawn = Signal(object, str)  # QRectF (data), op
    lasso_drawn = Signal(object, str)  # (K, 2) float array (data), op

    def __init__(self, **kw):
        super().__init__(**kw)
        self.tool = PAN
        self.reserved_px = (0, 0)  # (right, top) kept free of points by auto-range: the legend
        self._drag: tuple[str, str] | None = None
        self._lasso: list[QPointF] = []
        self._lasso_px: QPointF | None = None
        self.shape_item = QGraphicsPathItem()
        pen = QPen(QColor(30, 30, 30), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.shape_item.setPen(pen)
        self.shape_item.setBrush(QBrush(QColor(80, 140, 220, 45)))
        self.shape_item.setZValue(1e6)
        self.shape_item.hide()
        self.addItem(self.shape_item, ignoreBounds=True)

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):  # noqa: N802
        """pyqtgraph's bounds, widened to the right and upwards so auto-range keeps points off
        the legend in the top-right corner."""
        rng = super().childrenBounds(frac, orthoRange, items)
        for axis, size, reserve in ((0, self.width(), self.reserved_px[0]),
                                    (1, self.height(), self.reserved_px[1])):
            if reserve and rng[axis] is not None and size > 2 * reserve:
                rng[axis][1] += (rng[axis][1] - rng[axis][0]) * reserve / (size - reserve)
        return rng

    def reserve(self, right_px: int = 0, top_px: int = 0) -> None:
        """Keep ``right_px`` screen pixels on the right and ``top_px`` at the top free of points
        when auto-ranging."""
        if (right_px, top_px) != self.reserved_px:
            self.reserved_px = (right_px, top_px)
            if any(self.autoRangeEnabled()):
                self.updateAutoRange()

    def set_tool(self, tool: str) -> None:
        if tool not in (PAN, RECT, LASSO):
            raise ValueError(f"unknown map tool {tool!r}")
        self.tool = tool

    # -- mouse ---------------------------------------------------------------------------------
    def mouseClickEvent(self, ev):  # noqa: N802 (Qt override)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapToView(ev.pos())
            self.clicked.emit(p.x(), p.y(), ev.modifiers())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt override)
        if ev.button() != Qt.MouseButton.LeftButton or axis is not None:
            super().mouseDragEvent(ev, axis)
            return
        if ev.isStart():
            self._drag = tool_for(self.tool, ev.modifiers())
            self._lasso = [self.mapToView(ev.buttonDownPos())]
            self._lasso_px = ev.buttonDownPos()
        shape, op = self._drag or (PAN, REPLACE)
        if shape is None:  # cancelled with Escape: swallow the rest of this drag
            ev.accept()
            if ev.isFinish():
                self._drag = None
            return
        if shape == PAN:
            super().mouseDragEvent(ev, axis)
            if ev.isFinish():
                self._drag = None
            return
        ev.accept()
        here = self.mapToView(ev.pos())
        if shape == RECT:
            rect = QRectF(self._lasso[0], here).normalized()
            path = QPainterPath()
            path.addRect(rect)
        else:
            if (ev.pos() - self._lasso_px).manhattanLength() >= LASSO_STEP_PX or ev.isFinish():
                self._lasso.append(here)
                self._lasso_px = ev.pos()
            path = QPainterPath()
            path.addPolygon(QPolygonF(self._lasso))
            path.closeSubpath()
        self.shape_item.setPath(path)
        self.shape_item.show()
        if ev.isFinish():
            self.shape_item.hide()
            self._drag = None
            if shape == RECT:
                self.rect_drawn.emit(rect, op)
            elif len(self._lasso) >= 3:
                poly = np.array([(p.x(), p.y()) for p in self._lasso], np.float64)
                self.lasso_drawn.emit(poly, op)

    def cancel_drag(self) -> None:
        """Drop a shape being drawn (Escape)."""
        if self._drag is not None and self._drag[0] != PAN:
            self._drag = (None, REPLACE)
        self.shape_item.hide()
