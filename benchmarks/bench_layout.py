"""Map layouts: the instant PCA picture and a warm re-layout against a cold UMAP, and UMAP at 1M.

    python benchmarks/bench_layout.py            # 100k items for the ratios, 1M for the memory
    python benchmarks/bench_layout.py --quick    # 10k and 20k
    python benchmarks/bench_layout.py --json     # one JSON object on stdout

A synthetic clustered table (image 512-d, text 512-d, audio 80-d with 5% missing) goes through
what the app does (``gui/model.layout_job``), with UMAP in a
:class:`~mmviewer.core.layout.service.LayoutService` child that was warmed up first (the app
warms it at start-up):

* ``first_layout_ratio`` = median time of :func:`fused_pca_2d` on a table with nothing cached
  (the instant PCA map the model shows first; 5 calls) / median time of the cold UMAP
  (``service.umap(x)``, spectral init, not counting its input ``fused_layout_input``; 2 runs,
  1 with --quick). Target <= 0.02. The cold UMAP input's own time is reported beside it.
* ``warm_layout_ratio`` = median of (``fused_layout_input`` with new weights + ``service.umap(x2,
  init=previous, n_epochs=WARM_EPOCHS)`` + ``align_to``) / the same cold UMAP. Target <= 0.25.
* ``umap_1m_peak_gib`` = peak RSS of a fresh layout child after a UMAP of 1M items (fit on a
  sample, the rest placed by neighbours) of 1M x 64 clustered rows shaped like the fused PCA
  scores (the 1M-item table itself is bench_memory's subject). Target < 24.

Asserts nothing.
"""

from __future__ import annotations

import time

import benchlib
import numpy as np
from benchlib import Synth, emit, machine, parser, rounded, timed, wanted

W1 = {"image": 1.0, "text": 1.0, "audio": 1.0}
W2 = {"image": 1.0, "text": 0.4, "audio": 0.7}
W3 = {"image": 0.6, "text": 1.0, "audio": 0.3}


def warm_settings() -> tuple[int, int]:
    """``(epochs, max_fit)`` of the model's warm re-layout."""
    from mmviewer.core.app.jobs import WARM_EPOCHS, WARM_MAX_FIT

    return int(WARM_EPOCHS), int(WARM_MAX_FIT)


def layout_ratios(n: int, service, repeats: int) -> dict:
    """Medians: the instant input over 5 cold calls (the table's cached bases cleared each
    time, as for a freshly opened table), ``repeats`` cold UMAPs and ``repeats`` warm
    re-layouts (alternating weight changes). The machine is shared; medians damp its noise."""
    from mmviewer.core.layout.pca import fused_layout_input, fused_pca_2d
    from mmviewer.core.layout.transform import align_to

    table = Synth().table(n)
    first, inputs_cold = [], []
    for _ in range(5):
        getattr(table, "_derived", {}).clear()  # cold: nothing cached on the table
        _, s = timed(fused_pca_2d, table, W1)
        first.append(s)
    for _ in range(2):
        getattr(table, "_derived", {}).clear()
        x, s = timed(fused_layout_input, table, W1)
        inputs_cold.append(s)
    colds = []
    for _ in range(repeats):
        cold, s = timed(service.umap, x, random_state=None)
        colds.append(s)
    epochs, warm_fit = warm_settings()
    warms, inputs, moved = [], [], []
    for i in range(repeats):
        t0 = time.perf_counter()
        x2 = fused_layout_input(table, W2 if i % 2 == 0 else W3)
        inputs.append(time.perf_counter() - t0)
        warm = align_to(service.umap(x2, init=cold, n_epochs=epochs, random_state=None,
                                     max_fit=warm_fit), cold)
        warms.append(time.perf_counter() - t0)
        moved.append(float(np.median(np.linalg.norm(warm - cold, axis=1))))
    first_s, cold_s, warm_s = (float(np.median(v)) for v in (first, colds, warms))
    return {
        "first_layout_ratio": rounded(first_s / cold_s),
        "first_layout_ratio_abs": {
            "n_items": n, "pca_2d_s": [rounded(v) for v in first],
            "umap_input_cold_s": [rounded(v) for v in inputs_cold],
            "cold_umap_s": [rounded(v) for v in colds], "ratio_vs_cold_total": rounded(first_s / (first_s + cold_s)),
        },
        "warm_layout_ratio": rounded(warm_s / cold_s),
        "warm_layout_ratio_abs": {
            "n_items": n, "warm_total_s": [rounded(v) for v in warms],
            "warm_input_s": [rounded(v) for v in inputs], "cold_umap_s": [rounded(v) for v in colds],
            "warm_epochs": epochs, "warm_max_fit": warm_fit, "moved_median": [rounded(v) for v in moved],
        },
    }


def clustered_scores(n: int, dims: int = 64, clusters: int = 64, step: int = 100_000) -> np.ndarray:
    """(n, dims) clustered rows shaped like PCA scores of fused vectors (64 clusters with
    decaying per-axis spread), made block by block. Cheaper than fusing a 1M x 1104 table,
    which this figure does not need (bench_memory measures that path)."""
    rng = np.random.default_rng(0)
    scale = (0.5 ** (np.arange(dims) / 16)).astype(np.float32)
    centres = rng.standard_normal((clusters, dims), dtype=np.float32) * scale
    out = np.empty((n, dims), np.float32)
    for s in range(0, n, step):
        r = np.random.default_rng([1, s])
        labels = r.integers(0, clusters, min(n, s + step) - s)
        out[s : s + len(labels)] = centres[labels] + 0.15 * scale * r.standard_normal((len(labels), dims), dtype=np.float32)
    return out


def umap_big(n: int, service=None) -> dict:
    """UMAP of ``n`` rows in a fresh layout child (or ``service``, reused by ``--quick``)."""
    from mmviewer.core.layout.service import LayoutService

    x, make_s = timed(clustered_scores, n)
    own = service is None
    service = service or LayoutService()
    try:
        _, warm_s = timed(lambda: service.warm_up().result())
        base = service.peak_rss_bytes()
        y, umap_s = timed(service.umap, x, random_state=None)
        peak = service.peak_rss_bytes()
    finally:
        if own:
            service.close()
    return {
        "umap_1m_peak_gib": rounded(peak / 2**30, 3),
        "umap_1m_peak_gib_abs": {
            "n_items": n, "umap_s": rounded(umap_s), "child_peak_bytes": peak,
            "child_peak_before_bytes": base, "input_bytes": int(x.nbytes),
            "finite": bool(np.isfinite(y).all()), "make_input_s": rounded(make_s),
            "warm_up_s": rounded(warm_s), "parent_peak_bytes": benchlib.peak_rss_bytes(),
            "fresh_child": own,
        },
    }


def main(argv=None) -> int:
    from mmviewer.core.layout.service import LayoutService

    args = parser(__doc__).parse_args(argv)
    n = 10_000 if args.quick else 100_000
    n_big = 20_000 if args.quick else 1_000_000
    result: dict = {"quick": args.quick}
    service = LayoutService()
    try:
        if wanted(args, "first_layout_ratio") or wanted(args, "warm_layout_ratio"):
            _, warm_up_s = timed(lambda: service.warm_up().result())
            result.update(layout_ratios(n, service, 1 if args.quick else 2))
            result["first_layout_ratio_abs"]["service_warm_up_s"] = rounded(warm_up_s)
        if wanted(args, "umap_1m_peak_gib"):
            # The full run measures the 1M peak in a fresh child; --quick reuses the warm one.
            result.update(umap_big(n_big, service if args.quick else None))
    finally:
        service.close()
    result["machine"] = machine()
    emit(result, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
