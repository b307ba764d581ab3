"""Closed-form linear aligners: identity (``none``), orthogonal Procrustes, ridge, regularised CCA.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmviewer.core.align.base import Aligner, column_means, cross_product


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
        self.mean_a_ = column_means(a) * bool(self.center)
        self.mean_b_ = column_means(b) * bool(self.center)
        u, s, vt = np.linalg.svd(cross_product(a, b, self.mean_a_, self.mean_b_), full_matrices=False)
        self.components_a_, self.components_b_ = u[:, :k], vt[:k].T
        self.singular_values_ = s[:k]


#: Pairs on which ridge chooses its penalty by leave-one-out cross-validation.
ALPHA_SEARCH_PAIRS = 8_192


class RidgeAligner(Aligner):
    """Ridge regression from A to B (squared-distance minimisation); the shared space is B's.

    Parameters
    ----------
    alpha : float, optional
        L2 penalty. When omitted it is chosen from ``alphas`` by efficient leave-one-out
        cross-validation (``sklearn.linear_model.RidgeCV``) on at most ``ALPHA_SEARCH_PAIRS``
        of the training pairs; the fit then uses them all.
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
        from sklearn.linear_model import RidgeCV

        alphas = np.atleast_1d(np.asarray(self.alphas if self.alpha is None else self.alpha, float))
        if alphas.size == 0 or not (alphas > 0).all():
            raise ValueError(f"alpha(s) must be > 0, got {self.alpha if self.alpha else self.alphas}")
        if self.alpha is None and len(alphas) > 1:
            # Leave-one-out errors are kept per pair, target and alpha: on 50k pairs of 560-d
            # targets that took ~2 GB and over a minute. The penalty is chosen on a seeded
            # sample of pairs (it hardly moves with more), the fit then uses every pair.
            pick = a, b
            if len(a) > ALPHA_SEARCH_PAIRS:
                rows = np.random.default_rng(0).choice(len(a), ALPHA_SEARCH_PAIRS, replace=False)
                pick = a[rows], b[rows]
            pick = tuple(np.asarray(x, np.float64) for x in pick)
            alphas = [RidgeCV(alphas=alphas, fit_intercept=self.fit_intercept).fit(*pick).alpha_]
        self.alpha_ = float(alphas[0])
        # The fit on every pair: the normal equations (what sklearn's Ridge solves by Cholesky
        # here), built block by block in float64 instead of on float64 copies of all pairs.
        mean_a = column_means(a) if self.fit_intercept else None
        mean_b = column_means(b) if self.fit_intercept else None
        gram = cross_product(a, a, mean_a, mean_a)
        gram[np.diag_indices_from(gram)] += self.alpha_
        self.coef_ = np.linalg.solve(gram, cross_product(a, b, mean_a, mean_b)).T
        self.intercept_ = (mean_b - mean_a @ self.coef_.T if self.fit_intercept
                           else np.zeros(b.shape[1]))

    def _transform_a(self, a: np.ndarray) -> np.ndarray:
        return a @ self.coef_.T + self.intercept_

    def _transform_b(self, b: np.ndarray) -> np.ndarray:
        return b


def _inv_sqrt(cov: np.ndarray, reg: float) -> np.ndarray:
    """``C_r^(-1/2)`` of the shrunk covariance ``C_r = (1 - reg) C + reg * mean(diag C) * I``."""
    mu = max(float(np.trace(cov)) / len(cov), 1e-12)
    vals, vecs = np.linalg.eigh((1.0 - reg) * cov + reg * mu * np.eye(len(cov)))
    return (vecs / np.sqrt(np.maximum(vals, 1e-12 * mu))) @ vecs.T


def cca_solution(a: np.ndarray, b: np.ndarray, reg: float, mean_a: np.ndarray | None = None,
                 mean_b: np.ndarray | None = None):
    """Regularised CCA of the pairs centred on ``mean_a``/``mean_b`` (None: already centred):
    ``(wa, wb, u, s, vt)`` with ``wa``/``wb`` the shrunk whitening matrices and ``u s vt`` the
    SVD of the whitened cross-covariance (the canonical directions are ``wa @ u`` and
    ``wb @ vt.T``, the correlations ``s``). Cancellable."""
    n1 = max(len(a) - 1, 1)
    wa = _inv_sqrt(cross_product(a, a, mean_a, mean_a) / n1, reg)
    wb = _inv_sqrt(cross_product(b, b, mean_b, mean_b) / n1, reg)
    u, s, vt = np.linalg.svd(wa @ (cross_product(a, b, mean_a, mean_b) / n1) @ wb,
                             full_matrices=False)
    return wa, wb, u, s, vt


class CCAAligner(_Projections):
    """Regularised canonical correlation analysis, closed form (whitening + SVD).

    Both covariances are shrunk towards ``mean(diag) * I`` by ``reg`` and whitened; the SVD of
    the whitened cross-covariance gives canonical directions and correlations. Unlike the
    iterative NIPALS of ``sklearn.cross_decomposition.CCA`` this is fast at 512 x 512 and
    well-posed with fewer pairs than dimensions.

    Parameters
    ----------
    n_components : int, optional
        Canonical pairs kept. By default every pair whose weight ``rho_k ** power`` is at least
        ``MIN_WEIGHT`` of the first's (the others change no ranking measurably, and each kept
        one costs a column in every score of a million items).
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

    #: Relative weight under which a canonical pair is dropped (when n_components is None).
    MIN_WEIGHT = 1e-3

    def __init__(self, n_components: int | None = None, reg: float = 0.3, power: float = 4.0) -> None:
        self.n_components = n_components
        self.reg = reg
        self.power = power

    def _fit(self, a: np.ndarray, b: np.ndarray) -> None:
        if not 0.0 <= float(self.reg) <= 1.0:
            raise ValueError(f"reg must be in [0, 1], got {self.reg}")
        k = self._n_components(a, b)
        self.mean_a_, self.mean_b_ = column_means(a), column_means(b)
        wa, wb, u, s, vt = cca_solution(a, b, float(self.reg), self.mean_a_, self.mean_b_)
        rho = np.clip(s[:k], 0.0, 1.0)
        if self.n_components is None and float(self.power) > 0 and rho[0] > 0:
            k = max(1, int(np.count_nonzero((rho / rho[0]) ** float(self.power) >= self.MIN_WEIGHT)))
        self.correlations_ = rho[:k]
        scale = self.correlations_ ** (float(self.power) / 2.0)
        self.components_a_, self.components_b_ = wa @ u[:, :k] * scale, wb @ vt[:k].T * scale
