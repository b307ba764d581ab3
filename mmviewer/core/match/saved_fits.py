"""Fitted aligners and their target norms kept in the dataset's store, so a reopen does not
fit (nor project a million targets) again. Only a cache: anything unreadable is fitted again."""

from __future__ import annotations

import numpy as np

from mmviewer.core.align.base import Aligner
from mmviewer.core.align.registry import restore_aligner


def fit_name(store, table, query: str, target: str, method: str, n_fit: int, test_size: float,
             random_state: int) -> str | None:
    """The store file of one fit (None: nothing to keep, or nowhere to keep it)."""
    digest = table.content_digest
    if store is None or not digest or method == "none":
        return None
    return (f"aligners/{digest[:24]}-{query}-{target}-{method}-{n_fit}"
            f"-{test_size:g}-{random_state}.npz")


def load_fit(store, name: str | None) -> Aligner | None:
    arrays = store.read_npz(name) if name else None
    if arrays is None:
        return None
    try:
        return restore_aligner(arrays)
    except (KeyError, ValueError, TypeError):
        return None  # an older or damaged fit: fit again


def save_fit(store, name: str | None, model: Aligner) -> None:
    if name is None:
        return
    try:
        store.write_npz(name, model.state_arrays())
    except OSError:
        pass  # only a cache: the next open fits again


def load_norms(store, name: str | None) -> np.ndarray | None:
    saved = store.read_npz(name[:-4] + "-norms.npz") if name else None
    return None if saved is None else saved.get("norms")


def save_norms(store, name: str | None, norms: np.ndarray) -> None:
    if name is None:
        return
    try:
        store.write_npz(name[:-4] + "-norms.npz", {"norms": norms})
    except OSError:
        pass  # only a cache
