"""Numpy rasteriser behind the map: points -> premultiplied ARGB32 pixels at screen resolution.

Plain numpy (no Qt), so it is cheap to test and to profile. Points arrive in *draw order* (what is
drawn last wins a pixel) with a per-point style index into a small colour table. Two paths:

* **sparse** (few points in view): each point is splatted through a precomputed kernel of its
  symbol at 4x4 sub-pixel phases, giving anti-aliased discs, squares, triangles or diamonds with
  a 1 px outline. Fringe (partly covered) pixels are written before core pixels, so a point's
  soft edge never cuts into a disc drawn earlier.
* **dense** (many points in view): one pixel write per point into a "rank" image (the draw
  position of the last point that hit the pixel), then a max-dilation of that image by a small
  disc, so the cost of the point size scales with the pixel count, not with N. Symbols are all
  discs there (at 1-3 px they are indistinguishable anyway).

Both paths end in one gather: pixel colour = ``table[style * LEVELS + level]``.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = 32  # per style: coverage (0..8) x rim (0..2) packed as cov * 3 + rim
COVER_STEPS = 8
PHASES = 4  # sub-pixel phases per axis in the sparse path
SYMBOLS = ("o", "s", "t", "d")  # disc, square, triangle, diamond
SPARSE_BUDGET = 2_000_000  # kernel writes the sparse path may spend (points in view x box)
FULL_FILL = COVER_STEPS * 3  # level of a fully covered fill pixel
FULL_RIM = COVER_STEPS * 3 + 2  # level of a fully covered outline pixel
CORE_LEVEL = (COVER_STEPS // 2) * 3  # coverage >= 1/2: a "core" pixel, written after fringes
ESTIMATE_ABOVE = 262_144  # count the points in view on a strided sample above this many
ESTIMATE_STRIDE = 8


def auto_radius(n_visible: int, scale: float = 1.0) -> float:
    """Point radius in pixels: big for a few dozen points, 1 px at a million in view."""
    r = 7.0 - math.log10(max(n_visible, 1))
    return float(np.clip(r, 1.0, 5.0) * scale)


def _sdf(symbol: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Signed distance (pixels, positive inside) of a symbol of radius ``r`` centred at 0."""
    ax, ay = np.abs(dx), np.abs(dy)
    if symbol == "s":
        return r * 0.86 - np.maximum(ax, ay)
    if symbol == "d":
        return (r * 1.25 - (ax + ay)) / math.sqrt(2.0)
    if symbol == "t":  # pointing up on screen (y grows downwards)
        big = r * 1.3
        c = math.cos(math.pi / 6)
        dy2 = dy - big * 0.15  # centre the triangle's area on the point
        edges = np.stack([dy2, -0.5 * dy2 + c * dx, -0.5 * dy2 - c * dx])
        return big / 2 - edges.max(axis=0)
    return r - np.hypot(dx, dy)


class _Kernel:
    """Per-symbol, per-phase coverage levels over a (2h+1)^2 box of pixel offsets."""

    def __init__(self, radius: float, outline: float):
        self.radius, self.outline = radius, outline
        self.half = int(math.ceil(radius * 1.3 + 1.5))
        h = self.half
        oy, ox = np.mgrid[-h:h + 1, -h:h + 1]
        self.ox, self.oy = ox.ravel().astype(np.int32), oy.ravel().astype(np.int32)
        phase = (np.arange(PHASES) + 0.5) / PHASES
        levels = np.zeros((len(SYMBOLS), PHASES * PHASES, self.ox.size), np.int32)
        for s, sym in enumerate(SYMBOLS):
            for qy in range(PHASES):
                for qx in range(PHASES):
                    sdf = _sdf(sym, self.ox + 0.5 - phase[qx], self.oy + 0.5 - phase[qy], radius)
                    cov = np.clip(sdf + 0.5, 0.0, 1.0)
                    rim = np.clip(outline + 0.5 - sdf, 0.0, 1.0) if outline > 0 else 0 * sdf
                    cq = np.rint(cov * COVER_STEPS).astype(np.int32)
                    rq = np.rint(rim * 2).astype(np.int32)
                    levels[s, qy * PHASES + qx] = np.where(cq > 0, cq * 3 + rq, 0)
        used = levels.any(axis=(0, 1))  # drop box corners no symbol or phase ever touches
        self.ox, self.oy = self.ox[used], self.oy[used]
        self.levels = levels[..., used]


def _dense_offsets(radius: float) -> list[tuple[int, int]]:
    h = int(math.floor(radius))
    return [(dy, dx) for dy in range(-h, h + 1) for dx in range(-h, h + 1)
            if dx * dx + dy * dy <= radius * radius + 1e-6]


def _dilate(img: np.ndarray, offsets) -> np.ndarray:
    """Max of ``img`` shifted by each (dy, dx) (the borders are padding)."""
    h, w = img.shape
    out = img.copy()
    for dy, dx in offsets:
        if dy == 0 and dx == 0:
            continue
        dst = out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
        src = img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        np.maximum(dst, src, out=dst)
    return out


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """(..., 4) float RGBA in [0, 1] -> packed premultiplied ARGB32 (uint32)."""
    rgba = np.clip(rgba, 0.0, 1.0)
    a = rgba[..., 3]
    r, g, b = (np.rint(rgba[..., i] * a * 255).astype(np.uint32) for i in range(3))
    return (np.rint(a * 255).astype(np.uint32) << 24) | (r << 16) | (g << 8) | b


def colour_table(fill: np.ndarray, rim: np.ndarray) -> np.ndarray:
    """(S, LEVELS) premultiplied colours for S styles given fill and outline RGBA in [0, 1].

    Level ``cov * 3 + rim`` mixes fill and outline by ``rim / 2`` and scales alpha by
    ``cov / 8``; level 0 is transparent.
    """
    fill, rim = np.asarray(fill, float), np.asarray(rim, float)
    lvl = np.arange(LEVELS)
    cov = np.minimum(lvl // 3, COVER_STEPS) / COVER_STEPS
    mix = np.minimum(lvl % 3, 2)[None, :, None] / 2.0
    rgba = fill[:, None, :] * (1 - mix) + rim[:, None, :] * mix
    rgba[..., 3] *= cov[None, :]
    rgba[:, 0] = 0
    return premultiply(rgba)


class Rasteriser:
    """Keeps kernels and scratch buffers between frames; one instance per map layer."""

    def __init__(self):
        self._kernels: dict[tuple[float, float], _Kernel] = {}
        self.last_path = ""  # "sparse" | "dense" | "" (for tests and the benchmark)
        self._ranks = np.empty(0, np.int32)
        self._colours_cache = None
        self.last_visible = 0
        self.last_radius = 0.0

    def kernel(self, radius: float, outline: float) -> _Kernel:
        key = (round(radius, 2), round(outline, 2))
        if key not in self._kernels:
            if len(self._kernels) > 16:
                self._kernels.clear()
            self._kernels[key] = _Kernel(*key)
        return self._kernels[key]

    def render(self, x, y, style, table, affine, width: int, height: int,
               symbols=None, scale: float = 1.0, radius: float | None = None,
               style_key=None) -> np.ndarray:
        """Rasterise points (draw order) into a ``(height, width)`` uint32 ARGB32-premultiplied
        image.

        Parameters
        ----------
        x, y : (N,) float32 data coordinates, in draw order
        style : (N,) int index into ``table`` rows
        table : (S, LEVELS) uint32 from :func:`colour_table`
        affine : (sx, bx, sy, by): pixel = (x * sx + bx, y * sy + by)
        symbols : (N,) int index into :data:`SYMBOLS`, or None for discs
        scale : multiplies the automatic radius; ``radius`` overrides it
        style_key : any hashable that changes whenever ``style`` or ``table`` do; lets the
            dense path keep its per-point colours between frames (None: no reuse)
        """
        width, height = int(width), int(height)
        sx, bx, sy, by = (float(v) for v in affine)
        n = len(x)
        if n == 0 or width <= 0 or height <= 0:
            self.last_path, self.last_visible = "", 0
            return np.zeros((max(height, 0), max(width, 0)), np.uint32)
        fx = np.multiply(x, np.float32(sx), dtype=np.float32)
        fx += np.float32(bx)
        fy = np.multiply(y, np.float32(sy), dtype=np.float32)
        fy += np.float32(by)
        margin = 8.0
        sx_, sy_ = (fx, fy) if n <= ESTIMATE_ABOVE else (fx[::ESTIMATE_STRIDE], fy[::ESTIMATE_STRIDE])
        vis = (sx_ > -margin) & (sx_ < width + margin) & (sy_ > -margin) & (sy_ < height + margin)
        n_vis = int(np.count_nonzero(vis))
        if n > ESTIMATE_ABOVE:  # a strided sample is enough to pick the radius and the path
            n_vis = int(round(n_vis * n / len(sx_)))
        r = radius if radius is not None else auto_radius(n_vis, scale)
        self.last_visible, self.last_radius = n_vis, r
        outline = 1.0 if r >= 2.4 else 0.0
        kern = self.kernel(r, outline)
        if n_vis * kern.ox.size <= SPARSE_BUDGET:
            self.last_path = "sparse"
            if n > ESTIMATE_ABOVE:
                vis = (fx > -margin) & (fx < width + margin) & (fy > -margin) & (fy < height + margin)
            keep = np.flatnonzero(vis)
            sym = None if symbols is None else np.asarray(symbols)[keep]
            return self._sparse(fx[keep], fy[keep], keep, style, table, kern, width, height, sym)
        self.last_path = "dense"
        return self._dense(fx, fy, self._point_colours(style, table, style_key), r, width, height)

    # -- the two paths ----------------------------------------------------------------------------
    def _sparse(self, fx, fy, keep, style, table, kern: _Kernel, width, height, sym):
        pad = kern.half + 10  # points up to `margin` outside plus their kernel stay inside
        pw, ph = width + 2 * pad, height + 2 * pad
        img = np.zeros(ph * pw, np.int32)
        ix, iy = np.floor(fx), np.floor(fy)
        phase = (np.minimum(((fy - iy) * PHASES).astype(np.int32), PHASES - 1) * PHASES
                 + np.minimum(((fx - ix) * PHASES).astype(np.int32), PHASES - 1))
        base = (iy.astype(np.int32) + pad) * pw + (ix.astype(np.int32) + pad)
        koff = kern.oy * pw + kern.ox
        idx = base[:, None] + koff[None, :]
        lvl = kern.levels[0][phase] if sym is None else kern.levels[sym.astype(np.intp), phase]
        core = lvl >= CORE_LEVEL
        rank = np.arange(1, len(fx) + 1, dtype=np.int32)  # 0 = empty
        key = rank[:, None] * LEVELS + lvl
        fringe = (lvl > 0) & ~core
        img[idx[fringe]] = key[fringe]
        img[idx[core]] = key[core]
        img = img.reshape(ph, pw)[pad:pad + height, pad:pad + width]
        styles = np.concatenate([[0], np.asarray(style)[keep]]).astype(np.intp)
        return self._colour(img >> 5, img & (LEVELS - 1), styles, table)

    def _point_colours(self, style, table, key) -> tuple[np.ndarray, np.ndarray]:
        """Fill and outline colour of every point, with a transparent entry 0 in front."""
        n = len(style)
        if key is not None and self._colours_cache is not None and self._colours_cache[0] == (key, n):
            return self._colours_cache[1]
        flat = np.asarray(table, np.uint32).ravel()
        base = np.asarray(style, np.intp) * LEVELS
        fill = np.zeros(n + 1, np.uint32)
        rim = np.zeros(n + 1, np.uint32)
        fill[1:] = flat[base + FULL_FILL]
        rim[1:] = flat[base + FULL_RIM]
        self._colours_cache = ((key, n), (fill, rim)) if key is not None else None
        return fill, rim

    def _dense(self, fx, fy, colours, r, width, height):
        offsets = _dense_offsets(r)
        pad = int(math.floor(r)) + 1
        pw, ph = width + 2 * pad, height + 2 * pad
        # fmax/fmin (unlike clip) also park NaN on the border, which the crop drops
        np.add(fx, pad, out=fx)
        np.fmin(np.fmax(fx, 0, out=fx), pw - 1, out=fx)
        np.add(fy, pad, out=fy)
        np.fmin(np.fmax(fy, 0, out=fy), ph - 1, out=fy)
        ix = fx.astype(np.int32)
        idx = fy.astype(np.int32)
        idx *= pw
        idx += ix
        n = len(fx)
        if len(self._ranks) != n:
            self._ranks = np.arange(1, n + 1, dtype=np.int32)
        img = np.zeros(ph * pw, np.int32)
        img[idx] = self._ranks
        img = img.reshape(ph, pw)
        outer = _dilate(img, offsets)
        crop = (slice(pad, pad + height), slice(pad, pad + width))
        fill, rim = colours
        if r < 2.0:
            return fill[outer[crop]]
        inner = _dilate(img, _dense_offsets(r - 1.0))  # a 1 px outline where a rim shows
        top = outer[crop]
        return np.where(top > inner[crop], rim[top], fill[top])

    @staticmethod
    def _colour(rank, level, styles, table) -> np.ndarray:
        flat = np.asarray(table, np.uint32).ravel()
        return np.ascontiguousarray(flat[styles[rank] * LEVELS + level])
