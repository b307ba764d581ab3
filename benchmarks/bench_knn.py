"""Nearest neighbours for layouts: the app's index (``approx_knn``) against faiss settings, side by
side (prints figures, asserts nothing). Until 2 December ``approx_knn`` was our own IVF index;
measured here against faiss on a quiet machine it lost at 100k and 1M, and now wraps faiss's
``IndexIVFFlat`` (RESULTS.md keeps both runs).

    python benchmarks/bench_knn.py --json            # 100k and 1M points
    python benchmarks/bench_knn.py --quick --json    # 100k

The data is what UMAP is given: 64-d PCA scores of clustered vectors (50 clusters). The two jobs
are UMAP's ``precomputed_knn`` on its fit sample (50,000 rows at most: every point's 15 nearest)
and the placement of all other rows (their 8 nearest among the 50,000 fitted ones: 950,000
queries at 1M items). Recall is measured against exact neighbours of 2,000 sampled queries; times
include building the index.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def clustered(n: int, dims: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dims), dtype=np.float32) * 2.0
    labels = rng.integers(0, clusters, n)
    x = centres[labels]
    x += rng.standard_normal((n, dims), dtype=np.float32)
    return x


def exact(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    d = (queries**2).sum(1)[:, None] - 2 * queries @ data.T + (data**2).sum(1)[None, :]
    return np.argsort(d, axis=1)[:, :k]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def ours(data, queries, k):
    from mmviewer.core.layout.knn import approx_knn

    return approx_knn(data, k, queries=queries)[0]


def faiss_ivf(data, queries, k, nprobe=4, threads=None):
    import faiss

    if threads is not None:  # the app runs its index on one core (the other is the figures lane's)
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(threads)
        try:
            return faiss_ivf(data, queries, k, nprobe)
        finally:
            faiss.omp_set_num_threads(before)

    nlist = int(np.clip(round(np.sqrt(len(data))), 1, 4096))
    quantizer = faiss.IndexFlatL2(data.shape[1])
    index = faiss.IndexIVFFlat(quantizer, data.shape[1], nlist)
    train = data if len(data) <= 64 * nlist else data[np.random.default_rng(0).choice(len(data), 64 * nlist, replace=False)]
    index.train(train)
    index.add(data)
    index.nprobe = nprobe
    return index.search(queries, k)[1]


def faiss_hnsw(data, queries, k, m=16, ef=64):
    import faiss

    index = faiss.IndexHNSWFlat(data.shape[1], m)
    index.hnsw.efConstruction = 40
    index.add(data)
    index.hnsw.efSearch = ef
    return index.search(queries, k)[1]


METHODS = {"app_approx_knn": ours, "faiss_ivf_p4": faiss_ivf,
           "faiss_ivf_p8": lambda d, q, k: faiss_ivf(d, q, k, 8), "faiss_hnsw16": faiss_hnsw,
           # ours runs its BLAS on one thread: the same for faiss, side by side
           "faiss_ivf_p4_1thread": lambda d, q, k: faiss_ivf(d, q, k, 4, threads=1),
           "faiss_ivf_p8_1thread": lambda d, q, k: faiss_ivf(d, q, k, 8, threads=1)}


def measure(n: int) -> dict:
    data = clustered(n)
    rng = np.random.default_rng(1)
    out = {}
    # UMAP's graph on the fit sample: all points against all (15 neighbours).
    fitted = data[:50_000]
    sample = rng.choice(len(fitted), 2000, replace=False)
    truth = exact(fitted, fitted[sample], 15)
    for name, fn in METHODS.items():
        t0 = time.perf_counter()
        idx = fn(fitted, fitted, 15)
        out[f"graph_{name}_s"] = round(time.perf_counter() - t0, 2)
        out[f"graph_{name}_recall"] = round(recall(idx[sample], truth), 4)
        print(json.dumps({"n": n, name: out[f"graph_{name}_s"], "recall": out[f"graph_{name}_recall"]}),
              file=sys.stderr, flush=True)
    # Placement: the other rows against the 50,000 fitted ones (8 neighbours).
    rest = data[50_000:]
    if len(rest):
        q = rest[rng.choice(len(rest), min(2000, len(rest)), replace=False)]
        truth = exact(fitted, q, 8)
        for name, fn in METHODS.items():
            t0 = time.perf_counter()
            fn(fitted, rest, 8)
            out[f"place_{name}_s"] = round(time.perf_counter() - t0, 2)
            out[f"place_{name}_recall"] = round(recall(fn(fitted, q, 8), truth), 4)
            print(json.dumps({"n": n, "place": name, "s": out[f"place_{name}_s"],
                              "recall": out[f"place_{name}_recall"]}), file=sys.stderr, flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("--sizes", default="")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s] or ([100_000] if args.quick else [100_000, 1_000_000])
    result = {str(n): measure(n) for n in sizes}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
