"""Map pictures fit for slides: any size and pixel scale, with a title, what the colours mean and
the legend, as PNG (or another raster format) or SVG.

The picture is drawn from the map's data, not grabbed from the screen: points go through the
same numpy rasteriser as the window (:meth:`PointCloudItem.render_image`) at the picture's own
resolution (``scale`` 2 for HiDPI slides gives twice the pixels, the same layout), or as vector
symbols in SVG up to :data:`~mmviewer.gui.map.renderer.VECTOR_EXPORT_MAX` points. The frame is
the map's current view widened to the picture's aspect, or every point (``fit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF, QTransform
from PySide6.QtSvg import QSvgGenerator

from mmviewer.gui.map.renderer import VECTOR_EXPORT_MAX

LEGEND_MAX = 16
MARGIN = 24


@dataclass
class PictureSpec:
    """What to draw: size in logical pixels, pixel ``scale`` (2 = HiDPI), and the texts."""

    width: int = 1920
    height: int = 1080
    scale: float = 1.0
    title: str = ""
    subtitle: str = ""
    legend: bool = True
    fit: bool = False  # every point, instead of the current view
    transparent: bool = False

    def __post_init__(self) -> None:
        if not (64 <= self.width <= 10_000 and 64 <= self.height <= 10_000):
            raise ValueError(f"picture size {self.width}×{self.height} is outside 64..10000 px")
        if not 0.25 <= self.scale <= 4:
            raise ValueError(f"pixel scale {self.scale} is outside 0.25..4")
        if self.width * self.height * self.scale ** 2 > 120e6:
            raise ValueError("the picture would exceed 120 million pixels; lower the size or scale")


def describe(panel) -> str:
    """The default subtitle: what the colours mean, the pair, the method and the weights."""
    state, model = panel.state, panel.model
    c = panel.colouring_for_legend()
    parts = []
    if c is not None:
        parts.append(f"Colour: {c.title}")
        if c.note and c.done:
            parts.append(c.note)
    weights = ", ".join(f"{m} {w:g}" for m, w in state.weight_map.items())
    parts.append(f"alignment {state.method}")
    if weights:
        parts.append(f"weights {weights}")
    kind = {"umap": "UMAP", "pca": "PCA", "cached": "UMAP"}.get(model.layout_kind, model.layout_kind)
    if model.workspace is not None:
        parts.append(f"{model.workspace.table.n_items:,} items, {kind} map")
    return " · ".join(parts)


def _frame(panel, aspect: float, fit: bool) -> QRectF:
    """The data rectangle shown: the current view (or every point) widened to ``aspect``."""
    layer = panel.layer
    if fit or layer.n_points == 0:
        xy = layer.displayed()
        finite = xy[np.isfinite(xy).all(axis=1)]
        if not len(finite):
            return QRectF(0, 0, 1, 1)
        (x0, y0), (x1, y1) = finite.min(axis=0), finite.max(axis=0)
        pad = 0.04 * max(x1 - x0, y1 - y0, 1e-9)
        x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    else:
        (x0, x1), (y0, y1) = panel.view_box.viewRange()
    w, h = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    if w / h < aspect:
        grow = aspect * h - w
        x0, x1 = x0 - grow / 2, x1 + grow / 2
    else:
        grow = w / aspect - h
        y0, y1 = y0 - grow / 2, y1 + grow / 2
    return QRectF(x0, y0, x1 - x0, y1 - y0)


def _fonts(spec: PictureSpec) -> tuple[QFont, QFont, QFont]:
    base = max(11.0, min(spec.width, spec.height * 16 / 9) / 110)
    title, sub, small = QFont(), QFont(), QFont()
    title.setPixelSize(round(base * 2.4))
    title.setBold(True)
    sub.setPixelSize(round(base * 1.2))
    small.setPixelSize(round(base * 1.05))
    return title, sub, small


def _legend_size(c, small: QFont, painter: QPainter) -> QSize:
    if c is None or not c.labels:
        return QSize(0, 0)
    painter.setFont(small)
    fm = painter.fontMetrics()
    rows = _legend_rows(c)
    text_w = max([fm.horizontalAdvance(c.title)] + [fm.horizontalAdvance(t) for t, _ in rows])
    line = fm.height() + 4
    return QSize(min(text_w + 3 * line, 520), line * (len(rows) + 1) + 16)


def _legend_rows(c) -> list[tuple[str, object]]:
    rows = [(f"{label}  ({int(n):,})", rgb) for label, rgb, n in zip(c.labels, c.colours, c.counts, strict=True) if n]
    if len(rows) > LEGEND_MAX:
        rest = len(rows) - LEGEND_MAX + 1
        rows = rows[: LEGEND_MAX - 1] + [(f"… {rest} more", None)]
    return rows


def paint_picture(panel, painter: QPainter, spec: PictureSpec, vector: bool = False) -> None:
    """Draw the whole picture with ``painter`` in logical coordinates (0, 0, width, height)."""
    W, H = spec.width, spec.height
    dark = QColor(30, 34, 40)
    if not spec.transparent:
        painter.fillRect(QRectF(0, 0, W, H), QColor("white"))
    title_f, sub_f, small_f = _fonts(spec)
    top = MARGIN
    painter.setPen(dark)
    for text, font in ((spec.title, title_f), (spec.subtitle, sub_f)):
        if text:
            painter.setFont(font)
            fm = painter.fontMetrics()
            box = QRectF(MARGIN, top, W - 2 * MARGIN, fm.height() * 2.2)
            used = painter.boundingRect(box, Qt.TextFlag.TextWordWrap, text)
            painter.drawText(box, Qt.TextFlag.TextWordWrap, text)
            top += used.height() + 6
    c = panel.colouring_for_legend() if spec.legend else None
    legend = _legend_size(c, small_f, painter)
    plot = QRectF(MARGIN, top + 6, W - 2 * MARGIN - (legend.width() + MARGIN if legend.width() else 0),
                  H - top - 6 - MARGIN)
    if plot.width() < 32 or plot.height() < 32:
        raise ValueError("the picture is too small for its title and legend")
    _paint_points(panel, painter, plot, spec, vector)
    if legend.width():
        _paint_legend(painter, c, QRectF(plot.right() + MARGIN, plot.top(), legend.width(),
                                         legend.height()), small_f)


def _paint_points(panel, painter: QPainter, plot: QRectF, spec: PictureSpec, vector: bool) -> None:
    frame = _frame(panel, plot.width() / plot.height(), spec.fit)
    sx = plot.width() / frame.width()
    # data y grows upwards; the picture's y downwards
    tr = QTransform(sx, 0, 0, -sx, plot.left() - frame.left() * sx, plot.bottom() + frame.top() * sx)
    layer = panel.layer
    painter.save()
    painter.setClipRect(plot)
    if layer.curve is not None and layer.curve.isVisible():
        _paint_lines(painter, layer, tr)
    item = layer.item
    s = 1.0 if vector else spec.scale
    scale = item.point_scale
    # the same on-paper size at every pixel scale, and bigger points on a bigger picture
    item.point_scale = scale * s * min(3.0, max(1.0, min(plot.width(), plot.height()) / 600))
    try:
        if item.n_points and vector and item.n_points <= VECTOR_EXPORT_MAX:
            item._paint_vector(painter, tr, plot)
        elif item.n_points:
            w, h = math.ceil(plot.width() * s), math.ceil(plot.height() * s)
            affine = (tr.m11() * s, (tr.m31() - plot.left()) * s, tr.m22() * s,
                      (tr.m32() - plot.top()) * s)
            buf = item.render_image(affine, w, h)
            img = QImage(buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()
            img.setDevicePixelRatio(s)
            painter.drawImage(plot.topLeft(), img)
    finally:
        item.point_scale = scale
    images = getattr(panel, "images", None)
    if images is not None:
        images.paint_into(painter, tr)  # the picture mode's thumbnails, as on screen
    _paint_current(panel, painter, tr)
    painter.restore()
    painter.setPen(QPen(QColor(0, 0, 0, 40), 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(plot)


def _paint_lines(painter: QPainter, layer, tr: QTransform) -> None:
    x, y = layer.curve.getData()
    if x is None or not len(x):
        return
    painter.setPen(QPen(QColor(128, 128, 128, 90), 1))
    for i in range(0, len(x) - 1, 2):
        painter.drawLine(tr.map(QPointF(x[i], y[i])), tr.map(QPointF(x[i + 1], y[i + 1])))


def _paint_current(panel, painter: QPainter, tr: QTransform) -> None:
    """The current item's ring and its top matches, as on screen."""
    markers = panel.markers
    painter.setBrush(Qt.BrushStyle.NoBrush)
    orange = QColor(230, 120, 0)
    for spot in markers.partners.points():
        p = tr.map(spot.pos())
        painter.setPen(QPen(orange, 2))
        painter.drawPolygon(QPolygonF([p + QPointF(0, -7), p + QPointF(7, 0), p + QPointF(0, 7),
                                       p + QPointF(-7, 0)]))
    for spot in markers.ring.points():
        p = tr.map(spot.pos())
        painter.setPen(QPen(QColor("white"), 4))
        painter.drawEllipse(p, 12, 12)
        painter.setPen(QPen(QColor(20, 20, 20), 2))
        painter.drawEllipse(p, 12, 12)


def _paint_legend(painter: QPainter, c, box: QRectF, font: QFont) -> None:
    painter.setFont(font)
    fm = painter.fontMetrics()
    line = fm.height() + 4
    painter.setPen(QPen(QColor(0, 0, 0, 50), 1))
    painter.setBrush(QColor(255, 255, 255, 230))
    painter.drawRoundedRect(box, 6, 6)
    painter.setPen(QColor(30, 34, 40))
    bold = QFont(font)
    bold.setBold(True)
    painter.setFont(bold)
    painter.drawText(QPointF(box.left() + 10, box.top() + 8 + fm.ascent()), c.title)
    painter.setFont(font)
    for k, (text, rgb) in enumerate(_legend_rows(c)):
        y = box.top() + 8 + line * (k + 1)
        if rgb is not None:  # drawn, not an icon, so an SVG keeps it vector
            c = QColor.fromRgbF(*[float(v) for v in rgb[:3]])
            r = (fm.height() - 4) / 2
            painter.setBrush(c)
            painter.setPen(QPen(c.darker(160), 1))
            painter.drawEllipse(QPointF(box.left() + 10 + r, y + fm.height() / 2), r, r)
            painter.setPen(QColor(30, 34, 40))
        painter.drawText(QPointF(box.left() + 10 + fm.height() + 6, y + fm.ascent()), text)


def save_picture(panel, path: str | Path, spec: PictureSpec) -> Path:
    """Write the picture to ``path`` (``.svg``: SVG; else a raster image by suffix).

    Raises OSError naming the file when it cannot be written, ValueError for a bad spec."""
    path = Path(path)
    for layer in (panel.items, panel.modality_points):
        layer.finish_glide()
    if path.suffix.lower() == ".svg":
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(QSize(spec.width, spec.height))
        gen.setViewBox(QRectF(0, 0, spec.width, spec.height))
        gen.setTitle(spec.title or "mmviewer map")
        gen.setDescription(spec.subtitle)
        painter = QPainter(gen)
        try:
            paint_picture(panel, painter, spec, vector=True)
        finally:
            painter.end()
    else:
        image = QImage(round(spec.width * spec.scale), round(spec.height * spec.scale),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(spec.scale)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        try:
            paint_picture(panel, painter, spec)
        finally:
            painter.end()
        if not image.save(str(path)):
            raise OSError(f"could not write {path} (unknown image format or the folder is not writable)")
    if not path.exists() or path.stat().st_size == 0:
        raise OSError(f"could not write {path}")
    return path
