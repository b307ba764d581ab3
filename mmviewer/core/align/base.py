"""The aligner base class: scikit-learn conventions shared by every alignment method.

``__init__`` only stores parameters, ``fit(Xa, Xb)`` validates the row-aligned training pairs
and returns ``self``, learned attributes end in ``_``, randomness comes from ``random_state``.
After fitting, ``transform_a`` / ``transform_b`` give L2-normalised float32 rows in a shared
space, so matching there is a cosine / dot product.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from mmviewer.core.data.table import check_vectors, l2_normalise
from mmviewer.core.runtime.cancel import check_cancelled


def _fit_dtype(x: Any) -> type:
    """float32 stays float32 (no float64 copy of 50k pairs: the fits accumulate in float64 block
    by block, see :func:`cross_product`); anything else becomes float64."""
    return np.float32 if getattr(x, "dtype", None) == np.float32 else np.float64


def check_pairs(Xa: Any, Xb: Any, min_pairs: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate row-aligned training pairs; return them as float arrays, float32 kept as it is
    (ValueError if bad)."""
    a, b = check_vectors(Xa, "Xa", _fit_dtype(Xa)), check_vectors(Xb, "Xb", _fit_dtype(Xb))
    if len(a) != len(b):
        raise ValueError(f"Xa has {len(a)} rows but Xb has {len(b)}; row i of each must be one item")
    if len(a) < min_pairs:
        raise ValueError(f"need at least {min_pairs} training pairs, got {len(a)}")
    return a, b


def column_means(x: np.ndarray) -> np.ndarray:
    """Float64 column means of ``x`` (float32 rows are summed in float64)."""
    return x.mean(axis=0, dtype=np.float64)


def cross_product(a: np.ndarray, b: np.ndarray, mean_a: np.ndarray | None = None,
                  mean_b: np.ndarray | None = None, block: int = 8_192) -> np.ndarray:
    """``(a - mean_a).T @ (b - mean_b)`` in float64, summed over row blocks: only a block is
    ever converted and centred (a float64 copy of 50k pairs of 512-d and 560-d vectors was
    ~0.9 GB beside the app's other jobs), and the job can be cancelled between blocks."""
    out = np.zeros((a.shape[1], b.shape[1]), np.float64)
    for start in range(0, len(a), block):
        check_cancelled()
        xa = np.asarray(a[start : start + block], np.float64)
        xb = xa if b is a and mean_b is mean_a else np.asarray(b[start : start + block], np.float64)
        if mean_a is not None:
            xa = xa - mean_a
        if mean_b is not None:
            xb = xa if b is a and mean_b is mean_a else xb - mean_b
        out += xa.T @ xb
    return out


class Aligner:
    """Base class: parameter handling, input checks and the shared-space helpers."""

    #: smallest number of training pairs ``fit`` accepts
    min_pairs = 2
    #: Both transforms are affine (``X @ W + c``): a matched pair can then be scored against
    #: every item through the raw vectors, with no projected copy of a modality (see
    #: :meth:`affine_map` and :class:`mmviewer.core.match.pair.AlignedPair`).
    is_affine = True

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters as a dict (``deep`` is accepted for scikit-learn parity)."""
        return {p: getattr(self, p) for p in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fit(self, Xa: Any, Xb: Any) -> Aligner:
        """Learn the alignment from row-aligned pairs ``(Xa[i], Xb[i])``; returns ``self``."""
        a, b = check_pairs(Xa, Xb, self.min_pairs)
        self.n_features_a_, self.n_features_b_ = a.shape[1], b.shape[1]
        self.n_pairs_ = len(a)
        self._fit(a, b)
        return self

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_input(self, X: Any, side: str) -> np.ndarray:
        if not hasattr(self, "n_features_a_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(Xa, Xb) first")
        x = check_vectors(X, f"X{side}", np.float64)
        want = self.n_features_a_ if side == "a" else self.n_features_b_
        if x.shape[1] != want:
            raise ValueError(f"X{side} has {x.shape[1]} features, the aligner was fitted on {want}")
        return x

    def transform_a(self, Xa: Any) -> np.ndarray:
        """Map modality-A rows into the shared space (L2-normalised float32)."""
        return self._transform_rows(Xa, "a")

    def transform_b(self, Xb: Any) -> np.ndarray:
        """Map modality-B rows into the shared space (L2-normalised float32)."""
        return self._transform_rows(Xb, "b")

    def _transform_rows(self, X: Any, side: str, block: int = 8_192) -> np.ndarray:
        # Block by block: the float64 arithmetic never holds more than a block of rows.
        x = np.asarray(X)
        if x.ndim != 2 or len(x) <= block:
            f = self._transform_a if side == "a" else self._transform_b
            return l2_normalise(f(self._check_input(x, side)))
        parts = [self._transform_rows(x[start : start + block], side, block)
                 for start in range(0, len(x), block)]
        return np.concatenate(parts)

    def _transform_a(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform_b(self, b: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def affine_map(self, side: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``(W, c)`` with ``transform_<side>(X) = normalise(X @ W + c)``, float32, or None when
        the transform is not affine. Read off the transform itself (its value at 0 and at the
        unit vectors), so every affine aligner gets it without code of its own."""
        if not self.is_affine:
            return None
        d = self.n_features_a_ if side == "a" else self.n_features_b_
        f = self._transform_a if side == "a" else self._transform_b
        c = np.asarray(f(np.zeros((1, d))), np.float64)[0]
        w = np.asarray(f(np.eye(d)), np.float64) - c
        return w.astype(np.float32), c.astype(np.float32)

    # -- persistence (no pickle: plain arrays) --------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as named arrays (with the class and parameters), for ``np.savez``;
        :func:`mmviewer.core.align.registry.restore_aligner` rebuilds the aligner."""
        import json

        out = {"__class__": np.array(type(self).__name__),
               "__params__": np.array(json.dumps(self.get_params()))}
        for name, value in vars(self).items():
            if not name.endswith("_") or name.startswith("_"):
                continue
            if isinstance(value, np.ndarray):
                out[name] = value
            elif isinstance(value, (bool, int, float, np.number)):
                out[name] = np.array(value)
            elif isinstance(value, list) and all(isinstance(t, tuple) for t in value):
                for i, layer in enumerate(value):  # e.g. a contrastive head's (W, b) layers
                    for j, part in enumerate(layer):
                        out[f"{name}@{i}@{j}"] = np.asarray(part)
        return out

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> Aligner:
        """Restore what :meth:`state_arrays` wrote; returns ``self``."""
        layers: dict[str, dict[int, dict[int, np.ndarray]]] = {}
        for key, value in arrays.items():
            if key.startswith("__"):
                continue
            if "@" in key:
                name, i, j = key.split("@")
                layers.setdefault(name, {}).setdefault(int(i), {})[int(j)] = value
            elif value.ndim == 0:
                setattr(self, key, value.item())
            else:
                setattr(self, key, value)
        for name, by_layer in layers.items():
            setattr(self, name, [tuple(parts[j] for j in sorted(parts)) for _, parts in sorted(by_layer.items())])
        return self
