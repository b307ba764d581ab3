"""How held-out recall changes with the number of pairs an aligner is fitted on, and with the
number of CCA components kept (prints figures, asserts nothing).

    python benchmarks/bench_fit_sample.py --n 300000 --json
    python benchmarks/bench_fit_sample.py --quick --json

The table is the scenario's (``datasets/make_table.py``: unrelated 512/512/560-d "models" of 50
classes). For each pair, a seeded 30 % is held out and a seeded 10,000 of it scored; the aligner
is fitted on seeded samples of the rest. Figures: recall@1, recall@10, label precision@1 and the
fit time, per method, sample size and (CCA) number of components.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "datasets"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300_000)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    n = 60_000 if args.quick else args.n
    sizes = (2_500, 10_000, 25_000) if args.quick else (2_500, 5_000, 10_000, 25_000, 50_000, 100_000)
    from bench_scenario import SCRATCH
    from make_table import write_table

    from mmviewer.core.data.precomputed import open_precomputed
    from mmviewer.core.evaluate.evaluation import evaluate

    path = SCRATCH / f"scenario_{n}.parquet"
    if not path.exists():
        write_table(path, n)
    table = open_precomputed(path).precomputed
    rows = []
    for query, target in (("audio", "image"), ("image", "text")):
        for method, comps in (("cca", (32, 64, 128, None)), ("ridge", (None,)), ("procrustes", (None,))):
            for size in sizes:
                for k in comps:
                    params = {"n_components": k} if k else {}
                    t0 = time.perf_counter()
                    r = evaluate(table, query, target, method=method, label_column="label",
                                 max_fit=size, max_test=10_000, **params)
                    rows.append({"pair": f"{query}->{target}", "method": method, "n_fit": r["n_train"],
                                 "components": k or "all", "recall@1": round(r["recall@1"], 4),
                                 "recall@10": round(r["recall@10"], 4),
                                 "label_precision@1": round(r["label_precision@1"], 4),
                                 "seconds": round(time.perf_counter() - t0, 2)})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    out = {"n_items": n, "n_test": 10_000, "rows": rows}
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
