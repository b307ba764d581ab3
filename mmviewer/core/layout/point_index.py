"""Hit testing for the map: the nearest point to the cursor, points in a rectangle or a lasso.

:class:`PointIndex` wraps a scipy ``cKDTree`` (built off the UI thread for big layouts: ~0.5 s at
1M points); until it is ready, :meth:`PointIndex.nearest` falls back to a vectorised scan
(~5 ms at 1M), so hover works the moment points are drawn. Region queries are plain numpy:
a rectangle is four comparisons; a lasso is an exact even-odd test where each polygon edge only
visits the points in its own y-span (points sorted by y once), so the cost is about
N x (edges crossing a horizontal line), not N x edges.
"""

from __future__ import annotations

import numpy as np

BRUTE_MAX = 50_000  # below this the tree is built inline (instant)


class PointIndex:
    """Nearest-point and region queries over (N, 2) positions (data coordinates)."""

    def __init__(self, positions: np.ndarray, tree: bool = True):
        pos = np.asarray(positions).reshape(-1, 2)
        self.positions = pos if pos.dtype.kind == "f" else pos.astype(np.float64)
        self.finite = np.isfinite(self.positions).all(axis=1)
        self.tree = None
        if tree and len(pos):
            from scipy.spatial import cKDTree

            rows = np.flatnonzero(self.finite)
            self._tree_rows = rows
            self.tree = cKDTree(np.asarray(pos[rows], np.float64), leafsize=32,
                                balanced_tree=False)

    def __len__(self) -> int:
        return len(self.positions)

    def nearest(self, x: float, y: float, max_dist: float = np.inf) -> int:
        """Index of the point nearest (x, y) within ``max_dist``, or -1."""
        if not len(self.positions):
            return -1
        if self.tree is not None:
            d, i = self.tree.query([x, y], k=1, distance_upper_bound=max_dist)
            return int(self._tree_rows[i]) if np.isfinite(d) else -1
        d2 = (self.positions[:, 0] - np.float64(x)) ** 2 + (self.positions[:, 1] - np.float64(y)) ** 2
        d2[~self.finite] = np.inf
        i = int(np.argmin(d2))
        return i if d2[i] <= max_dist**2 else -1

    def in_rect(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Indices of points inside the rectangle (edges included), ascending."""
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        p = self.positions
        return np.flatnonzero((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1))

    def in_polygon(self, polygon) -> np.ndarray:
        """Indices of points inside a closed polygon (K, 2), even-odd rule, ascending."""
        return points_in_polygon(self.positions, polygon)


def points_in_polygon(positions: np.ndarray, polygon) -> np.ndarray:
    """Even-odd point-in-polygon for many points; see the module docstring for the cost."""
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    poly = poly[np.isfinite(poly).all(axis=1)]
    if len(poly) < 3 or not len(positions):
        return np.empty(0, np.int64)
    (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
    p = positions
    cand = np.flatnonzero((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1))
    if not len(cand):
        return cand
    order = np.argsort(p[cand, 1], kind="stable")
    xs, ys = p[cand, 0][order], p[cand, 1][order]
    inside = np.zeros(len(cand), bool)
    for (ax, ay), (bx, by) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        if ay == by:
            continue
        lo, hi = (ay, by) if ay < by else (by, ay)
        a, b = np.searchsorted(ys, [lo, hi], side="left")
        if a == b:
            continue
        seg = slice(a, b)
        xint = ax + (ys[seg] - ay) * ((bx - ax) / (by - ay))
        inside[seg] ^= xs[seg] < xint
    return np.sort(cand[order[inside]])
