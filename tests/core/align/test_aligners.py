"""Aligners recover planted relations on held-out pairs; conventions, seeding and errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmviewer.core.align.linear import CCAAligner, ProcrustesAligner
from mmviewer.core.align.registry import ALIGNERS, make_aligner, paired_split
from mmviewer.core.data.table import l2_normalise


def rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def planted(n: int = 300, d: int = 16, db: int | None = None, noise: float = 0.05, seed: int = 0):
    """Unit A vectors; B = A @ R (+ noise), optionally truncated to ``db`` dims."""
    rng = np.random.default_rng(seed)
    xa = l2_normalise(rng.normal(size=(n, d)))
    xb = (xa @ rotation(d, rng))[:, : db or d] + noise * rng.normal(size=(n, db or d))
    return xa, l2_normalise(xb)


def held_out_recall_at_1(aligner, xa, xb, seed=0) -> tuple[float, int]:
    train, test = paired_split(len(xa), 0.3, seed)
    aligner.fit(xa[train], xb[train])
    za, zb = aligner.transform_a(xa[test]), aligner.transform_b(xb[test])
    hits = (za @ zb.T).argmax(axis=1) == np.arange(len(test))
    return float(hits.mean()), len(test)


@pytest.mark.parametrize("method", ["procrustes", "ridge", "cca"])
@pytest.mark.parametrize("db", [16, 11])
def test_linear_aligners_recover_a_planted_rotation(method, db):
    xa, xb = planted(db=db, noise=0.05 if db == 16 else 0.02)
    recall, n_test = held_out_recall_at_1(make_aligner(method), xa, xb)
    assert recall >= 0.9 > 10 / n_test


def test_identity_needs_a_shared_space():
    xa, _ = planted()
    xb = l2_normalise(xa + 0.05 * np.random.default_rng(1).normal(size=xa.shape))
    recall, _ = held_out_recall_at_1(make_aligner("none"), xa, xb)
    assert recall >= 0.95
    xa, xb = planted()  # a rotation: without learning, A and B do not line up
    assert held_out_recall_at_1(make_aligner("none"), xa, xb)[0] < 0.2
    xa, xb = planted(db=11)
    with pytest.raises(ValueError, match="16 dims and B has 11.*procrustes"):
        make_aligner("none").fit(xa, xb)


def test_procrustes_equals_classical_procrustes_for_equal_dims():
    from scipy.linalg import orthogonal_procrustes

    xa, xb = planted(n=80, d=6, noise=0.3, seed=3)
    model = ProcrustesAligner().fit(xa, xb)
    ca, cb = xa - xa.mean(0), xb - xb.mean(0)
    r, _ = orthogonal_procrustes(ca, cb)
    want = l2_normalise(ca @ r) @ l2_normalise(cb).T
    np.testing.assert_allclose(model.transform_a(xa) @ model.transform_b(xb).T, want, atol=1e-5)


def test_cca_correlations_match_an_independent_computation():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(200, 2))
    xa = np.c_[z, rng.normal(size=(200, 3))] @ rng.normal(size=(5, 5))
    xb = np.c_[z + 0.3 * rng.normal(size=(200, 2)), rng.normal(size=(200, 2))] @ rng.normal(size=(4, 4))
    model = CCAAligner(reg=0.0, power=0.0).fit(xa, xb)
    qa, _ = np.linalg.qr(xa - xa.mean(0))
    qb, _ = np.linalg.qr(xb - xb.mean(0))
    want = np.linalg.svd(qa.T @ qb, compute_uv=False)  # cosines of the principal angles
    np.testing.assert_allclose(model.correlations_, want, atol=1e-8)
    assert model.correlations_[1] > 0.9 > 0.3 > model.correlations_[2]
    assert model.transform_a(xa).shape == (200, 4)
    regularised = CCAAligner(n_components=2).fit(xa, xb)
    assert regularised.correlations_.shape == (2,)
    assert (np.diff(regularised.correlations_) <= 0).all()
    # By default, pairs weighing under a thousandth of the first (rho ** power) are dropped.
    pruned = CCAAligner(reg=0.0).fit(xa, xb)
    weight = (want / want[0]) ** 4
    assert len(pruned.correlations_) == int((weight >= 1e-3).sum()) >= 2


@pytest.mark.parametrize("method", sorted(ALIGNERS))
def test_sklearn_conventions_and_normalised_output(method):
    xa, xb = planted(n=40, d=6, seed=5)
    params = {"epochs": 2} if method == "contrastive" else {}
    model = make_aligner(method, **params)
    assert not [k for k in vars(model) if k.endswith("_")]  # __init__ only stores params
    assert model.get_params() == {**make_aligner(method).get_params(), **params}
    assert method in repr(model).lower() or "Identity" in repr(model)
    assert model.fit(xa, xb) is model
    za, zb = model.transform_a(xa), model.transform_b(xb)
    assert za.dtype == zb.dtype == np.float32 and za.shape[1] == zb.shape[1]
    np.testing.assert_allclose(np.linalg.norm(za, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(zb, axis=1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="features"):
        model.transform_a(xa[:, :3])


@pytest.mark.parametrize(
    ("xa", "xb", "message"),
    [
        (np.ones((10, 3)), np.ones((9, 3)), "10 rows but Xb has 9"),
        (np.ones((0, 3)), np.ones((0, 3)), "at least 2 training pairs"),
        (np.full((5, 3), np.nan), np.ones((5, 3)), "NaN"),
        (np.ones(5), np.ones((5, 3)), "2-D"),
    ],
)
def test_fit_rejects_bad_pairs(xa, xb, message):
    for method in ("procrustes", "ridge"):
        with pytest.raises(ValueError, match=message):
            make_aligner(method).fit(xa, xb)


def test_registry_and_parameter_errors():
    with pytest.raises(ValueError, match="unknown alignment method 'magic'"):
        make_aligner("magic")
    with pytest.raises(ValueError, match="no parameter"):
        make_aligner("ridge", temperature=1.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        make_aligner("cca").transform_a(np.ones((2, 2)))
    xa, xb = planted(n=30, d=4)
    with pytest.raises(ValueError, match="n_components"):
        make_aligner("procrustes", n_components=9).fit(xa, xb)
    with pytest.raises(ValueError, match="reg"):
        make_aligner("cca", reg=2.0).fit(xa, xb)
    with pytest.raises(ValueError, match="alpha"):
        make_aligner("ridge", alpha=-1.0).fit(xa, xb)
    assert make_aligner("ridge", alpha=0.5).fit(xa, xb).alpha_ == 0.5
    assert make_aligner("ridge").fit(xa, xb).alpha_ in make_aligner("ridge").alphas


def test_paired_split_is_seeded_disjoint_and_complete():
    train, test = paired_split(10, 0.3, random_state=7)
    assert len(test) == 3 and len(train) == 7
    assert sorted(np.r_[train, test].tolist()) == list(range(10))
    again = paired_split(10, 0.3, random_state=7)
    assert all(np.array_equal(a, b) for a, b in zip((train, test), again, strict=True))
    assert not np.array_equal(test, paired_split(10, 0.3, random_state=8)[1])
    index = np.array([3, 8, 20, 21, 40])
    tr, te = paired_split(index, 2, random_state=0)
    assert len(te) == 2 and set(tr) | set(te) == set(index.tolist()) and not set(tr) & set(te)
    assert len(paired_split(3, 0.01)[1]) == 1 and len(paired_split(3, 0.99)[0]) == 1
    with pytest.raises(ValueError, match="at least 2"):
        paired_split(1)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        paired_split(10, 1.5)
    with pytest.raises(ValueError, match="repeated"):
        paired_split([1, 1, 2])


def test_importing_the_core_does_not_import_torch():
    code = (
        "import sys, mmviewer.core.align.registry, mmviewer.core.evaluate.evaluation;"
        "assert 'torch' not in sys.modules and 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
