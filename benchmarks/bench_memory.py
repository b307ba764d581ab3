"""Peak memory of a 1M-item session against the raw float32 embedding bytes.

    python benchmarks/bench_memory.py            # 1M items
    python benchmarks/bench_memory.py --quick    # 100k items
    python benchmarks/bench_memory.py --json     # one JSON object on stdout

A precomputed Parquet table (id, label, image 512-d, text 512-d, audio 80-d with 5% nulls) is
written once under ``$MMVIEWER_BENCH_DIR`` (default /tmp/mmbench) by a helper process. A fresh
process then does what a session does with it: ``open_dataset`` (the precomputed reader),
:class:`Workspace`, ``fused_layout_input`` (the map's input) and a fused "similar items" query,
and reports its peak RSS (``ru_maxrss``):

    peak_mem_ratio_1m = peak RSS / raw bytes,   raw bytes = N * (512 + 512 + 80) * 4

No model is loaded for a precomputed table, so the "plus the model" allowance of the target is 0.
Target <= 2. Asserts nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import benchlib
from benchlib import DIMS, SCRATCH, Synth, emit, machine, parser, rounded


def table_path(n: int) -> Path:
    return SCRATCH / f"precomputed-{n}.parquet"


def write_table(n: int, path: Path, step: int = 50_000) -> None:
    """Write the synthetic table row group by row group (never the whole table in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    synth = Synth()
    writer = None
    for s in range(0, n, step):
        b = synth.block(s, min(n, s + step))
        rows = len(b["labels"])
        cols = {
            "id": pa.array([f"item{i:07d}" for i in range(s, s + rows)], pa.string()),
            "label": pa.array([f"c{c}" for c in b["labels"]], pa.string()),
        }
        for m in DIMS:
            flat = pa.array(b[m].reshape(-1))
            mask = pa.array(~b["audio_present"]) if m == "audio" else None
            cols[m] = pa.FixedSizeListArray.from_arrays(flat, DIMS[m], mask=mask)
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(str(tmp), table.schema, compression="none")
        writer.write_table(table)
    writer.close()
    tmp.replace(path)


def session(path: Path) -> dict:
    """Runs in the measured process: open, workspace, layout input, one similar-items query."""
    from mmviewer.core.data.open import open_dataset
    from mmviewer.core.layout.pca import fused_layout_input
    from mmviewer.core.match.workspace import Workspace

    marks = {"start": benchlib.peak_rss_bytes()}
    t0 = time.perf_counter()
    dataset = open_dataset(path)
    table = dataset.precomputed
    t_open = time.perf_counter() - t0
    marks["open"] = benchlib.peak_rss_bytes()
    ws = Workspace(table)
    weights = {m: 1.0 for m in table.modalities}
    t0 = time.perf_counter()
    x = fused_layout_input(table, weights)
    t_layout = time.perf_counter() - t0
    marks["layout_input"] = benchlib.peak_rss_bytes()
    t0 = time.perf_counter()
    similar = ws.similar(12345 % table.n_items, weights, k=10)
    t_similar = time.perf_counter() - t0
    marks["similar"] = benchlib.peak_rss_bytes()
    raw = sum(table.n_items * table.dim(m) * 4 for m in table.vectors)
    return {"n_items": table.n_items, "raw_bytes": raw, "peak_bytes": benchlib.peak_rss_bytes(),
            "peaks_after": marks, "open_s": rounded(t_open), "layout_input_s": rounded(t_layout),
            "similar_s": rounded(t_similar), "layout_shape": list(x.shape),
            "similar_found": int(len(similar.rows))}


def main(argv=None) -> int:
    p = parser(__doc__)
    p.add_argument("--session", help=argparse_suppress())
    p.add_argument("--write", help=argparse_suppress())
    p.add_argument("--n", type=int, help=argparse_suppress())
    args = p.parse_args(argv)
    if args.write:
        write_table(args.n, Path(args.write))
        return 0
    if args.session:
        print(json.dumps(session(Path(args.session))))
        return 0
    n = 100_000 if args.quick else 1_000_000
    path = table_path(n)
    write_s = 0.0
    if not path.is_file():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--write", str(path), "--n", str(n)], check=True)
        write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--session", str(path)], check=True,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    ratio = figures["peak_bytes"] / figures["raw_bytes"]
    result = {
        "quick": args.quick,
        "peak_mem_ratio_1m": rounded(ratio, 3),
        "peak_mem_ratio_1m_abs": {**figures, "process_wall_s": rounded(wall),
                                  "table_file_bytes": path.stat().st_size,
                                  "write_table_s": rounded(write_s), "model_bytes": 0},
        "machine": machine(),
    }
    emit(result, args)
    return 0


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    raise SystemExit(main())
