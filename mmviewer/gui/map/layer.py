"""One set of drawn map points (items, or per-modality points) with its glide and hit index.

:class:`MapLayer` owns a :class:`PointCloudItem`, the mapping from points to table rows, the
glide animation (a ``QVariantAnimation`` moving the existing points in place) and the
:class:`PointIndex` used for hover/click/lasso. A new layout for the same points is first
aligned onto what is on screen (similarity transform, :func:`~mmviewer.core.layout.transform.align_to`), so
PCA -> UMAP and warm re-layouts glide instead of jumping across the map. Big layouts are aligned
and indexed in a worker; until the kd-tree lands, hit tests scan the arrays.

The per-modality layer also draws each item's points joined by lines: one ``PlotCurveItem`` with
``connect="pairs"`` for all segments (capped, see :data:`LINE_MAX_SEGMENTS`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEasingCurve, QObject, QVariantAnimation, Signal

from mmviewer.core.layout.point_index import BRUTE_MAX, PointIndex
from mmviewer.core.layout.transform import align_to
from mmviewer.gui.map.renderer import PointCloudItem

GLIDE_MS = 400
LINE_MAX_SEGMENTS = 30_000  # more than this and lines are drawn for a random sample of items
LINES_LIVE_MAX = 5_000  # segments followed frame by frame during a glide (else hidden)


def segment_pairs(rows: np.ndarray, which: np.ndarray, n_modalities: int) -> np.ndarray:
    """(S, 2) point indices joining every two points of the same item (all modality pairs)."""
    rows = np.asarray(rows, np.int64)
    which = np.asarray(which, np.int64)
    if not len(rows):
        return np.empty((0, 2), np.int64)
    n = int(rows.max()) + 1
    point_of = np.full((n_modalities, n), -1, np.int64)
    point_of[which, rows] = np.arange(len(rows))
    pairs = []
    for a in range(n_modalities):
        for b in range(a + 1, n_modalities):
            both = np.flatnonzero((point_of[a] >= 0) & (point_of[b] >= 0))
            pairs.append(np.column_stack([point_of[a, both], point_of[b, both]]))
    return np.concatenate(pairs) if pairs else np.empty((0, 2), np.int64)


class MapLayer(QObject):
    """Points of one map mode; ``rows`` maps each point to its table row."""

    moved = Signal()  # positions on screen changed (new points or a glide frame)
    glide_finished = Signal()
    index_ready = Signal()

    def __init__(self, view_box, jobs, lines: bool = False, parent: QObject | None = None):
        super().__init__(parent)
        self.item = PointCloudItem()
        view_box.addItem(self.item)
        self.rows: np.ndarray | None = None  # None: point i is row i
        self.which: np.ndarray | None = None  # modality index per point (line mode)
        self.target = np.empty((0, 2), np.float32)
        self.index = PointIndex(self.target, tree=False)
        self.segments = np.empty((0, 2), np.int64)
        self.hidden: np.ndarray | None = None  # (P,) bool per point, None: every point shown
        self.lines_note = ""
        self.curve = None
        if lines:
            self.curve = pg.PlotCurveItem(pen=pg.mkPen((128, 128, 128, 90), width=1),
                                          connect="pairs", skipFiniteCheck=True)
            self.curve.setZValue(-1)
            view_box.addItem(self.curve, ignoreBounds=True)
        self._sx = self._sy = self._dx = self._dy = None
        self._anim = QVariantAnimation(self, duration=GLIDE_MS, startValue=0.0, endValue=1.0)
        self._anim.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._anim.valueChanged.connect(self._on_anim_value_changed)
        self._anim.finished.connect(self._on_anim_finished)
        self._job = jobs.slot("map-layer", id(self))

    # -- what is shown --------------------------------------------------------------------------
    @property
    def n_points(self) -> int:
        return self.item.n_points

    @property
    def gliding(self) -> bool:
        return self._anim.state() == QVariantAnimation.State.Running

    def setVisible(self, visible: bool) -> None:  # noqa: N802 (mirrors QGraphicsItem)
        self.item.setVisible(visible)
        if self.curve is not None:
            self.curve.setVisible(visible)

    def clear(self) -> None:
        self._job.cancel()
        self._anim.stop()
        self.rows = self.which = self.hidden = None
        self.target = np.empty((0, 2), np.float32)
        self.index = PointIndex(self.target, tree=False)
        self.segments = np.empty((0, 2), np.int64)
        self.item.set_points(self.target[:, 0], self.target[:, 1])
        self._update_lines()
        self.moved.emit()

    def show(self, positions, rows=None, which=None, n_modalities: int = 0,
             glide: bool = True) -> bool:
        """Show new positions; glide from the current ones when the points are the same.

        Returns True when a glide starts (now, or once a big layout is aligned).
        """
        pos = np.asarray(positions, np.float32).reshape(-1, 2)
        self._job.cancel()
        same = (glide and len(pos) > 0 and len(pos) == self.n_points
                and _same(rows, self.rows) and _same(which, self.which))
        if not same:
            self._anim.stop()
            self.hidden = None  # new points: the owner applies its hidden rows again
            self.rows = None if rows is None else np.asarray(rows, np.int64)
            self.which = None if which is None else np.asarray(which, np.int64)
            if self.rows is not None and self.which is not None:
                self.segments = segment_pairs(self.rows, self.which, max(n_modalities, 1))
            self.target = pos
            self.item.set_points(pos[:, 0], pos[:, 1])
            self._index(pos)
            self._update_lines()
            self.moved.emit()
            return False
        old = self.item.positions()
        if len(pos) <= BRUTE_MAX:
            aligned = align_to(pos, old)
            self._glide_to(aligned)
            self.index = PointIndex(aligned)
            self.index_ready.emit()
        else:  # aligned off the UI thread; the kd-tree is built once the glide is over
            self._job.submit(align_to, pos, old, on_result=self._glide_to)
        return True

    def _index(self, pos) -> None:
        if len(pos) <= BRUTE_MAX:
            self.index = PointIndex(pos)
            self.index_ready.emit()
        else:
            self.index = PointIndex(pos, tree=False)
            self._job.submit(PointIndex, pos, on_result=self._on_index_job_returned)

    def _on_index_job_returned(self, index: PointIndex) -> None:
        self.index = index
        self.index_ready.emit()

    # -- glide ---------------------------------------------------------------------------------
    def _glide_to(self, end) -> None:
        end = np.asarray(end, np.float32)
        self._anim.stop()
        self._sx, self._sy = self.item._x.copy(), self.item._y.copy()
        self._dx, self._dy = end[:, 0] - self._sx, end[:, 1] - self._sy
        self.target = end
        if self.curve is not None and len(self.segments) > LINES_LIVE_MAX:
            self.curve.hide()
        self._anim.start()

    def _on_anim_value_changed(self, t) -> None:
        if self._sx is None:
            return
        t = np.float32(t)
        self.item.move_points(self._sx + self._dx * t, self._sy + self._dy * t)
        if self.curve is not None and self.curve.isVisible():
            self._update_lines()
        self.moved.emit()

    def _on_anim_finished(self) -> None:
        self.item.move_points(self.target[:, 0], self.target[:, 1])
        self._sx = self._sy = self._dx = self._dy = None
        if len(self.target) > BRUTE_MAX:  # not during the glide: it would steal its frames
            self._index(self.target)
        if self.curve is not None:
            self.curve.setVisible(self.item.isVisible())
            self._update_lines()
        self.moved.emit()
        self.glide_finished.emit()

    def finish_glide(self) -> None:
        """Jump to the end of a running glide (tests, exports)."""
        if self.gliding:
            self._anim.stop()
            self._on_anim_finished()

    def set_hidden(self, hidden_rows: np.ndarray | None) -> None:
        """Leave out the points of rows flagged in ``hidden_rows`` ((N,) bool per table row)."""
        if not self.n_points:
            self.hidden = None
            return
        self.hidden = None if hidden_rows is None else self.per_point(hidden_rows)
        self.item.set_hidden(self.hidden)

    # -- hit testing ---------------------------------------------------------------------------
    def displayed(self) -> np.ndarray:
        """(N, 2) positions as drawn now (mid-glide ones during a glide)."""
        return self.item.positions()

    def xy(self, points) -> np.ndarray:
        """(n, 2) float positions of ``points`` as drawn now."""
        points = np.asarray(points, np.int64)
        return np.column_stack([self.item._x[points], self.item._y[points]]).astype(float)

    def _live_index(self) -> PointIndex:
        return PointIndex(self.displayed(), tree=False) if self.gliding else self.index

    def nearest(self, x: float, y: float, max_dist: float = np.inf) -> int:
        """The shown point nearest (x, y) within ``max_dist`` (data units), or -1."""
        point = self._live_index().nearest(x, y, max_dist)
        if point < 0 or self.hidden is None or not self.hidden[point]:
            return point
        pos = self.displayed().astype(np.float64)  # a hidden point is nearer: scan the shown
        d2 = (pos[:, 0] - x) ** 2 + (pos[:, 1] - y) ** 2
        d2[self.hidden | ~np.isfinite(d2)] = np.inf
        best = int(np.argmin(d2))
        return best if d2[best] <= max_dist ** 2 else -1

    def _shown(self, points: np.ndarray) -> np.ndarray:
        return points if self.hidden is None else points[~self.hidden[points]]

    def in_rect(self, x0, y0, x1, y1) -> np.ndarray:
        return self._shown(self._live_index().in_rect(x0, y0, x1, y1))

    def in_polygon(self, polygon) -> np.ndarray:
        return self._shown(self._live_index().in_polygon(polygon))

    def row_of(self, point: int) -> int:
        if point < 0:
            return -1
        return int(point) if self.rows is None else int(self.rows[point])

    def rows_of(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, np.int64)
        return points if self.rows is None else np.unique(self.rows[points])

    def points_of(self, rows) -> np.ndarray:
        """Point indices drawing the given table rows."""
        rows = np.asarray(rows, np.int64).ravel()
        if self.rows is None:
            return rows[(rows >= 0) & (rows < self.n_points)]
        if len(rows) == 1:
            return np.flatnonzero(self.rows == rows[0])
        return np.flatnonzero(np.isin(self.rows, rows))

    def per_point(self, per_row: np.ndarray) -> np.ndarray:
        """Spread a per-row array over the points."""
        return per_row if self.rows is None else per_row[self.rows]

    # -- lines ---------------------------------------------------------------------------------
    def _update_lines(self) -> None:
        if self.curve is None:
            return
        seg = self.segments
        self.lines_note = ""
        if len(seg) > LINE_MAX_SEGMENTS:
            keep = np.random.default_rng(0).choice(len(seg), LINE_MAX_SEGMENTS, replace=False)
            seg = seg[np.sort(keep)]
            self.lines_note = f"lines for {LINE_MAX_SEGMENTS:,} of {len(self.segments):,} pairs"
        if not len(seg):
            self.curve.setData([], [])
            return
        xy = np.column_stack([self.item._x, self.item._y])[seg.ravel()]
        self.curve.setData(xy[:, 0], xy[:, 1], connect="pairs", skipFiniteCheck=True)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and np.array_equal(a, b)
