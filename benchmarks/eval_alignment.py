"""Report every alignment method's held-out retrieval figures on a real paired dataset.

    python benchmarks/eval_alignment.py FOLDER [--offline] [--pairs audio:image,text:image]
        [--methods none,procrustes,ridge,cca,contrastive] [--label-column label] [--json]

Embeds the dataset through the store (reusing cached vectors), then runs the same
``mmviewer.core.evaluate.evaluation.evaluate`` that ``mmviewer eval`` runs, for each pair and method,
and prints a Markdown table beside chance level (or one JSON list with --json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmviewer.core.embed.options import EmbedOptions, embedding_job, open_path  # noqa: E402
from mmviewer.core.evaluate.evaluation import evaluate  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder")
    p.add_argument("--offline", action="store_true")
    p.add_argument("--pairs", default="audio:image,text:image,audio:text")
    p.add_argument("--methods", default="none,procrustes,ridge,cca,contrastive")
    p.add_argument("--label-column", default=None)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    options = EmbedOptions(offline=args.offline)
    dataset = open_path(args.folder, options)
    result = run_job(embedding_job(dataset, options))
    table = result.table
    rows = []
    for pair in args.pairs.split(","):
        query, target = pair.split(":")
        for method in args.methods.split(","):
            t0 = time.perf_counter()
            try:
                figures = evaluate(table, query, target, method=method, label_column=args.label_column)
            except ValueError as err:
                figures = {"query": query, "target": target, "method": method, "error": str(err)}
            figures["fit_and_eval_s"] = round(time.perf_counter() - t0, 2)
            rows.append(figures)
    if args.json:
        print(json.dumps({"dataset": str(args.folder), "encoders": table.encoders, "results": rows}))
        return 0
    print(f"Dataset {args.folder}: {table.n_items} items; encoders {table.encoders}\n")
    cols = ["recall@1", "recall@5", "recall@10", "mrr", "median_rank", "modality_gap"]
    if args.label_column:
        cols += ["label_precision@1", "label_precision@5"]
    print("| query → target | method | n_test | " + " | ".join(cols) + " | chance R@1 | chance R@10 | s |")
    print("|---" * (len(cols) + 6) + "|")
    for r in rows:
        if "error" in r:
            print(f"| {r['query']} → {r['target']} | {r['method']} | – | {r['error']} |")
            continue
        vals = " | ".join(_fmt(r.get(c)) for c in cols)
        print(f"| {r['query']} → {r['target']} | {r['method']} | {r['n_test']} | {vals} | "
              f"{_fmt(r.get('chance_recall@1'))} | {_fmt(r.get('chance_recall@10'))} | {r['fit_and_eval_s']} |")
    return 0


def run_job(gen):
    """Drive an embedding generator to its end; its return value (the ``EmbedResult``)."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def _fmt(v) -> str:
    return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


if __name__ == "__main__":
    raise SystemExit(main())
