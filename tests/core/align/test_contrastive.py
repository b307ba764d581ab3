"""The contrastive head: starts at CCA, fine-tunes only on a validated gain, never loses to CCA
on held-out pairs; seeded, cancellable, persistable, affine."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.align.contrastive import ContrastiveAligner
from mmviewer.core.align.linear import CCAAligner
from mmviewer.core.align.registry import make_aligner, paired_split, restore_aligner
from mmviewer.core.data.table import l2_normalise
from mmviewer.core.runtime.cancel import Cancelled, CancelToken, running_with


def two_models(n: int, da: int = 32, db: int = 24, latent: int = 16, seed: int = 0):
    """Two unrelated "encoders" of one class-structured latent (class centre + item detail), each
    seeing it through noise of its own, as ``benchmarks/datasets/make_table.py`` builds them:
    CCA recovers the pairs imperfectly. Returns unit A and B vectors."""
    rng = np.random.default_rng(seed)
    centres = 1.5 * rng.standard_normal((10, latent))
    z = centres[rng.integers(0, 10, n)] + 0.6 * rng.standard_normal((n, latent))
    out = []
    for d in (da, db):
        w = rng.standard_normal((latent, d)) / np.sqrt(latent)
        out.append(l2_normalise((z + 0.3 * rng.standard_normal((n, latent))) @ w
                                + 0.35 * rng.standard_normal((n, d))))
    return out


def held_out_recall(model, xa, xb, seed: int = 0) -> float:
    train, test = paired_split(len(xa), 0.3, seed)
    model.fit(xa[train], xb[train])
    sim = model.transform_a(xa[test]) @ model.transform_b(xb[test]).T
    return float((sim.argmax(axis=1) == np.arange(len(test))).mean())


def test_zero_epochs_is_cca_itself():
    xa, xb = two_models(400)
    head = ContrastiveAligner(n_components=10, epochs=0, random_state=0).fit(xa, xb)
    cca = CCAAligner(n_components=10).fit(xa, xb)
    np.testing.assert_allclose(head.transform_a(xa[:20]), cca.transform_a(xa[:20]), atol=1e-5)
    np.testing.assert_allclose(head.transform_b(xb[:20]), cca.transform_b(xb[:20]), atol=1e-5)
    assert head.best_epoch_ == head.n_epochs_ == 0 and len(head.history_["val_mrr"]) == 1


def test_at_least_as_good_as_cca_on_held_out_pairs():
    """The regression guard of issue 14: on a planted problem the head is never worse than CCA,
    here InfoNCE fine-tuning gains clearly over its CCA start (validated, so kept), and a random
    start (the old head) loses to CCA within as many epochs."""
    xa, xb = two_models(1500)
    cca = held_out_recall(CCAAligner(), xa, xb)
    model = ContrastiveAligner(random_state=0)
    head = held_out_recall(model, xa, xb)
    assert cca > 0.2  # well above chance (1/450): a real, imperfect alignment
    assert head >= cca - 0.01
    assert head > cca + 0.05 and model.best_epoch_ >= 1  # measured: 0.57 against 0.39
    assert model.validation_mrr_ > model.history_["val_mrr"][0]
    old = held_out_recall(ContrastiveAligner(init="random", reg=1.0, temperature=0.07, epochs=30,
                                             validation_fraction=0.0, random_state=0), xa, xb)
    assert old < cca - 0.02


def test_fine_tuning_is_kept_only_on_a_validated_gain():
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(300, 12)), rng.normal(size=(300, 10))  # nothing to learn
    head = ContrastiveAligner(epochs=15, patience=15, lr=1e-2, random_state=0).fit(xa, xb)
    assert head.best_epoch_ == 0 and head.n_epochs_ == 15  # training-loss gains are noise
    assert len(head.history_["train_loss"]) == 15 and len(head.history_["val_mrr"]) == 16
    assert head.validation_mrr_ == head.history_["val_mrr"][0]


def test_seeded_and_leaves_the_global_torch_rng_alone():
    import torch

    xa, xb = two_models(600)
    before = torch.random.get_rng_state().clone()
    one = ContrastiveAligner(epochs=4, patience=4, random_state=5).fit(xa, xb)
    assert torch.equal(before, torch.random.get_rng_state())
    two = ContrastiveAligner(epochs=4, patience=4, random_state=5).fit(xa, xb)
    np.testing.assert_array_equal(one.transform_a(xa[:5]), two.transform_a(xa[:5]))
    assert one.history_ == two.history_
    mlp = ContrastiveAligner(hidden=16, n_components=8, epochs=3, random_state=1).fit(xa, xb)
    assert mlp.transform_b(xb[:3]).shape == (3, 8) and mlp.affine_map("a") is None


def test_persisted_heads_restore_and_stay_affine():
    xa, xb = two_models(600)
    head = ContrastiveAligner(n_components=6, epochs=3, random_state=0).fit(xa, xb)
    again = restore_aligner(head.state_arrays())
    np.testing.assert_allclose(again.transform_a(xa[:9]), head.transform_a(xa[:9]), atol=1e-6)
    np.testing.assert_allclose(again.transform_b(xb[:9]), head.transform_b(xb[:9]), atol=1e-6)
    w, c = head.affine_map("b")
    np.testing.assert_allclose(l2_normalise(xb[:9] @ w + c), head.transform_b(xb[:9]), atol=1e-5)
    old = {k: v for k, v in head.state_arrays().items() if k != "whitened_"}
    with pytest.raises(ValueError, match="older version"):
        restore_aligner(old)  # the store then fits again


def test_cancelled_within_an_epoch():
    xa, xb = two_models(600)
    token = CancelToken()
    token.cancel()
    with running_with(token), pytest.raises(Cancelled):
        ContrastiveAligner(random_state=0).fit(xa, xb)


@pytest.mark.parametrize(("params", "message"), [
    ({"init": "pca"}, "init must be"),
    ({"n_components": 40}, r"n_components must be in \[1, 24\]"),
    ({"temperature": 0.0}, "temperature must be > 0"),
    ({"reg": 1.5}, "reg must be"),
])
def test_parameter_errors(params, message):
    xa, xb = two_models(50)
    with pytest.raises(ValueError, match=message):
        make_aligner("contrastive", **params).fit(xa, xb)
