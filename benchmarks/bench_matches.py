"""How long the Matches panel takes to follow a weight slider, against one pass over the data.

    python benchmarks/bench_matches.py            # 100k items
    python benchmarks/bench_matches.py --quick    # 10k items
    python benchmarks/bench_matches.py --json     # one JSON object on stdout

A synthetic table (image 512-d and text 512-d sharing a CLIP-like space, audio 128-d in its own
space, 5% of items without audio) is shown in a real ``QtMatches`` panel (offscreen). The figure
of merit is

    slider_update_ratio = median(weight change -> lists redrawn) / median(E @ q)

where the numerator is the whole synchronous path the panel runs when ``state.weights`` changes
(re-weighting the cached per-item score vectors, top-k of the similar list and of every
fused -> target list, redrawing the two visible lists) and ``E`` is ``fusion.fused_vectors``
for the same weights (N x 1152), i.e. one brute-force pass over the fused matrix. Target: <= 3.
Absolute times are printed too; they vary a lot between machines and runs, the ratio less so.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DIMS = {"image": 512, "text": 512, "audio": 128}


def synthetic_table(n: int, seed: int = 0):
    from mmviewer.core.data.table import EmbeddingTable, l2_normalise

    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 512), dtype=np.float32)
    image = l2_normalise(base + 0.5 * rng.standard_normal((n, 512), dtype=np.float32))
    text = l2_normalise(base + 0.5 * rng.standard_normal((n, 512), dtype=np.float32))
    mix = rng.standard_normal((512, 128), dtype=np.float32) / np.sqrt(512)
    audio = l2_normalise(base @ mix + 0.5 * rng.standard_normal((n, 128), dtype=np.float32))
    present = {m: np.ones(n, bool) for m in DIMS}
    present["audio"][rng.random(n) < 0.05] = False
    audio[~present["audio"]] = 0
    return EmbeddingTable(
        np.array([f"item{i:06d}" for i in range(n)], dtype=object),
        {"image": image, "text": text, "audio": audio},
        present,
        {"image": "clip/bench/image", "text": "clip/bench/text", "audio": "mfcc-bench"},
    )


def median_ms(func, repeats: int) -> tuple[float, list[float]]:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        func(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k items instead of 100k")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else 100_000

    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication

    from mmviewer.core.app.state import ViewState
    from mmviewer.core.match.fusion import fused_vectors
    from mmviewer.core.match.workspace import Workspace
    from mmviewer.gui.matches.qt_matches import QtMatches

    class Controller(QObject):
        """The part of AppModel the panel uses (no layout or metrics jobs competing)."""

        table_ready = Signal()

        def __init__(self, workspace):
            super().__init__()
            self.workspace = workspace
            self.encoders = {}

        def item(self, row):
            return None  # no media files: captions and thumbnails are empty

    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    table = synthetic_table(n)
    make_s = time.perf_counter() - t0
    ws = Workspace(table)
    state = ViewState()
    model = Controller(ws)
    panel = QtMatches(state, model)
    panel.resize(500, 800)
    state.reset(table.modalities)
    model.table_ready.emit()

    def wait_lists(row_or_method):
        done = []
        panel.lists_ready.connect(lambda: done.append(1))
        t = time.perf_counter()
        if isinstance(row_or_method, int):
            state.current = row_or_method
        else:
            state.method = row_or_method
        while not done:
            app.processEvents()
            time.sleep(0.001)
        return time.perf_counter() - t

    similar_s = []
    panel.similar_ready.connect(lambda: similar_s.append(time.perf_counter()))
    t0 = time.perf_counter()
    learned = ws.resolve_method("audio", "image", "auto")
    first_item_s = wait_lists(12345 % n)  # fits the learned aligners of the audio pairs
    first_similar_s = similar_s[0] - t0  # the similar list does not wait for the fit
    next_item_s = wait_lists(777)  # aligners cached: the per-item workers only
    assert panel.data is not None and panel.data.row == 777

    rng = np.random.default_rng(1)
    weight_sets = [tuple((m, float(w)) for m, w in zip(sorted(DIMS), rng.uniform(0.05, 1, 3), strict=True))
                   for _ in range(args.repeats)]

    def panel_update(i):
        state.weights = weight_sets[i]

    panel_ms, _ = median_ms(panel_update, args.repeats)
    def core(i):
        panel.similar.matches(dict(weight_sets[i]))
        panel.data.fused_all(dict(weight_sets[i]))

    core_ms, _ = median_ms(core, args.repeats)

    weights = dict(weight_sets[-1])
    t0 = time.perf_counter()
    e = fused_vectors(table, weights)
    fused_s = time.perf_counter() - t0
    q = e[777].copy()
    matvec_ms, _ = median_ms(lambda _i: e @ q, args.repeats)

    result = {
        "n_items": n,
        "dims": DIMS,
        "fused_dim": int(e.shape[1]),
        "k": state.k,
        "repeats": args.repeats,
        "slider_update_ratio": round(panel_ms / matvec_ms, 3),
        "panel_weight_update_ms": round(panel_ms, 3),
        "reweight_core_ms": round(core_ms, 3),
        "fused_matvec_ms": round(matvec_ms, 3),
        "fused_vectors_s": round(fused_s, 3),
        "auto_learned_method": learned,
        "first_item_worker_s": round(first_item_s, 3),
        "first_item_similar_s": round(first_similar_s, 3),
        "next_item_worker_s": round(next_item_s, 3),
        "make_table_s": round(make_s, 3),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}",
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Matches panel at {n:,} items (image 512-d, text 512-d, audio 128-d; k={state.k})")
        print(f"  weight change -> lists redrawn (panel, median): {panel_ms:8.2f} ms")
        print(f"    of which re-weighting + top-k (core):         {core_ms:8.2f} ms")
        print(f"  one E @ q over the fused matrix ({n:,} x {e.shape[1]}): {matvec_ms:8.2f} ms")
        print(f"  slider_update_ratio = {panel_ms / matvec_ms:.3f}   (target <= 3)")
        print(f"  new item, all lists (worker): first {first_item_s:.2f} s (fits {learned}), "
              f"next {next_item_s:.3f} s; similar list first shown after {first_similar_s:.3f} s")
    panel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
