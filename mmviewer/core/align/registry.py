"""Learned cross-modal alignment: map modality A (queries) and B (targets) into one space.

Every aligner (see :mod:`mmviewer.core.align.base`) follows scikit-learn conventions: ``__init__`` only stores parameters, ``fit(Xa, Xb)``
validates the row-aligned training pairs and returns ``self``, learned attributes end in ``_``,
and randomness comes from ``random_state``. After fitting, ``transform_a`` / ``transform_b`` give
L2-normalised float32 rows in a shared space, so matching there is a cosine / dot product.

Fit only on training pairs: :func:`paired_split` gives a seeded train/test split of paired items.

Methods (see :func:`make_aligner`): ``none`` (identity), ``procrustes``, ``ridge``, ``cca``,
``contrastive`` (torch, imported lazily inside ``fit``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmviewer.core.align.base import Aligner
from mmviewer.core.align.contrastive import ContrastiveAligner
from mmviewer.core.align.linear import CCAAligner, IdentityAligner, ProcrustesAligner, RidgeAligner

ALIGNERS: dict[str, type[Aligner]] = {
    "none": IdentityAligner,
    "procrustes": ProcrustesAligner,
    "ridge": RidgeAligner,
    "cca": CCAAligner,
    "contrastive": ContrastiveAligner,
}


#: Methods whose fit on (A, B) is also the fit on (B, A) with the sides swapped.
SYMMETRIC = frozenset({"none", "procrustes", "cca", "contrastive"})


class SwappedAligner(Aligner):
    """A fitted aligner viewed from the other side: B -> A reuses an A -> B fit (symmetric
    methods only), so the app fits each unordered pair once."""

    def __init__(self, base: Aligner) -> None:
        self.base = base

    def fit(self, Xa: Any, Xb: Any) -> Aligner:
        self.base.fit(Xb, Xa)
        return self

    def transform_a(self, Xa: Any) -> np.ndarray:
        return self.base.transform_b(Xa)

    def transform_b(self, Xb: Any) -> np.ndarray:
        return self.base.transform_a(Xb)

    def __getattr__(self, name: str) -> Any:  # learned attributes (correlations_, alpha_, ...)
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {**self.base.get_params(deep), "swapped": True}

    def affine_map(self, side: str):
        return self.base.affine_map("b" if side == "a" else "a")


def make_aligner(name: str, **params: Any) -> Aligner:
    """Build an aligner by registry name.

    Parameters
    ----------
    name : {'none', 'procrustes', 'ridge', 'cca', 'contrastive'}
    **params
        Constructor parameters of that aligner.

    Raises
    ------
    ValueError
        Unknown name, or a parameter the aligner does not take.
    """
    try:
        cls = ALIGNERS[name]
    except KeyError:
        raise ValueError(f"unknown alignment method {name!r}; choose from {sorted(ALIGNERS)}") from None
    valid = cls._param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"method {name!r} takes no parameter(s) {unknown}; valid: {valid}")
    return cls(**params)


def restore_aligner(arrays: dict[str, np.ndarray]) -> Aligner:
    """The aligner :meth:`Aligner.state_arrays` described (ValueError when it cannot be)."""
    import json

    name = str(arrays["__class__"])
    cls = next((c for c in ALIGNERS.values() if c.__name__ == name), None)
    if cls is None:
        raise ValueError(f"unknown aligner class {name!r}")
    params = json.loads(str(arrays["__params__"]))
    return cls(**{k: v for k, v in params.items() if k in cls._param_names()}).load_state_arrays(arrays)


def sample_rows(rows: np.ndarray, limit: int | None, random_state: int | None = 0) -> np.ndarray:
    """``rows`` when there are at most ``limit`` of them, else a seeded sample of ``limit``,
    sorted: how fits and evaluations stay bounded on a million items."""
    rows = np.asarray(rows)
    if limit is None or len(rows) <= int(limit):
        return rows
    return np.sort(np.random.default_rng(random_state).choice(rows, int(limit), replace=False))


def paired_split(
    n_or_index: int | Sequence[int] | np.ndarray,
    test_size: float | int = 0.3,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test split of paired items.

    Parameters
    ----------
    n_or_index : int or array of int
        Number of pairs (indices ``0..n-1``) or the item indices that have both modalities.
    test_size : float in (0, 1) or int
        Share or number of pairs held out; at least one pair ends up on each side.
    random_state : int, Generator or None

    Returns
    -------
    train, test : int64 arrays
        Disjoint, each sorted ascending, together the whole input.
    """
    if isinstance(n_or_index, (int, np.integer)):
        index = np.arange(int(n_or_index), dtype=np.int64)
    else:
        index = np.asarray(n_or_index)
        if index.ndim != 1 or (index.size and index.dtype.kind not in "iu"):
            raise ValueError("n_or_index must be a count or a 1-D array of integer indices")
        index = index.astype(np.int64)
        if len(np.unique(index)) != len(index):
            raise ValueError("n_or_index contains repeated indices")
    n = len(index)
    if n < 2:
        raise ValueError(f"need at least 2 pairs to split into train and test, got {n}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < float(test_size) < 1.0:
            raise ValueError(f"test_size as a share must be in (0, 1), got {test_size}")
        n_test = int(math.ceil(float(test_size) * n))
    else:
        n_test = int(test_size)
    n_test = min(max(n_test, 1), n - 1)
    perm = np.random.default_rng(random_state).permutation(n)
    return np.sort(index[perm[n_test:]]), np.sort(index[perm[:n_test]])
