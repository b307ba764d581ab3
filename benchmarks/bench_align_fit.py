"""Fit time and held-out figures of CCA and the contrastive head at the app's fit bound (prints
figures, asserts nothing).

    python benchmarks/bench_align_fit.py [--n 50000] [--methods cca,contrastive] [--json]

Pairs are audio (560-d) -> image (512-d) of the scenario table (``datasets/make_table.py``: two
unrelated "models" of one 64-d latent of 50 classes), generated in memory. ``--n`` pairs are fitted
(the app's ``fit_max_pairs`` is 50,000); 5,000 held-out pairs are scored. Figures per method:
wall and CPU seconds of ``fit``, recall@1 and label precision@1 on the held-out pairs, and for
the contrastive head the epochs run / kept and its temperature.
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
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--methods", default="cca,contrastive")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    import numpy as np
    from make_table import LATENT, N_CLASSES, block, model_maps

    from mmviewer.core.align.registry import make_aligner

    n_test = 5_000
    centres = np.random.default_rng(1).standard_normal((N_CLASSES, LATENT), dtype=np.float32) * 1.5
    _, labels, v, _ = block(0, args.n + n_test, model_maps(0), centres, 0)
    xa, xb = v["audio"], v["image"]
    train, test = np.arange(args.n), np.arange(args.n, args.n + n_test)
    rows = []
    for method in args.methods.split(","):
        model = make_aligner(method, **({"random_state": 0} if method == "contrastive" else {}))
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(xa[train], xb[train])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best = (model.transform_a(xa[test]) @ model.transform_b(xb[test]).T).argmax(axis=1)
        row = {"method": method, "n_fit": args.n, "fit_s": round(wall, 1), "fit_cpu_s": round(cpu, 1),
               "recall@1": round(float((best == np.arange(n_test)).mean()), 4),
               "label_precision@1": round(float((labels[test][best] == labels[test]).mean()), 4)}
        for attr in ("n_epochs_", "best_epoch_", "temperature_"):
            if hasattr(model, attr):
                row[attr.rstrip("_")] = round(float(getattr(model, attr)), 4)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    out = {"n_fit": args.n, "n_test": n_test, "rows": rows}
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
