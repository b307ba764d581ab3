"""Learned cross-modal alignment: map modality A (queries) and B (targets) into one space.

Every aligner follows scikit-learn conventions: ``__init__`` only stores parameters, ``fit(Xa, Xb)``
validates the row-aligned training pairs and returns ``self``, learned attributes end in ``_``,
and randomness comes from ``random_state``. After fitting, ``transform_a`` / ``transform_b`` give
L2-normalised float32 rows in a shared space, so matching there is a cosine / dot product.

Fit only on training pairs: :func:`paired_split` gives a seeded train/test split of paired items.

Methods (see :func:`make_aligner`): ``none`` (identity), ``procrustes``, ``ridge``, ``cca``,
``contrastive`` (torch, imported lazily inside ``fit``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmviewer.core.embeddings import l2_normalise
from mmviewer.core.matching import check_vectors


def check_pairs(Xa: Any, Xb: Any, min_pairs: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate row-aligned training pairs; return them as float64 arrays (ValueError if bad)."""
    a, b = check_vectors(Xa, "Xa", np.float64), check_vectors(Xb, "Xb", np.float64)
    if len(a) != len(b):
        raise ValueError(f"Xa has {len(a)} rows but Xb has {len(b)}; row i of each must be one item")
    if len(a) < min_pairs:
        raise ValueError(f"need at least {min_pairs} training pairs, got {len(a)}")
    return a, b


class Aligner:
    """Base class: parameter handling, input checks and the shared-space helpers."""

    #: smallest number of training pairs ``fit`` accepts
    min_pairs = 2

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
        return l2_normalise(self._transform_a(self._check_input(Xa, "a")))

    def transform_b(self, Xb: Any) -> np.ndarray:
        """Map modality-B rows into the shared space (L2-normalised float32)."""
        return l2_normalise(self._transform_b(self._check_input(Xb, "b")))

    def _transform_a(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform_b(self, b: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class IdentityAligner(Aligner):
    """``none``: A and B already share a space (e.g. CLIP image and text); only normalises."""

    def __init__(self) -> None:
        pass

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:
        if a.shape[1] != b.shape[1]:
            raise ValueError(
                f"method 'none' needs both modalities in one space, but A has {a.shape[1]} dims "
                f"and B has {b.shape[1]}; use a learned method "
                "('procrustes', 'ridge', 'cca' or 'contrastive')"
            )

    def _transform_a(self, a: np.ndarray) -> np.ndarray:
        return a

    def _transform_b(self, b: np.ndarray) -> np.ndarray:
        return b


class _Projections(Aligner):
    """Shared transform of the linear two-sided methods: ``(X - mean_) @ components_``."""

    def _transform_a(self, a: np.ndarray) -> np.ndarray:
        return (a - self.mean_a_) @ self.components_a_

    def _transform_b(self, b: np.ndarray) -> np.ndarray:
        return (b - self.mean_b_) @ self.components_b_

    def _n_components(self, a: np.ndarray, b: np.ndarray) -> int:
        kmax = min(a.shape[1], b.shape[1])
        k = kmax if self.n_components is None else int(self.n_components)
        if not 1 <= k <= kmax:
            raise ValueError(f"n_components must be in [1, {kmax}], got {self.n_components}")
        return k


class ProcrustesAligner(_Projections):
    """Orthogonal Procrustes, generalised to different dimensions.

    Centres both sides on the training means, takes the SVD ``Xa^T Xb = U S V^T`` and maps
    A by ``U_k``, B by ``V_k`` into a k-dim shared space. With equal dims and ``k = d`` this is
    classical orthogonal Procrustes ``Xa R``, ``R = U V^T`` (up to a common rotation, which
    leaves cosines unchanged). With ``d_a != d_b`` (``k = min(d_a, d_b)``) ``U V^T`` is the
    semi-orthogonal map closest to the cross-covariance, expressed in its singular bases.

    Parameters
    ----------
    n_components : int, optional
        ``k``; default ``min(d_a, d_b)``.
    center : bool
        Subtract the training means first (removes the constant offset between modalities).
    """

    def __init__(self, n_components: int | None = None, center: bool = True) -> None:
        self.n_components = n_components
        self.center = center

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:
        k = self._n_components(a, b)
        self.mean_a_ = a.mean(axis=0) * bool(self.center)
        self.mean_b_ = b.mean(axis=0) * bool(self.center)
        u, s, vt = np.linalg.svd((a - self.mean_a_).T @ (b - self.mean_b_), full_matrices=False)
        self.components_a_, self.components_b_ = u[:, :k], vt[:k].T
        self.singular_values_ = s[:k]


class RidgeAligner(Aligner):
    """Ridge regression from A to B (squared-distance minimisation); the shared space is B's.

    Parameters
    ----------
    alpha : float, optional
        L2 penalty. When omitted it is chosen from ``alphas`` by efficient leave-one-out
        cross-validation on the training pairs (``sklearn.linear_model.RidgeCV``).
    alphas : sequence of float
    fit_intercept : bool
    """

    def __init__(
        self,
        alpha: float | None = None,
        alphas: Sequence[float] = (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0),
        fit_intercept: bool = True,
    ) -> None:
        self.alpha = alpha
        self.alphas = alphas
        self.fit_intercept = fit_intercept

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:
        from sklearn.linear_model import Ridge, RidgeCV

        alphas = np.atleast_1d(np.asarray(self.alphas if self.alpha is None else self.alpha, float))
        if alphas.size == 0 or not (alphas > 0).all():
            raise ValueError(f"alpha(s) must be > 0, got {self.alpha if self.alpha else self.alphas}")
        if self.alpha is None:
            model = RidgeCV(alphas=alphas, fit_intercept=self.fit_intercept).fit(a, b)
        else:
            model = Ridge(alpha=alphas[0], fit_intercept=self.fit_intercept).fit(a, b)
        self.alpha_ = float(getattr(model, "alpha_", alphas[0]))
        self.coef_ = np.asarray(model.coef_).reshape(b.shape[1], a.shape[1])
        self.intercept_ = np.broadcast_to(np.asarray(model.intercept_, float), b.shape[1]).copy()

    def _transform_a(self, a: np.ndarray) -> np.ndarray:
        return a @ self.coef_.T + self.intercept_

    def _transform_b(self, b: np.ndarray) -> np.ndarray:
        return b


def _inv_sqrt(cov: np.ndarray, reg: float) -> np.ndarray:
    """``C_r^(-1/2)`` of the shrunk covariance ``C_r = (1 - reg) C + reg * mean(diag C) * I``."""
    mu = max(float(np.trace(cov)) / len(cov), 1e-12)
    vals, vecs = np.linalg.eigh((1.0 - reg) * cov + reg * mu * np.eye(len(cov)))
    return (vecs / np.sqrt(np.maximum(vals, 1e-12 * mu))) @ vecs.T


class CCAAligner(_Projections):
    """Regularised canonical correlation analysis, closed form (whitening + SVD).

    Both covariances are shrunk towards ``mean(diag) * I`` by ``reg`` and whitened; the SVD of
    the whitened cross-covariance gives canonical directions and correlations. Unlike the
    iterative NIPALS of ``sklearn.cross_decomposition.CCA`` this is fast at 512 x 512 and
    well-posed with fewer pairs than dimensions.

    Parameters
    ----------
    n_components : int, optional
        Canonical pairs kept; default ``min(d_a, d_b)``.
    reg : float in [0, 1]
        Covariance shrinkage.
    power : float
        Canonical coordinate ``k`` is scaled by ``rho_k ** (power / 2)`` on both sides, so the
        shared-space dot product weights it by ``rho_k ** power`` (0: unweighted CCA, which
        lets the many weakly correlated directions swamp retrieval; cf. Gong et al. 2014).

    Attributes
    ----------
    correlations_ : (k,) array
        Canonical correlations of the regularised problem on the training pairs, descending.
    """

    def __init__(self, n_components: int | None = None, reg: float = 0.3, power: float = 4.0) -> None:
        self.n_components = n_components
        self.reg = reg
        self.power = power

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:
        if not 0.0 <= float(self.reg) <= 1.0:
            raise ValueError(f"reg must be in [0, 1], got {self.reg}")
        k = self._n_components(a, b)
        self.mean_a_, self.mean_b_ = a.mean(axis=0), b.mean(axis=0)
        a, b = a - self.mean_a_, b - self.mean_b_
        n1 = max(len(a) - 1, 1)
        wa, wb = _inv_sqrt(a.T @ a / n1, float(self.reg)), _inv_sqrt(b.T @ b / n1, float(self.reg))
        u, s, vt = np.linalg.svd(wa @ (a.T @ b / n1) @ wb, full_matrices=False)
        self.correlations_ = np.clip(s[:k], 0.0, 1.0)
        scale = self.correlations_ ** (float(self.power) / 2.0)
        self.components_a_, self.components_b_ = wa @ u[:, :k] * scale, wb @ vt[:k].T * scale


# Defined in its own module (torch training loop); imported here for the registry.
from mmviewer.core.contrastive import ContrastiveAligner  # noqa: E402

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
