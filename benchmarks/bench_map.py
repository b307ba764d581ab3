"""Benchmark the map's point renderer against a default pyqtgraph ScatterPlotItem.

Offscreen, one process, the same clustered points for both, a 1000x800 plot:

1. redraw: hand the points to the item (``setData`` / ``set_points`` + colours) and render the
   view into a QImage (``QGraphicsView.render``) -> ``map_redraw_speedup`` (pyqtgraph's time over
   ours, measured side by side) and the absolute times;
2. panning: shift the view range a little each frame and render -> ``map_fps_1m`` (frames per
   second of our renderer at 1M points; ``--quick`` runs 100k and reports ``map_fps`` only).

Also: kd-tree build and nearest-point query times (the hover path).

Usage: ``python benchmarks/bench_map.py [--quick] [--json]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

W, H = 1000, 800


def clustered(n: int, k: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, k, n)
    centres = rng.standard_normal((k, 2)) * 8
    spread = rng.uniform(0.5, 2.0, (k, 1))
    xy = (centres[lab] + rng.standard_normal((n, 2)) * spread[lab]).astype(np.float32)
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), lab


def make_plot():
    import pyqtgraph as pg

    w = pg.PlotWidget()
    w.hideAxis("left")
    w.hideAxis("bottom")
    w.resize(W, H)
    w.show()
    return w


def render(widget):
    from PySide6.QtGui import QImage, QPainter

    widget.scene().prepareForPaint()
    img = QImage(W, H, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(0xFFFFFFFF)
    p = QPainter(img)
    widget.render(p)
    p.end()
    return img


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench(n: int, pan_frames: int, scatter_repeat: int, ours_repeat: int) -> dict:
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from mmviewer.core.app.colours import PALETTE
    from mmviewer.core.layout.point_index import PointIndex
    from mmviewer.gui.map.renderer import PointCloudItem

    app = QApplication.instance() or QApplication([])
    x, y, lab = clustered(n)
    rng_x = (float(x.min()), float(x.max()))
    rng_y = (float(y.min()), float(y.max()))
    figures: dict = {"n_points": n, "image": f"{W}x{H}"}

    # -- ours ------------------------------------------------------------------------------------
    ours_w = make_plot()
    item = PointCloudItem()
    ours_w.addItem(item)
    ours_w.getViewBox().setRange(xRange=rng_x, yRange=rng_y, padding=0.02)
    app.processEvents()

    def ours_redraw():
        item.set_points(x, y)
        item.set_colours(lab % len(PALETTE), PALETTE)
        render(ours_w)

    ours_redraw()  # warm-up (kernels, buffers)
    ours = timed(ours_redraw, ours_repeat)
    figures["ours_redraw_ms"] = round(1e3 * statistics.median(ours), 1)
    figures["ours_path"] = item.raster.last_path
    t_render = timed(lambda: (item.move_points(x, y), render(ours_w)), ours_repeat)
    figures["ours_move_and_render_ms"] = round(1e3 * statistics.median(t_render), 1)

    vb = ours_w.getViewBox()
    span = rng_x[1] - rng_x[0]
    before = item.render_count
    t0 = time.perf_counter()
    for f in range(1, pan_frames + 1):
        dx = span * 0.004 * f
        vb.setRange(xRange=(rng_x[0] + dx, rng_x[1] + dx), yRange=rng_y, padding=0.02)
        render(ours_w)
    pan_s = time.perf_counter() - t0
    assert item.render_count - before >= pan_frames  # every frame really re-rasterised
    fps = pan_frames / pan_s
    figures["map_fps"] = round(fps, 1)
    figures["map_fps_n"] = n
    figures["ours_pan_frame_ms"] = round(1e3 * pan_s / pan_frames, 1)
    if n >= 1_000_000:
        figures["map_fps_1m"] = figures["map_fps"]

    # -- hit testing -----------------------------------------------------------------------------
    import scipy.spatial  # noqa: F401 (import time is not build time)

    pos = np.column_stack([x, y])
    t0 = time.perf_counter()
    index = PointIndex(pos)
    figures["kdtree_build_s"] = round(time.perf_counter() - t0, 3)
    probes = pos[np.random.default_rng(1).integers(0, n, 200)] + 0.01
    t0 = time.perf_counter()
    for px, py in probes:
        index.nearest(float(px), float(py), 0.5)
    figures["nearest_query_us"] = round(1e6 * (time.perf_counter() - t0) / len(probes), 1)
    brute = PointIndex(pos, tree=False)
    t0 = time.perf_counter()
    for px, py in probes[:20]:
        brute.nearest(float(px), float(py), 0.5)
    figures["nearest_scan_ms"] = round(1e3 * (time.perf_counter() - t0) / 20, 2)

    # -- default pyqtgraph ScatterPlotItem -------------------------------------------------------
    sc_w = make_plot()
    scatter = pg.ScatterPlotItem()
    sc_w.addItem(scatter)
    sc_w.getViewBox().setRange(xRange=rng_x, yRange=rng_y, padding=0.02)
    app.processEvents()
    set_t, render_t = [], []
    for _ in range(scatter_repeat):
        scatter.clear()
        render(sc_w)
        t0 = time.perf_counter()
        scatter.setData(x=x, y=y)
        t1 = time.perf_counter()
        render(sc_w)
        t2 = time.perf_counter()
        set_t.append(t1 - t0)
        render_t.append(t2 - t1)
    sc_set, sc_render = statistics.median(set_t), statistics.median(render_t)
    figures["scatter_setdata_ms"] = round(1e3 * sc_set, 1)
    figures["scatter_render_ms"] = round(1e3 * sc_render, 1)
    figures["scatter_redraw_ms"] = round(1e3 * (sc_set + sc_render), 1)
    figures["map_redraw_speedup"] = round((sc_set + sc_render) / statistics.median(ours), 1)
    svb = sc_w.getViewBox()
    frames = max(3, pan_frames // 10)
    t0 = time.perf_counter()
    for f in range(1, frames + 1):
        dx = span * 0.004 * f
        svb.setRange(xRange=(rng_x[0] + dx, rng_x[1] + dx), yRange=rng_y, padding=0.02)
        render(sc_w)
    figures["scatter_pan_fps"] = round(frames / (time.perf_counter() - t0), 2)
    ours_w.close()
    sc_w.close()
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k points instead of 1M")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    figures = bench(n, pan_frames=60 if args.quick else 90, scatter_repeat=2 if args.quick else 1,
                    ours_repeat=5)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>26}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
