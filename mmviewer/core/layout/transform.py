"""The 2-D similarity transform that makes a new layout glide from the old one."""

from __future__ import annotations

import numpy as np


def align_to(new, old) -> np.ndarray:
    """``new`` moved by the similarity transform (rotation/reflection, scale, shift) that best
    fits ``old`` (orthogonal Procrustes with scale), as float32.

    The map applies it before animating: UMAP rescales any ``init`` into its own box, so without
    it a warm-started layout would jump even where the structure barely changed. Written with
    1-D dot products: tens of milliseconds at 1M points instead of about a second.
    """
    new = np.asarray(new, np.float32)
    old = np.asarray(old, np.float32)
    if len(new) < 3 or new.shape != old.shape:
        return new.copy()
    nx, ny = new[:, 0].astype(np.float64), new[:, 1].astype(np.float64)
    ox, oy = old[:, 0].astype(np.float64), old[:, 1].astype(np.float64)
    mox, moy = ox.mean(), oy.mean()
    nx -= nx.mean()
    ny -= ny.mean()
    ox -= mox
    oy -= moy
    cross = np.array([[np.dot(nx, ox), np.dot(nx, oy)], [np.dot(ny, ox), np.dot(ny, oy)]])
    u, s, vt = np.linalg.svd(cross)
    rot = u @ vt
    denom = np.dot(nx, nx) + np.dot(ny, ny)
    scale = s.sum() / denom if denom > 0 else 1.0
    out = np.empty_like(new)
    out[:, 0] = (nx * rot[0, 0] + ny * rot[1, 0]) * scale + mox
    out[:, 1] = (nx * rot[0, 1] + ny * rot[1, 1]) * scale + moy
    return out
