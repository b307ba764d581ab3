"""Item images on the map: each item's thumbnail drawn at its place, framed in its colour.

:class:`MapImages` adds a "Pictures" switch to the map's toolbar and an :class:`ImageItem` above
the points. Level of detail by zoom: while more than :data:`MAX_IN_VIEW` items are in view the
map stays dots (a note says to zoom in); below that each visible item with an image is drawn as
its thumbnail, bigger the fewer there are. Thumbnails come from the store's thumbnail shelf
through a job of the model's runner (:mod:`.image_loader`); until one lands its dot shows.
Panning costs a visibility mask over the positions (about a millisecond at 100k items) and
the drawing of at most a few hundred small images; nothing is decoded on the UI thread.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QLabel

from mmviewer.core.app.state import MAP_ITEMS
from mmviewer.core.store.embedding_store import store_dir_for
from mmviewer.gui.map.renderer import DIM, FADED, SELECTED
from mmviewer.gui.showcase.image_loader import ImageSource, load_images

MAX_IN_VIEW = 300  # more items than this in view: dots
MIN_PX, MAX_PX = 24, 96  # thumbnail side on screen (logical pixels)
CACHE = 2000  # decoded thumbnails kept
REQUEST_DELAY_MS = 60  # a pan asks for new thumbnails once it pauses this long
FRAME_PX = 3
GREY = QColor(150, 150, 150)


class ImageItem(pg.GraphicsObject):
    """Draws thumbnails at data positions, a fixed size on screen, framed in their colour."""

    def __init__(self):
        super().__init__()
        self.rows = np.empty(0, np.int64)
        self.xy = np.empty((0, 2), np.float64)
        self.images: dict[int, QImage] = {}
        self.frames: dict[int, QColor] = {}
        self.faded: set[int] = set()
        self.outlined: set[int] = set()
        self.current = -1
        self.side = 48.0
        self.drawn = 0  # thumbnails painted last time (tests, benchmark)
        self._bounds = QRectF()
        self._scaled: dict[int, QImage] = {}
        self._scaled_key = None

    def set_rows(self, rows, xy, side: float) -> None:
        self.prepareGeometryChange()
        self.rows = np.asarray(rows, np.int64)
        self.xy = np.asarray(xy, np.float64).reshape(-1, 2)
        self.side = float(side)
        if len(self.xy):
            (x0, y0), (x1, y1) = self.xy.min(axis=0), self.xy.max(axis=0)
            self._bounds = QRectF(x0, y0, x1 - x0, y1 - y0)
        else:
            self._bounds = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        if self._bounds.isNull() and not len(self.rows):
            return QRectF()
        px, py = self.pixelLength(pg.Point(1, 0)), self.pixelLength(pg.Point(0, 1))
        pad = self.side / 2 + FRAME_PX + 2
        px = 0.0 if px is None or not math.isfinite(px) else px * pad
        py = 0.0 if py is None or not math.isfinite(py) else py * pad
        return self._bounds.adjusted(-px, -py, px, py)

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        self.prepareGeometryChange()  # the padding in pixels changed

    def style_of(self, row: int) -> tuple:
        frame = self.frames.get(row, GREY)
        return frame.rgba(), row == self.current, row in self.outlined, row in self.faded

    def paint(self, p: QPainter, *_args) -> None:
        self.drawn = 0
        if not len(self.rows):
            return
        tr = p.transform()
        device = p.device()
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        key = (round(self.side), round(dpr, 2))
        if key != self._scaled_key or len(self._scaled) > 4 * MAX_IN_VIEW:
            self._scaled, self._scaled_key = {}, key  # a new zoom level, or a long pan
        # the view transform has no rotation: map every centre at once
        sx = self.xy[:, 0] * tr.m11() + self.xy[:, 1] * tr.m21() + tr.m31()
        sy = self.xy[:, 0] * tr.m12() + self.xy[:, 1] * tr.m22() + tr.m32()
        p.save()
        p.resetTransform()
        rows = self.rows.tolist()
        order = [i for i, r in enumerate(rows) if r != self.current]
        order += [i for i, r in enumerate(rows) if r == self.current]  # on top
        opacity = 1.0
        for i in order:
            row = rows[i]
            image = self.images.get(row)
            if image is None:
                continue
            tile = self.tile(row, image, dpr)
            faded = 0.3 if row in self.faded else 1.0
            if faded != opacity:
                p.setOpacity(faded)
                opacity = faded
            p.drawImage(QPointF(sx[i] - tile.width() / (2 * dpr), sy[i] - tile.height() / (2 * dpr)), tile)
            self.drawn += 1
        p.restore()

    def tile(self, row: int, image: QImage, dpr: float) -> QImage:
        """The framed thumbnail of ``row`` at the drawn size and the device's pixel ratio, made
        once per zoom level and style (one unscaled blit per item keeps a pan at a few ms)."""
        style = self.style_of(row)
        cached = self._scaled.get(row)
        if cached is not None and cached[0] == style:
            return cached[1]
        frame, current, outlined = QColor.fromRgba(style[0]), style[1], style[2]
        px = max(1, round(self.side * dpr))
        inner = image.scaled(px, px, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        pad = round((FRAME_PX + (2 if current or outlined else 0)) * dpr)
        out = QImage(inner.width() + 2 * pad, inner.height() + 2 * pad,
                     QImage.Format.Format_ARGB32_Premultiplied)
        out.fill(QColor(20, 20, 20) if current else frame)
        q = QPainter(out)
        if current or outlined:
            ring = pad - round(FRAME_PX * dpr)
            q.fillRect(ring, ring, out.width() - 2 * ring, out.height() - 2 * ring, frame)
        q.drawImage(pad, pad, inner)
        q.end()
        out.setDevicePixelRatio(dpr)
        self._scaled[row] = (style, out)
        return out

    def draw_one(self, p: QPainter, centre: QPointF, image: QImage, row: int,
                 dpr: float = 1.0) -> None:
        """One framed thumbnail centred at ``centre`` (exports)."""
        tile = self.tile(row, image, dpr)
        p.setOpacity(0.3 if row in self.faded else 1.0)
        p.drawImage(QPointF(centre.x() - tile.width() / (2 * dpr),
                            centre.y() - tile.height() / (2 * dpr)), tile)
        self.drawn += 1


class MapImages(QObject):
    """The map's picture mode: the toolbar switch, the visible set, thumbnail requests."""

    shown = Signal(int)  # items drawn as pictures now (0: dots)

    def __init__(self, panel):
        super().__init__(panel)
        self.panel, self.model = panel, panel.model
        self.item = ImageItem()
        self.item.setZValue(5)  # above the points, below the current-item markers
        panel.view_box.addItem(self.item, ignoreBounds=True)
        self.action = QAction("Pictures", panel.toolbar, checkable=True)
        self.action.setToolTip("Draw each item's image at its place when few enough are in view "
                               f"(up to {MAX_IN_VIEW}); zoom in to see them")
        before = getattr(panel.toolbar, "legend_action", None)
        if before is not None:
            panel.toolbar.insertAction(before, self.action)
        else:
            panel.toolbar.addAction(self.action)
        self.note = QLabel(panel.plot)
        self.note.setStyleSheet("background: rgba(255,255,255,200); color: #333; padding: 3px 6px;"
                                " border-radius: 4px;")
        self.note.hide()
        self.cache: OrderedDict[int, QImage | None] = OrderedDict()
        self.source: ImageSource | None = None
        self._told = 0  # store problems already shown
        self.has_images = False
        self._job = self.model.jobs.slot("map-images", id(self))
        self._timer = QTimer(self, singleShot=True, interval=REQUEST_DELAY_MS)
        self._timer.timeout.connect(self._request)
        self.action.toggled.connect(self._on_action_toggled)
        panel.view_box.sigRangeChanged.connect(self._on_view_changed)
        panel.items.moved.connect(self._on_view_changed)
        panel.colours_changed.connect(self._on_panel_colours_changed)
        self.model.table_ready.connect(self._on_model_table_ready)
        ev = panel.state.events
        for event in (ev.current, ev.selection, ev.highlight):
            event.connect(self._on_state_styles)
        ev.map_mode.connect(self._on_view_changed)
        if self.model.workspace is not None:
            self._on_model_table_ready()

    @property
    def enabled(self) -> bool:
        return (self.action.isChecked() and self.has_images
                and self.panel.state.map_mode == MAP_ITEMS)

    # -- table ----------------------------------------------------------------------------------
    def _on_model_table_ready(self) -> None:
        self._job.cancel()
        self.cache.clear()
        self.item._scaled_key = None  # rows are other items now
        dataset = self.model.dataset
        items = getattr(dataset, "items", ())
        probe = items[: 200] if dataset is not None and dataset.precomputed is None else ()
        self.has_images = any("image" in it.media for it in probe)
        self.action.setEnabled(self.has_images)
        if not self.has_images:
            self.action.setToolTip("Pictures: this dataset has no images")
        store = None
        if self.has_images and self.model.options.use_store:
            try:
                store = store_dir_for(Path(dataset.root))
            except OSError:
                store = None
        self.source = ImageSource(store)  # the old one closes with its last job
        self._told = 0
        self._on_view_changed()

    # -- what is in view ------------------------------------------------------------------------
    def visible_rows(self) -> np.ndarray:
        layer = self.panel.items
        if not layer.n_points:
            return np.empty(0, np.int64)
        (x0, x1), (y0, y1) = self.panel.view_box.viewRange()
        x, y = layer.item._x, layer.item._y
        return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))

    def _on_view_changed(self, *_args) -> None:
        if not self.enabled:
            self._show([], 0)
            self.note.hide()
            return
        rows = self.visible_rows()
        if len(rows) > MAX_IN_VIEW:
            self._show([], 0)
            self._say(f"{len(rows):,} items in view: zoom in to see their pictures "
                      f"(at most {MAX_IN_VIEW})")
            return
        self.note.hide()
        side, now = self.side_for(rows), self.item.side
        if len(self.item.rows) and abs(side - now) < 0.15 * now:
            side = now  # a pan barely changes the spread: keep the tiles made at this size
        self._show(rows, side)
        if any(int(r) not in self.cache for r in rows):
            self._timer.start()

    def _say(self, text: str) -> None:
        if text != self.note.text():  # a pan changes the count every frame: no relayout then
            width = self.note.width()
            self.note.setText(text)
            self.note.adjustSize()
            if self.note.width() != width or not self.note.isVisible():
                self.note.move(8, self.panel.plot.height() - self.note.height() - 8)
        self.note.show()

    def side_for(self, rows) -> float:
        """Thumbnail side on screen: the area the visible items spread over, shared out."""
        vb, layer = self.panel.view_box, self.panel.items
        if not len(rows):
            return MIN_PX
        px, py = vb.viewPixelSize()
        xs, ys = layer.item._x[rows], layer.item._y[rows]
        w = min(vb.width(), (float(xs.max() - xs.min()) / px if px > 0 else vb.width())) + 60
        h = min(vb.height(), (float(ys.max() - ys.min()) / py if py > 0 else vb.height())) + 60
        return float(np.clip(0.75 * math.sqrt(w * h / len(rows)), MIN_PX, MAX_PX))

    def _show(self, rows, side: float) -> None:
        rows = np.asarray(rows, np.int64)
        layer = self.panel.items
        xy = np.column_stack([layer.item._x[rows], layer.item._y[rows]]) if len(rows) else ()
        self.item.images = {int(r): self.cache[int(r)] for r in rows
                            if self.cache.get(int(r)) is not None}
        for r in rows:
            if int(r) in self.cache:
                self.cache.move_to_end(int(r))
        self._style(rows)
        self.item.set_rows(rows, xy, side)
        self.shown.emit(len(rows))

    def _style(self, rows) -> None:
        c, state = self.panel.colouring, self.panel.state
        frames = {}
        if c is not None and len(c.index) == self.panel.items.n_points:
            for r in rows:
                rgb = c.colours[int(c.index[int(r)])]
                frames[int(r)] = QColor.fromRgbF(*[float(v) for v in rgb[:3]])
        self.item.frames = frames
        variants = self.panel._variants()
        self.item.faded = set() if variants is None else {
            int(r) for r in rows if variants[int(r)] in (DIM, FADED)}
        self.item.outlined = set() if variants is None else {
            int(r) for r in rows if variants[int(r)] == SELECTED}
        self.item.current = state.current

    # -- thumbnails -----------------------------------------------------------------------------
    def _request(self) -> None:
        if not self.enabled or self.source is None:
            return
        rows = [int(r) for r in self.item.rows if int(r) not in self.cache]
        refs = []
        for row in rows:
            item = self.model.item(row)
            ref = item.media.get("image") if item is not None else None
            if ref is None or ref.path is None:
                self.cache[row] = None
            else:
                refs.append((row, ref))
        if refs:
            self._job.submit(load_images, self.source, refs, on_progress=self._on_job_image,
                             on_result=self._on_job_done, on_error=self._on_job_failed,
                             label="Loading pictures")

    def _on_job_image(self, value) -> None:
        row, image, _reason = value  # a broken file keeps its dot
        self.cache[row] = image
        while len(self.cache) > CACHE:
            self.cache.popitem(last=False)
        if image is not None and row in set(self.item.rows.tolist()):
            self.item.images[row] = image
            self.item.update()

    def _on_job_done(self, _value) -> None:
        shelf = self.source.shelf if self.source is not None else None
        if shelf is not None and len(shelf.problems) > self._told:  # say each problem once
            from mmviewer.core.app.state import Notice

            for problem in shelf.problems[self._told:]:
                self.model.notice.emit(Notice(f"Map pictures: {problem}", "warning"))
            self._told = len(shelf.problems)

    def _on_job_failed(self, err) -> None:
        from mmviewer.core.app.state import Notice

        self.model.notice.emit(Notice(f"Map pictures: {err}", "warning"))

    # -- styles ---------------------------------------------------------------------------------
    def _on_panel_colours_changed(self) -> None:
        self._style(self.item.rows)
        self.item.update()

    def _on_state_styles(self, _value) -> None:
        self._style(self.item.rows)
        self.item.update()

    def _on_action_toggled(self, _on: bool) -> None:
        self._on_view_changed()

    def reach_px(self) -> float:
        """How far from a point (screen pixels) its picture reaches; 0 while dots are shown."""
        return self.item.side / 2 + FRAME_PX if len(self.item.images) else 0.0

    def set_enabled(self, on: bool) -> None:
        """Switch picture mode on or off (the toolbar's "Pictures")."""
        self.action.setChecked(bool(on))

    def paint_into(self, painter: QPainter, tr) -> int:
        """Draw the pictures shown now into an exported picture (data -> picture ``tr``)."""
        if not self.enabled or not len(self.item.rows):
            return 0
        n = 0
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for i, row in enumerate(self.item.rows.tolist()):
            image = self.item.images.get(row)
            if image is not None:
                device = painter.device()
                dpr = device.devicePixelRatioF() if device is not None else 1.0
                self.item.draw_one(painter, tr.map(QPointF(*self.item.xy[i])), image, row, dpr)
                n += 1
        painter.setOpacity(1.0)
        painter.setPen(QPen(Qt.PenStyle.NoPen))
        painter.restore()
        return n
