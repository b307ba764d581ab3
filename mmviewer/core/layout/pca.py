"""PCA for the map: the instant picture, and the low-dimensional input UMAP sees.

The fused layout input is a two-stage PCA (:func:`fused_layout_input`): each modality's vectors
are projected once onto their top ``BASIS_DIMS`` uncentred principal axes (cached on the
table, weight-independent), and a weight change only redoes a small PCA of the weighted,
concatenated scores.
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.runtime.blas import one_blas_thread
from mmviewer.core.runtime.cancel import check_cancelled

PCA_SAMPLE = 20_000


#: Dimensions UMAP sees: PCA of the (fused) vectors, as scanpy does before its kNN graph.
LAYOUT_DIMS = 64


#: Per-modality basis rank of the two-stage fused PCA (cached per table).
BASIS_DIMS = 64


#: Rows sampled to fit each modality's basis (its top axes; the projection covers all rows).
BASIS_SAMPLE = 4096


def pca_reduce(rows, n: int, dims: int, sample: int = PCA_SAMPLE, random_state: int = 0) -> np.ndarray:
    """PCA scores (N, dims) float32 of rows produced block by block.

    ``rows(index)`` returns the float32 rows for an index array, so callers can produce rows on
    the fly (e.g. fused vectors) without materialising the whole (N, D) matrix. The axes are
    fitted on a seeded sample of at most ``sample`` rows; all rows are then projected.
    """
    if n == 0:
        return np.zeros((0, dims), np.float32)
    mean, axes = pca_axes(rows, n, dims, sample, random_state)
    d, k = axes.shape
    out = np.zeros((n, dims), np.float32)
    step = max(1, (64 * 2**20) // (4 * max(d, 1)))
    for start in range(0, n, step):
        check_cancelled()
        index = np.arange(start, min(n, start + step))
        out[index, :k] = (np.asarray(rows(index), np.float32) - mean) @ axes
    return out


def pca_axes(rows, n: int, dims: int, sample: int = PCA_SAMPLE,
             random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (D,), axes (D, k))`` of :func:`pca_reduce`, fitted on a seeded sample of rows."""
    rng = np.random.default_rng(random_state)
    fit_index = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    fit_rows = np.asarray(rows(fit_index), dtype=np.float32)
    mean = fit_rows.mean(axis=0)
    centred = fit_rows - mean
    d = centred.shape[1]
    k = min(dims, d, len(centred))
    with one_blas_thread():
        if d <= 256:
            _, vecs = np.linalg.eigh((centred.T @ centred).astype(np.float64))
            axes = vecs[:, ::-1][:, :k]
        else:
            from sklearn.utils.extmath import randomized_svd

            _, _, vt = randomized_svd(centred, k, n_iter=4, random_state=random_state)
            axes = vt.T
        axes = _sign_fix_axes(axes.astype(np.float32), centred)
    return mean, axes


def _sign_fix_axes(axes: np.ndarray, centred: np.ndarray) -> np.ndarray:
    # Deterministic orientation: the largest-magnitude score on each axis is positive.
    scores = centred @ axes
    flip = scores[np.argmax(np.abs(scores), axis=0), np.arange(axes.shape[1])] < 0
    axes[:, flip] *= -1
    return axes


def pca_layout(x: np.ndarray, random_state: int = 0, sample: int = PCA_SAMPLE) -> np.ndarray:
    """Project rows onto their top two principal axes (fitted on a sample); (N, 2) float32."""
    x = np.asarray(x, dtype=np.float32)
    return pca_reduce(lambda index: x[index], len(x), 2, sample, random_state)


def fused_layout_input(table, weights, dims: int = LAYOUT_DIMS, random_state: int = 0,
                       completion=None) -> np.ndarray:
    """PCA scores (N, dims) of the fused vectors (see :func:`mmviewer.core.match.fusion.fused_vectors`)
    without materialising the (N, sum of dims) fused matrix.

    Two stages: each modality's rows are first reduced to their scores on the top
    ``BASIS_DIMS`` axes of their uncentred second moment (``Y_m = V_m A_m``; exact when the
    modality has at most that many dims), computed once per table and cached. The fused vector
    ``[s_1 e_1, s_2 e_2, ...]`` is then represented by ``[s_1 Y_1, s_2 Y_2, ...]``, which keeps
    its dot products up to the basis truncation, and a small PCA of that gives the output. A
    weight change only redoes the second stage.

    Its first two columns are the instant PCA layout; all columns are what UMAP sees. With a
    ``completion`` (:class:`mmviewer.core.layout.impute.Completion`), items lacking a modality
    use its predicted vector instead of an empty block.
    """
    scales = _layout_scales(table, weights, completion)
    if not scales:
        raise ValueError("fused_layout_input needs at least one modality with a positive weight")
    bases = modality_bases(table, list(scales), random_state=random_state)
    if completion is not None:
        bases = [_completed_basis(table, m, y, completion, random_state)
                 for m, y in zip(scales, bases, strict=True)]
    factors = list(scales.values())

    def rows(index):
        return np.concatenate([y[index] * f[index, None] for y, f in zip(bases, factors, strict=True)],
                              axis=1)

    n = table.n_items
    out = np.zeros((n, dims), np.float32)
    if n == 0:
        return out
    mean, axes = pca_axes(rows, n, dims, random_state=random_state)
    k = axes.shape[1]
    # Project modality by modality: sum_m f_m * (Y_m @ A_m) - mean @ A, with no (N, R) copy.
    out[:, :k] = -(mean @ axes)
    col = 0
    for y, f in zip(bases, factors, strict=True):
        part = axes[col : col + y.shape[1]]
        col += y.shape[1]
        block = y @ part
        block *= f[:, None]
        out[:, :k] += block
    return out


def fused_pca_2d(table, weights, sample: int = 4096, random_state: int = 0,
                 completion=None) -> np.ndarray:
    """The instant map: fused vectors on their top two principal axes, (N, 2) float32.

    The axes come from a seeded sample of at most ``sample`` fused rows; all rows are then
    projected modality by modality, so neither the (N, sum of dims) fused matrix nor the
    per-modality bases of :func:`fused_layout_input` are needed. That keeps the first picture
    at a few percent of a UMAP even on a freshly opened table.
    """
    scales = _layout_scales(table, weights, completion)
    if not scales:
        raise ValueError("the map needs at least one modality with a positive weight")
    n = table.n_items
    rng = np.random.default_rng(random_state)
    index = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))

    def fused_rows(i):
        rows = index[i]
        return np.concatenate([_vectors(table, m, rows, completion) * f[rows, None]
                               for m, f in scales.items()], axis=1)

    mean, axes = pca_axes(fused_rows, len(index), 2, sample=len(index), random_state=random_state)
    out = np.empty((n, axes.shape[1]), np.float32)
    out[:] = -(mean @ axes)
    col = 0
    for m, f in scales.items():
        part = axes[col : col + table.dim(m)]
        col += table.dim(m)
        out += (table.vectors[m] @ part) * f[:, None]
        rows = completion.rows.get(m) if completion is not None else None
        if rows is not None and len(rows):  # their table rows are zero: add the predictions
            out[rows] += (completion.vectors[m] @ part) * f[rows, None]
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


def _layout_scales(table, weights, completion) -> dict[str, np.ndarray]:
    from mmviewer.core.match.fusion import fused_scales

    present = None
    if completion is not None:
        present = {m: completion.present(table, m) for m in completion.rows}
    return fused_scales(table, weights, present)


def _vectors(table, modality: str, rows: np.ndarray, completion) -> np.ndarray:
    if completion is None:
        return np.asarray(table.vectors[modality][rows], np.float32)
    return completion.fill(table, modality, rows)


def _completed_basis(table, modality: str, basis: np.ndarray, completion, random_state: int) -> np.ndarray:
    """``basis`` (a modality's layout scores) with the rows the completion predicts filled in
    (cached per table: the completion is deterministic for a table)."""
    rows = completion.rows.get(modality)
    if rows is None or not len(rows):
        return basis

    def compute():
        axes = modality_axes(table, modality, random_state=random_state)
        filled = basis.copy()  # the plain basis (or the vectors themselves) stays as it is
        filled[rows] = completion.vectors[modality] if axes is None else completion.vectors[modality] @ axes
        return filled

    return table.derived(("layout-basis-completed", modality, random_state), compute)


def modality_bases(table, modalities: list[str], random_state: int = 0) -> list[np.ndarray]:
    """:func:`modality_basis` of several modalities, two at a time (one BLAS thread each)."""
    from concurrent.futures import ThreadPoolExecutor

    if len(modalities) < 2:
        return [modality_basis(table, m, random_state=random_state) for m in modalities]
    with one_blas_thread(), ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda m: modality_basis(table, m, random_state=random_state), modalities))


def modality_basis(table, modality: str, rank: int = BASIS_DIMS, sample: int | None = None,
                   random_state: int = 0) -> np.ndarray:
    """(N, min(rank, d)) float32 scores of one modality's rows on the top uncentred principal
    axes of its present rows (fitted on a seeded sample); cached on ``table``.

    Returns the vectors themselves when ``d <= rank`` (lossless, no copy).
    """
    axes = modality_axes(table, modality, rank, sample, random_state)
    v = table.vectors[modality]
    if axes is None:
        return v
    return table.derived(("layout-basis", modality, rank, sample, random_state), lambda: v @ axes)


def modality_axes(table, modality: str, rank: int = BASIS_DIMS, sample: int | None = None,
                  random_state: int = 0) -> np.ndarray | None:
    """The (d, rank) top uncentred principal axes of :func:`modality_basis`, or None when
    ``d <= rank`` (the basis is the vectors themselves); cached on ``table``."""
    sample = BASIS_SAMPLE if sample is None else sample

    def compute():
        v = table.vectors[modality]
        d = v.shape[1]
        if d <= rank:
            return None
        present = np.flatnonzero(table.present[modality])
        rng = np.random.default_rng(random_state)
        fit = present if len(present) <= sample else np.sort(rng.choice(present, sample, replace=False))
        xs = np.asarray(v[fit], np.float32)
        if len(xs) == 0:
            return np.zeros((d, rank), np.float32)
        from scipy.linalg import eigh

        with one_blas_thread():  # only the top ``rank`` eigenpairs (MRRR): half a full eigh
            _, vecs = eigh((xs.T @ xs).astype(np.float64), subset_by_index=[d - rank, d - 1],
                           driver="evr")
        return np.ascontiguousarray(vecs[:, ::-1], dtype=np.float32)

    return table.derived(("layout-axes", modality, rank, sample, random_state), compute)
