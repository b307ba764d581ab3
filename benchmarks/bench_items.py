"""The item table at scale: filter, search and sort a million rows; scroll them; rank partners.

    python benchmarks/bench_items.py            # 1M rows for the table, 20k items for ranks
    python benchmarks/bench_items.py --quick    # 100k rows, 5k items

Figures (each measured side by side with its baseline in the same run, so the ratio is what to
compare between machines; absolute times are printed too):

* ``filter / sort / search``: :func:`mmviewer.core.items.view.item_view` for a filter expression
  (``partner_rank > 10 and label == "3"``), a sort by partner rank, and an exact search, each
  against one ``np.argsort`` of a float column of the same length.
* ``page repaint``: a real ``QtItems`` panel (offscreen) painting one screen after a jump to a
  random position, at N rows and at 1,000 rows; the ratio shows the cost follows the screen, not N.
* ``partner ranks``: :func:`mmviewer.core.items.pairs.pair_values` for one pair against one
  brute-force pass ``qa @ tb.T`` over the same vectors (the work it must do at least once).

Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def table(n: int, dims: int = 8, seed: int = 0):
    from mmviewer.core.data.table import EmbeddingTable, l2_normalise

    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, dims)).astype(np.float32)
    vectors = {m: l2_normalise(base + rng.standard_normal((n, dims)).astype(np.float32))
               for m in ("image", "text")}
    return EmbeddingTable(np.array([f"it{i:07d}" for i in range(n)], dtype=object), vectors,
                          {m: np.ones(n, bool) for m in vectors}, {"image": "a", "text": "b"},
                          {"label": (np.arange(n) % 10).astype(str).astype(object)})


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def frame_with_ranks(n: int):
    from mmviewer.core.items.frame import ItemFrame
    from mmviewer.core.items.pairs import PairValues

    t = table(n)
    values = PairValues(n)
    rng = np.random.default_rng(1)
    for pair in (("image", "text"), ("text", "image")):
        values.rank[pair] = rng.integers(1, n, n).astype(np.float32)
        values.score[pair] = rng.random(n).astype(np.float32)
    return ItemFrame(t, [("image", "text"), ("text", "image")], values)


def bench_view(n: int) -> None:
    from mmviewer.core.items.expr import parse
    from mmviewer.core.items.view import ViewSpec, item_view

    frame = frame_with_ranks(n)
    column = frame.values.rank[("image", "text")]
    base = timed(lambda: np.argsort(column, kind="stable"))
    cases = {
        "filter": ViewSpec(parse('partner_rank > 10 and label == "3"')),
        "sort": ViewSpec(sort_key="rank:image:text"),
        "search": ViewSpec(search="it00012"),
    }
    print(f"item_view at {n:,} rows (baseline: one argsort of a float column, {base * 1e3:.1f} ms)")
    for name, spec in cases.items():
        if name == "search":
            item_view(frame, spec)  # the first search builds the file-name index once
        took = timed(lambda spec=spec: item_view(frame, spec))
        rows = len(item_view(frame, spec).rows)
        print(f"  {name:7s} {took * 1e3:8.1f} ms   {took / base:6.1f}x argsort   -> {rows:,} rows")


def bench_repaint(n: int) -> None:
    from PySide6.QtWidgets import QApplication

    from mmviewer.gui.table.table_model import ItemTableModel
    from mmviewer.gui.table.view import ItemTableView

    app = QApplication.instance() or QApplication([])

    def page_time(rows: int) -> float:
        model, view = ItemTableModel(), ItemTableView()
        model.set_frame(frame_with_ranks(rows), thumbs=False)
        view.setModel(model)
        view.resize(900, 500)
        view.show()
        app.processEvents()
        rng = np.random.default_rng(0)

        def jump():
            view.scrollTo(model.index(int(rng.integers(0, rows)), 0))
            view.viewport().repaint()

        took = timed(jump, repeat=15)
        view.close()
        return took

    big, small = page_time(n), page_time(1000)
    print(f"page repaint after a jump: {big * 1e3:.1f} ms at {n:,} rows, {small * 1e3:.1f} ms at "
          f"1,000 rows ({big / small:.2f}x)")


def bench_ranks(n: int, dims: int = 512) -> None:
    from mmviewer.core.items.pairs import pair_values
    from mmviewer.core.match.workspace import Workspace

    ws = Workspace(table(n, dims))
    pair = ws.pair("image", "text", "auto")
    base = timed(lambda: pair.score_rows(np.arange(n)), repeat=1)
    took = timed(lambda: list(pair_values(ws, [("image", "text")], "auto")), repeat=1)
    print(f"partner ranks of {n:,} items ({dims}-d): {took:.2f} s; one pass of every item's "
          f"scores {base:.2f} s ({took / base:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, ranked = (100_000, 5_000) if args.quick else (1_000_000, 20_000)
    bench_view(n)
    bench_repaint(n)
    bench_ranks(ranked)


if __name__ == "__main__":
    main()
