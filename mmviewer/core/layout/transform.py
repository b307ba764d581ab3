"""The 2-D similarity transform that makes a new layout glide from the old one.
"""

from __future__ import annotations

import numpy as np


def align_to(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Similarity transform (rotation/reflection, scale, shift) of ``new`` that best fits ``old``.

    Used before animating: UMAP rescales any ``init`` into its own box, so without this a
    warm-started layout would jump even where the structure barely changed.
    """
    new = np.asarray(new, np.float64)
    old = np.asarray(old, np.float64)
    if len(new) < 3 or new.shape != old.shape:
        return new.astype(np.float32)
    mu_n, mu_o = new.mean(0), old.mean(0)
    a, b = new - mu_n, old - mu_o
    u, s, vt = np.linalg.svd(a.T @ b)
    rot = u @ vt
    denom = (a**2).sum()
    scale = s.sum() / denom if denom > 0 else 1.0
    return ((a @ rot) * scale + mu_o).astype(np.float32)
