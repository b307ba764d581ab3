"""Fitted aligners and their target norms kept in the dataset's store, so a reopen does not
fit (nor project a million targets) again. Only a cache: anything unreadable is fitted again."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from mmviewer.core.align.base import Aligner
from mmviewer.core.align.registry import restore_aligner

#: Bump when an aligner's fit changes without a change of its parameters: every fit kept in a
#: store is then made again instead of being reused.
FIT_FORMAT = 2


def fit_name(store, table, query: str, target: str, method: str, n_fit: int, test_size: float,
             random_state: int, params: dict) -> str | None:
    """The store file of one fit (None: nothing to keep, or nowhere to keep it). It names the
    aligner's parameters (a digest) and :data:`FIT_FORMAT`, so a fit made with other defaults
    or by an older fitting code is never taken for this one."""
    digest = table.content_digest
    if store is None or not digest or method == "none":
        return None
    made_by = json.dumps({"format": FIT_FORMAT, "params": params}, sort_keys=True, default=str)
    tag = hashlib.sha256(made_by.encode()).hexdigest()[:10]
    return (f"aligners/{digest[:24]}-{query}-{target}-{method}-{n_fit}"
            f"-{test_size:g}-{random_state}-{tag}.npz")


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
