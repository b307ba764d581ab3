"""Benchmark showing a big dataset: map pictures while panning, and the HTML report's size.

One process, offscreen, a dataset of ``--n`` items (default 100k) each with its own small PNG
and caption, made once in ``$MMVIEWER_BENCH_DIR/showcase-<n>`` (random clustered vectors, so no
encoder runs):

1. **panning frames** of the real map panel (1200x800): the view is shifted a little each frame
   (right, then back) and the events processed (one repaint: the range change, the visibility mask, the points'
   rasterisation and the thumbnails), at the whole map (N in view: dots) and zoomed in to about
   150 items (thumbnails), with pictures off and on in interleaved rounds. Prints median and 95th
   percentile frame times and their ratio pictures-on / off;
2. **first pictures**: time from switching pictures on (zoomed in) until every visible thumbnail
   is drawn, with an empty thumbnail store and again with it filled (a reopen);
3. **report size**: :func:`mmviewer.core.report.report_job` with the default sampling, written
   to HTML; prints the bytes, the points and thumbnails embedded, and the seconds.

Usage: ``python benchmarks/bench_showcase.py [--n 100000] [--quick] [--json]``. Asserts nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.benchlib import SCRATCH, parser  # noqa: E402

W, H = 1200, 800
FRAMES = 60


def make_dataset(n: int, folder: Path):
    """``n`` distinct 24x24 PNGs and captions (made once), clustered 2-D positions, and a
    planted table of small random vectors."""
    from PIL import Image

    from mmviewer.core.data.model import Dataset, Item, MediaRef
    from mmviewer.core.data.report import ImportReport
    from mmviewer.core.data.table import EmbeddingTable, l2_normalise

    rng = np.random.default_rng(0)
    k = 40
    label = rng.integers(0, k, n)
    palette = rng.integers(30, 230, (k, 3))
    images = folder / "images"
    done = folder / ".made"
    if not done.exists():
        images.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            rgb = np.clip(palette[label[i]] + rng.integers(-25, 25, 3), 0, 255)
            arr = np.empty((24, 24, 3), np.uint8)
            arr[:] = rgb
            arr[i % 24, :, :] = 255 - rgb  # a line that makes every file distinct
            arr[:, (i // 24) % 24, :] = 0
            Image.fromarray(arr).save(images / f"i{i:06d}.png")
        done.write_text("ok")
    items = [Item(f"i{i:06d}", {"image": MediaRef("image", path=images / f"i{i:06d}.png",
                                                  rel=f"images/i{i:06d}.png"),
                                "text": MediaRef("text", text=f"item {i}, a thing of kind {label[i]}")},
                  {"kind": str(label[i])}) for i in range(n)]
    centres = rng.standard_normal((k, 16)).astype(np.float32) * 3
    base = centres[label] + rng.standard_normal((n, 16), dtype=np.float32)
    vec = {m: l2_normalise(base + 0.3 * rng.standard_normal((n, 16), dtype=np.float32))
           for m in ("image", "text")}
    table = EmbeddingTable(np.array([it.id for it in items], dtype=object), vec,
                           {m: np.ones(n, bool) for m in vec},
                           {"image": "bench/image", "text": "bench/text"},
                           {"kind": np.array([str(v) for v in label], dtype=object)})
    xy_centres = rng.standard_normal((k, 2)) * 10
    positions = (xy_centres[label] + rng.standard_normal((n, 2))).astype(np.float32)
    return Dataset(folder, items, ImportReport(), "bench", folder), table, positions


def pan_frames(app, panel, frames: int = FRAMES) -> list[float]:
    """Pan right and back by small steps (a drag), each frame painted at once; ms per frame."""
    (x0, x1), (y0, y1) = panel.view_box.viewRange()
    step = (x1 - x0) / 200
    times = []
    for i in range(frames):
        shift = step * (i if i < frames // 2 else frames - i)
        t = time.perf_counter()
        panel.view_box.setRange(xRange=(x0 + shift, x1 + shift), yRange=(y0, y1), padding=0)
        app.processEvents()  # the one repaint Qt makes of the queued update, as in a drag
        times.append((time.perf_counter() - t) * 1000)
    return times


def first_pictures(app, panel) -> tuple[float, int]:
    """Switch pictures on; seconds until every visible thumbnail is there, and how many."""
    t = time.perf_counter()
    panel.images.set_enabled(True)
    want = len(panel.images.item.rows)
    while len(panel.images.item.images) < want and time.perf_counter() - t < 120:
        app.processEvents()
    return round(time.perf_counter() - t, 2), want


def zoom_to(panel, positions, target: int) -> int:
    """A view around the densest cluster holding about ``target`` items; returns how many."""
    centre = np.median(positions[:2000], axis=0).astype(float)
    aspect = panel.view_box.width() / max(panel.view_box.height(), 1)
    lo, hi = 1e-3, float(np.ptp(positions, axis=0).max())
    for _ in range(40):  # bisect the half-height until about `target` items are in view
        half = (lo + hi) / 2
        inside = (np.abs(positions[:, 0] - centre[0]) <= half * aspect) & (
            np.abs(positions[:, 1] - centre[1]) <= half)
        lo, hi = (half, hi) if inside.sum() < target else (lo, half)
    panel.view_box.setRange(xRange=(centre[0] - half * aspect, centre[0] + half * aspect),
                            yRange=(centre[1] - half, centre[1] + half), padding=0)
    return int(inside.sum())


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=100_000)
    args = p.parse_args()
    n = 5_000 if args.quick else args.n
    folder = SCRATCH / f"showcase-{n}"
    from dataclasses import replace

    from PySide6.QtWidgets import QApplication

    from mmviewer.core.app.model import AppModel
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.embed.options import EmbedOptions
    from mmviewer.gui.map.qt_map import QtMap
    from mmviewer.gui.qt_jobs import QtScheduler

    app = QApplication.instance() or QApplication([])
    t = time.perf_counter()
    dataset, table, positions = make_dataset(n, folder)
    made_s = time.perf_counter() - t
    shutil.rmtree(folder / ".mmviewer", ignore_errors=True)  # an empty thumbnail store

    class Still(AppModel):  # the benchmark sets the map itself
        def request_layout(self, cold=False, delay_s=0.0):
            pass

        def request_metrics(self, delay_s=0.0):
            pass

    model = Still(ViewState(), scheduler=QtScheduler())
    model.options = replace(EmbedOptions(), use_store=True)
    model.set_table(table, dataset)
    panel = QtMap(model.state, model)
    panel.resize(W, H)
    panel.show()
    model.positions, model.layout_kind = positions, "umap"
    model.layout_ready.emit(positions, "umap")
    panel.items.finish_glide()
    model.state.colour_by = "meta:kind"
    for _ in range(50):
        app.processEvents()
    out = {"n": n, "dataset_s": round(made_s, 1)}

    def figures(name, times):
        out[f"{name}_median_ms"] = round(statistics.median(times), 2)
        out[f"{name}_p95_ms"] = round(float(np.percentile(times, 95)), 2)

    if args.only == "" or "pan" in args.only:
        panel.reset_view()
        app.processEvents()
        rounds = {"pan_all_off": [], "pan_all_on": []}
        for _ in range(3):  # interleaved rounds: the machine's noise hits both alike
            for name, on in (("pan_all_off", False), ("pan_all_on", True)):
                panel.images.set_enabled(on)
                rounds[name] += pan_frames(app, panel, FRAMES // 3)
        panel.images.set_enabled(False)
        out["pictures_in_view"] = zoom_to(panel, positions, 150)
        app.processEvents()
        out["first_pictures_cold_s"], out["pictures_drawn"] = first_pictures(app, panel)
        rounds.update({"pan_zoomed_off": [], "pan_zoomed_on": []})
        for _ in range(3):
            for name, on in (("pan_zoomed_off", False), ("pan_zoomed_on", True)):
                panel.images.set_enabled(on)
                rounds[name] += pan_frames(app, panel, FRAMES // 3)
        for name, times in rounds.items():
            figures(name, times)
        for where in ("all", "zoomed"):
            out[f"{where}_on_over_off"] = round(out[f"pan_{where}_on_median_ms"]
                                                / out[f"pan_{where}_off_median_ms"], 2)
        # a reopen: the same view, thumbnails from the store instead of the files
        panel.images.set_enabled(False)
        panel.images._on_model_table_ready()
        zoom_to(panel, positions, 150)
        out["first_pictures_warm_s"] = first_pictures(app, panel)[0]
    if args.only == "" or "report" in args.only:
        from mmviewer.core.report import ReportInput, report_job, write_report

        t = time.perf_counter()
        inp = ReportInput(table, positions, dataset, title=f"bench {n}", layout_kind="umap",
                          weights={"image": 1.0, "text": 1.0}, label_column="kind",
                          store_root=folder / ".mmviewer")
        gen = report_job(inp)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                data = stop.value
                break
        size = write_report(data, folder / "report.html")
        out.update({"report_bytes": size, "report_points": data["map"]["n_points"],
                    "report_thumbnails": len(data["thumbs"]),
                    "report_s": round(time.perf_counter() - t, 1)})
    model.shutdown(stop_layouts=False)
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:<26} {value}")


if __name__ == "__main__":
    main()
