"""Shared helpers of the benchmark scripts: synthetic data, timers, peak memory, JSON output.

Nothing here asserts anything about time; the scripts print figures.
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

ROOT = Path(__file__).resolve().parents[1]
#: Another checkout's root (e.g. an exported older commit) to measure instead of this one.
SRC = Path(os.environ.get("MMVIEWER_BENCH_SRC", ROOT))
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

#: The synthetic table of the issue: CLIP-like image and text sharing a space, MFCC-like audio.
DIMS = {"image": 512, "text": 512, "audio": 80}
SCRATCH = Path(os.environ.get("MMVIEWER_BENCH_DIR", "/tmp/mmbench"))


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--only", default="", help="comma-separated keys to measure (default: all)")
    return p


def wanted(args, key: str) -> bool:
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    return not only or key in only


def clustered_block(rng: np.random.Generator, centres: np.ndarray, labels: np.ndarray,
                    noise: float) -> np.ndarray:
    x = centres[labels] + noise * rng.standard_normal((len(labels), centres.shape[1]), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


class Synth:
    """Clustered unit vectors: ``n_clusters`` centres in a 512-d latent; image and text are the
    centre plus noise (one space, like CLIP's towers), audio a fixed projection of it to 80-d plus
    noise. Rows are made block by block, so 1M items never need more than the output."""

    def __init__(self, n_clusters: int = 64, seed: int = 0, audio_missing: float = 0.05):
        rng = np.random.default_rng(seed)
        self.seed = seed
        self.centres = rng.standard_normal((n_clusters, DIMS["image"]), dtype=np.float32)
        self.centres /= np.linalg.norm(self.centres, axis=1, keepdims=True)
        self.audio_map = rng.standard_normal((DIMS["image"], DIMS["audio"]), dtype=np.float32)
        self.audio_map /= np.sqrt(DIMS["image"])
        self.audio_missing = audio_missing

    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Rows ``start:stop``: {'labels', 'image', 'text', 'audio', 'audio_present'}."""
        rng = np.random.default_rng([self.seed, start])
        labels = rng.integers(0, len(self.centres), stop - start)
        latent = clustered_block(rng, self.centres, labels, 0.04)
        image = clustered_block(rng, latent, np.arange(len(labels)), 0.03)
        text = clustered_block(rng, latent, np.arange(len(labels)), 0.03)
        audio_c = latent @ self.audio_map
        audio = clustered_block(rng, audio_c, np.arange(len(labels)), 0.02)
        present = rng.random(len(labels)) >= self.audio_missing
        audio[~present] = 0
        return {"labels": labels, "image": image, "text": text, "audio": audio,
                "audio_present": present}

    def table(self, n: int):
        from mmviewer.core.data.table import EmbeddingTable

        vectors = {m: np.empty((n, d), np.float32) for m, d in DIMS.items()}
        present = np.empty(n, bool)
        labels = np.empty(n, np.int64)
        step = 50_000
        for s in range(0, n, step):
            b = self.block(s, min(n, s + step))
            for m in DIMS:
                vectors[m][s : s + len(b["labels"])] = b[m]
            present[s : s + len(b["labels"])] = b["audio_present"]
            labels[s : s + len(b["labels"])] = b["labels"]
        ids = np.array([f"item{i:07d}" for i in range(n)], dtype=object)
        pres = {"image": np.ones(n, bool), "text": np.ones(n, bool), "audio": present}
        encoders = {"image": "clip:bench/image", "text": "clip:bench/text", "audio": "mfcc-bench"}
        meta = {"label": np.array([f"c{c}" for c in labels], dtype=object)}
        return EmbeddingTable(ids, vectors, pres, encoders, meta)


def timed(func, *args, **kwargs):
    """``(result, seconds)``."""
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - t0


def median_s(func, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def proc_status_kib(field: str, pid: int | str = "self") -> int | None:
    """A ``VmHWM``/``VmRSS``-style field of ``/proc/<pid>/status`` in KiB (None if absent)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_bytes() -> int:
    """This process's peak resident set size (``ru_maxrss``, KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i % 7
    return time.perf_counter() - t0


def parallel_capacity(n: int = 3_000_000) -> float:
    """How many cores this process can get right now: the same pure-Python loop once alone and
    twice at once in two processes; 2.0 on two idle cores, ~1.0 when others hold one."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # started
        alone = pool.apply(_spin, (n,))
        t0 = time.perf_counter()
        pool.map(_spin, [n, n], chunksize=1)
        both = time.perf_counter() - t0
    return round(2 * alone / both, 2)


def machine() -> dict:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "loadavg": load}


def emit(result: dict, args, lines: list[str] | None = None) -> None:
    """Print ``result`` as one JSON line (``--json``) or as readable lines."""
    if args.json:
        print(json.dumps(result, default=_plain))
    else:
        for line in lines or []:
            print(line)
        print(json.dumps(result, indent=1, default=_plain))


def _plain(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(type(obj).__name__)


def rounded(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)
