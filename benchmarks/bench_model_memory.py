"""Where the app model's memory goes on a big precomputed table, job by job (prints figures,
asserts nothing).

    python benchmarks/bench_model_memory.py /tmp/mmbench/scenario_100000.parquet

Runs the jobs the window starts after opening a table, one at a time in this process, without
Qt: open, the first (PCA) picture, the layout input UMAP is given, aligner warm-up, metrics,
every item's pair values, the map's drivers, one item's lists. After each it prints the resident
memory (RSS), its peak during the step (VmHWM, reset before each step) and the Python/numpy bytes
still held (tracemalloc), so a step that keeps or transiently needs gigabytes stands out.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
MIB = 2**20


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", type=Path)
    p.add_argument("--method", default="auto")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    from mmviewer.core.app import jobs
    from mmviewer.core.data.precomputed import open_precomputed
    from mmviewer.core.items.dominance import modality_shares
    from mmviewer.core.items.pairs import pair_values
    from mmviewer.core.layout.impute import complete_missing
    from mmviewer.core.layout.pca import fused_layout_input, fused_pca_2d
    from mmviewer.core.match.workspace import Workspace
    from mmviewer.core.runtime.generators import run_to_end

    tracemalloc.start(1)
    rows, held = [], {}

    def step(name, fn):
        gc.collect()
        reset_peak()
        t = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - t
        held[name] = value
        current, _ = tracemalloc.get_traced_memory()
        row = {"step": name, "s": round(seconds, 2), "rss_mib": status_kib("VmRSS") // 1024,
               "peak_mib": status_kib("VmHWM") // 1024, "python_held_mib": round(current / MIB)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        return value

    step("imports", lambda: None)
    table = step("open", lambda: open_precomputed(args.table).precomputed)
    raw = sum(v.nbytes for v in table.vectors.values())
    ws = Workspace(table)
    weights = {m: 1.0 for m in table.modalities}
    step("first picture (PCA)", lambda: fused_pca_2d(table, weights))
    step("layout input (imputed, 64-d)",
         lambda: fused_layout_input(table, weights, completion=complete_missing(ws)))
    step("warm-up (fits, norms)", lambda: ws.warm_up(args.method))
    step("metrics", lambda: jobs.metrics_job(ws, args.method, weights, "label"))
    pairs = [(a, b) for a in table.modalities for b in table.modalities if a != b]
    step("pair values (every item)", lambda: run_to_end(pair_values(ws, pairs, args.method)))
    step("map drivers", lambda: modality_shares(table, weights))
    step("one item's lists", lambda: ws.item_matches(table.n_items // 3, args.method, 10))
    snapshot = tracemalloc.take_snapshot()
    top = [{"where": f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}",
            "mib": round(s.size / MIB, 1)} for s in snapshot.statistics("lineno")[:15]]
    out = {"n_items": table.n_items, "raw_vector_mib": round(raw / MIB), "steps": rows, "held_by_line": top}
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
