"""The map's point layer: one pyqtgraph item that draws N points as one rasterised image.

:class:`PointCloudItem` keeps the points as numpy arrays and, on paint, rasterises only what is
in view at the painter's device resolution (:mod:`mmviewer.gui.map.raster`), then blits that
image. The image is cached against the view transform and the data/style versions, so repaints
caused by other items (hover marker, selection outline) cost one ``drawImage``; a pan or zoom
re-rasterises (about 15-25 ms at 1M points on 2 cores, see ``benchmarks/bench_map.py``).

Styling is split so that cheap changes stay cheap: positions (a glide frame), colours (colour-by),
variants (selection / highlight / dimming) and symbols are set independently; none of them
rebuilds the item. Variants also set the draw order: dimmed, faded, normal, selected,
highlighted (later wins a pixel). Within a variant points are drawn in a fixed random order, so a
table sorted by label does not paint one label over all the others.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtSvg import QSvgGenerator

from mmviewer.gui.map.raster import Rasteriser, auto_radius, colour_table

#: Point variants, in draw order (later ones are drawn on top).
DIM, FADED, NORMAL, SELECTED, HIGHLIGHTED = range(5)
N_VARIANTS = 5
MAX_IMAGE_SIDE = 8192
VECTOR_EXPORT_MAX = 50_000  # SVG export draws true vector symbols up to this many points


def variant_rgba(colours: np.ndarray, background, accent) -> tuple[np.ndarray, np.ndarray]:
    """Fill and outline RGBA (K * N_VARIANTS, 4) in [0, 1] for K base colours (K, 3)."""
    c = np.asarray(colours, float).reshape(-1, 3)
    bg = np.asarray(background, float)[:3]
    acc = np.asarray(accent, float)[:3]
    k = len(c)
    fill = np.zeros((k, N_VARIANTS, 4))
    rim = np.zeros((k, N_VARIANTS, 4))
    dark = c * 0.62
    fill[:, :, :3] = c[:, None, :]
    rim[:, :, :3] = dark[:, None, :]
    fill[:, DIM, :3] = 0.45 * c + 0.55 * bg
    rim[:, DIM, :3] = fill[:, DIM, :3]
    fill[:, FADED, :3] = 0.6 * c + 0.4 * bg
    rim[:, FADED, :3] = 0.6 * dark + 0.4 * bg
    rim[:, HIGHLIGHTED, :3] = acc
    fill[:, :, 3] = rim[:, :, 3] = (0.45, 0.45, 1.0, 1.0, 1.0)
    return fill.reshape(-1, 4), rim.reshape(-1, 4)


class PointCloudItem(pg.GraphicsObject):
    """Every point of one map layer (items, or per-modality points)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.raster = Rasteriser()
        self.point_scale = 1.0
        self.render_count = 0  # rasterisations done (tests, benchmark)
        self.data_version = 0  # bumped by set_points only (a "rebuild")
        self._version = 0  # bumped by every change that alters the picture
        self._style_version = 0  # bumped when per-point colours or the draw order change
        self._x = self._y = np.empty(0, np.float32)
        self._colour_index = np.empty(0, np.int32)
        self._colours = np.array([[0.3, 0.45, 0.7]])
        self._variant: np.ndarray | None = None
        self._symbols: np.ndarray | None = None
        self._hidden: np.ndarray | None = None  # (N,) bool: points left out of the picture
        self._background, self._accent = (1.0, 1.0, 1.0), (0.1, 0.1, 0.1)
        self._table = None
        self._perm = np.empty(0, np.int64)
        self._order: np.ndarray | None = None
        self._ordered: dict[str, np.ndarray] = {}
        self._bounds: tuple[float, float, float, float] | None = None
        self._cache: tuple | None = None  # (key, QImage, buffer)

    # -- data -------------------------------------------------------------------------------
    @property
    def n_points(self) -> int:
        return len(self._x)

    def positions(self) -> np.ndarray:
        """(N, 2) float32 copy of the drawn positions."""
        return np.column_stack([self._x, self._y])

    def set_points(self, x, y) -> None:
        """Replace the points (N may change); colours/variants/symbols reset if N changed."""
        x = np.ascontiguousarray(x, np.float32)
        y = np.ascontiguousarray(y, np.float32)
        if len(x) != len(self._x):
            self._perm = np.random.default_rng(len(x)).permutation(len(x))
            self._colour_index = np.zeros(len(x), np.int32)
            self._variant = self._symbols = self._hidden = None
            self._order = None
            self._ordered.clear()
            self._style_version += 1
        self.data_version += 1
        self._move(x, y)

    def move_points(self, x, y) -> None:
        """Move the same N points in place (a glide frame); nothing else changes."""
        x = np.ascontiguousarray(x, np.float32)
        y = np.ascontiguousarray(y, np.float32)
        if len(x) != len(self._x):
            raise ValueError(f"move_points got {len(x)} points, the item holds {len(self._x)}")
        self._move(x, y)

    def _move(self, x, y) -> None:
        self._x, self._y = x, y
        self._ordered.pop("x", None)
        self._ordered.pop("y", None)
        finite = len(x) and np.isfinite(x).all() and np.isfinite(y).all()
        keep = slice(None) if finite else np.isfinite(x) & np.isfinite(y)
        bounds = None
        if len(x) and (finite or keep.any()):
            xs, ys = x[keep], y[keep]
            bounds = (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
            self.informViewBoundsChanged()
        self._changed()

    def set_colours(self, index, colours) -> None:
        """Per-point colour ``index`` (N,) into ``colours`` (K, 3) RGB in [0, 1]."""
        index = np.asarray(index, np.int32)
        if len(index) != len(self._x):
            raise ValueError(f"{len(index)} colour indices for {len(self._x)} points")
        self._colour_index = index
        self._colours = np.asarray(colours, float).reshape(-1, 3)
        self._table = None
        self._ordered.pop("style", None)
        self._changed(style=True)

    def set_variants(self, variant) -> None:
        """Per-point variant (DIM ... HIGHLIGHTED), or None for all NORMAL; sets the draw order."""
        if variant is not None:
            variant = np.asarray(variant, np.uint8)
            if len(variant) != len(self._x):
                raise ValueError(f"{len(variant)} variants for {len(self._x)} points")
        self._variant = variant
        self._order = None
        self._ordered.clear()
        self._changed(style=True)

    def set_hidden(self, hidden) -> None:
        """(N,) bool of points not to draw ("show only the selection"), or None for all."""
        if hidden is not None:
            hidden = np.asarray(hidden, bool)
            if len(hidden) != len(self._x):
                raise ValueError(f"{len(hidden)} hidden flags for {len(self._x)} points")
        self._hidden = hidden
        self._order = None
        self._ordered.clear()
        self._changed(style=True)

    def set_symbols(self, symbols) -> None:
        """Per-point symbol index into ``map_raster.SYMBOLS`` ("o", "s", "t", "d"), or None."""
        self._symbols = None if symbols is None else np.asarray(symbols, np.intp)
        self._ordered.pop("sym", None)
        self._changed()

    def set_theme(self, background, accent) -> None:
        """Colours (RGB in [0, 1]) the dimmed points fade towards and the selection outline."""
        self._background, self._accent = tuple(background), tuple(accent)
        self._table = None
        self._changed(style=True)

    def colours_of(self, index) -> np.ndarray:
        """(n, 3) base RGB of points ``index`` (tests, legend)."""
        return self._colours[self._colour_index[np.asarray(index)]]

    def _changed(self, style: bool = False) -> None:
        self._version += 1
        self._style_version += style
        self.update()

    # -- draw order ----------------------------------------------------------------------------
    def _get_ordered(self, name: str) -> np.ndarray:
        if self._order is None:
            v = self._variant
            if v is None or v.min() == v.max():
                self._order = self._perm
            else:
                vp = v[self._perm]
                self._order = np.concatenate([self._perm[vp == k] for k in range(N_VARIANTS)])
            if self._hidden is not None:
                self._order = self._order[~self._hidden[self._order]]
        arr = self._ordered.get(name)
        if arr is None:
            o = self._order
            if name == "x":
                arr = self._x[o]
            elif name == "y":
                arr = self._y[o]
            elif name == "sym":
                arr = self._symbols[o]
            else:
                variant = NORMAL if self._variant is None else self._variant[o]
                arr = self._colour_index[o] * N_VARIANTS + variant
            self._ordered[name] = arr
        return arr

    def render_image(self, affine, width: int, height: int, pixel_ratio: float = 1.0) -> np.ndarray:
        """Rasterise into a (height, width) premultiplied ARGB32 array (the benchmark's entry);
        ``pixel_ratio`` device pixels per logical pixel keep points the same size on HiDPI."""
        if self._table is None:
            self._table = colour_table(*variant_rgba(self._colours, self._background, self._accent))
        symbols = None if self._symbols is None else self._get_ordered("sym")
        self.render_count += 1
        return self.raster.render(self._get_ordered("x"), self._get_ordered("y"),
                                  self._get_ordered("style"), self._table, affine, width, height,
                                  symbols=symbols, scale=self.point_scale * pixel_ratio,
                                  style_key=self._style_version)

    # -- pyqtgraph / QGraphicsItem -------------------------------------------------------------
    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if self._bounds is None:
            return (None, None)
        return self._bounds[0:2] if ax == 0 else self._bounds[2:4]

    def pixelPadding(self) -> float:
        return self._radius() + 2

    def _radius(self) -> float:
        return self.raster.last_radius or auto_radius(self.n_points, self.point_scale)

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            return QRectF()
        x0, x1, y0, y1 = self._bounds
        px, py = self.pixelLength(pg.Point(1, 0)), self.pixelLength(pg.Point(0, 1))
        pad = self.pixelPadding() + 6
        px = 0.0 if px is None or not math.isfinite(px) else px * pad
        py = 0.0 if py is None or not math.isfinite(py) else py * pad
        return QRectF(x0 - px, y0 - py, (x1 - x0) + 2 * px, (y1 - y0) + 2 * py)

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()  # the pixel padding of boundingRect changed

    def paint(self, p: QPainter, opt, widget) -> None:
        if not self.n_points:
            return
        tr = p.transform()
        vb = self.getViewBox()
        view = vb.viewRect() if vb is not None and hasattr(vb, "viewRect") else self.boundingRect()
        dev = tr.mapRect(view)
        device = p.device()
        if device is not None and device.width() > 0 and not isinstance(device, QSvgGenerator):
            dev = dev.intersected(QRectF(0, 0, device.width(), device.height()))
        if dev.isEmpty():
            return
        if isinstance(device, QSvgGenerator) and self.n_points <= VECTOR_EXPORT_MAX:
            self._paint_vector(p, tr, dev)
            return
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        left, top = math.floor(dev.left()), math.floor(dev.top())
        w = min(MAX_IMAGE_SIDE, math.ceil((dev.right() - left) * dpr))
        h = min(MAX_IMAGE_SIDE, math.ceil((dev.bottom() - top) * dpr))
        affine = (tr.m11() * dpr, (tr.m31() - left) * dpr, tr.m22() * dpr, (tr.m32() - top) * dpr)
        key = (w, h, affine, self._version, self.point_scale)
        if self._cache is None or self._cache[0] != key:
            buf = self.render_image(affine, w, h, dpr)
            img = QImage(buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
            img.setDevicePixelRatio(dpr)
            self._cache = (key, img, buf)
        p.save()
        p.resetTransform()
        p.drawImage(QPointF(left, top), self._cache[1])
        p.restore()

    def _paint_vector(self, p: QPainter, tr, dev: QRectF) -> None:
        """True vector symbols (SVG export of up to VECTOR_EXPORT_MAX points)."""
        px = self._get_ordered("x") * tr.m11() + tr.m31()
        py = self._get_ordered("y") * tr.m22() + tr.m32()
        inside = np.flatnonzero((px > dev.left() - 8) & (px < dev.right() + 8)
                                & (py > dev.top() - 8) & (py < dev.bottom() + 8))
        r = auto_radius(len(inside), self.point_scale)
        style = self._get_ordered("style")
        sym = self._get_ordered("sym") if self._symbols is not None else None
        fill, rim = variant_rgba(self._colours, self._background, self._accent)
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        brushes, pens = {}, {}
        for i in inside:
            s = int(style[i])
            if s not in brushes:
                brushes[s] = QBrush(QColor.fromRgbF(*fill[s]))
                pens[s] = QPen(QColor.fromRgbF(*rim[s]), 1.0 if r >= 2.4 else 0.0)
                pens[s].setStyle(Qt.PenStyle.SolidLine if r >= 2.4 else Qt.PenStyle.NoPen)
            p.setBrush(brushes[s])
            p.setPen(pens[s])
            _draw_symbol(p, float(px[i]), float(py[i]), r, 0 if sym is None else int(sym[i]))
        p.restore()


def _draw_symbol(p: QPainter, x: float, y: float, r: float, sym: int) -> None:
    if sym == 1:  # square
        s = r * 0.86
        p.drawRect(QRectF(x - s, y - s, 2 * s, 2 * s))
    elif sym == 2:  # triangle, pointing up
        b = r * 1.3
        c = math.cos(math.pi / 6) * b
        y0 = y + b * 0.15
        p.drawPolygon(QPolygonF([QPointF(x, y0 - b), QPointF(x + c, y0 + b / 2),
                                 QPointF(x - c, y0 + b / 2)]))
    elif sym == 3:  # diamond
        d = r * 1.25
        p.drawPolygon(QPolygonF([QPointF(x, y - d), QPointF(x + d, y), QPointF(x, y + d),
                                 QPointF(x - d, y)]))
    else:
        p.drawEllipse(QPointF(x, y), r, r)
