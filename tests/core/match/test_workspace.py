"""Workspace: cross-modal lists with partner ranks, fused lists, methods, line-mode points."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.match.workspace import Workspace


def planted(n=60, seed=0):
    """image and text share a CLIP-like space; audio is a rotated, lower-dim view."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 16))
    image = base + 0.05 * rng.standard_normal((n, 16))
    text = base + 0.05 * rng.standard_normal((n, 16))
    audio = base[:, :12] @ np.linalg.qr(rng.standard_normal((12, 12)))[0] + 0.05 * rng.standard_normal((n, 12))
    ids = [f"i{j}" for j in range(n)]
    present = {m: np.ones(n, bool) for m in ("image", "text", "audio")}
    present["audio"][:3] = False
    audio[:3] = 0
    table = EmbeddingTable(
        np.array(ids, dtype=object),
        {"image": l2_normalise(image), "text": l2_normalise(text), "audio": l2_normalise(audio)},
        present,
        {"image": "clip/ViT-B-32/openai/image", "text": "clip/ViT-B-32/openai/text", "audio": "mfcc40"},
    )
    return table


def test_auto_method_is_zero_shot_only_within_a_shared_space():
    ws = Workspace(planted())
    assert ws.resolve_method("image", "text", "auto") == "none"
    assert ws.resolve_method("audio", "image", "auto") == "cca"
    assert ws.resolve_method("audio", "image", "cca") == "cca"
    assert "zero-shot" in ws.method_reason("image", "text", "auto")
    assert "12-d" in ws.method_reason("audio", "image", "auto")


def test_auto_asks_the_data_not_the_dimensions():
    """Equal dimensions from unrelated models: zero-shot is at chance, so auto learns (issue 12:
    zero-shot image -> text ranked the item's own text 137,455th of 200,000)."""
    rng = np.random.default_rng(1)
    n = 400
    latent = rng.standard_normal((n, 8))
    image = latent @ rng.standard_normal((8, 32)) + 0.1 * rng.standard_normal((n, 32))
    text = latent @ rng.standard_normal((8, 32)) + 0.1 * rng.standard_normal((n, 32))
    t = EmbeddingTable(np.array([f"i{j}" for j in range(n)], dtype=object),
                       {"image": l2_normalise(image), "text": l2_normalise(text)},
                       {"image": np.ones(n, bool), "text": np.ones(n, bool)},
                       {"image": "precomputed:image", "text": "precomputed:text"})
    ws = Workspace(t)
    assert ws.known_method("image", "text", "auto") is None  # not decided until asked
    assert ws.resolve_method("image", "text", "auto") == "cca"
    assert ws.known_method("image", "text", "auto") == "cca"
    assert "different spaces" in ws.method_reason("image", "text", "auto")
    learned = ws.cross_matches(5, "image", "text", "auto", k=10)
    assert learned.partner_rank is not None and learned.partner_rank <= 10


def test_cross_matches_rank_the_true_partner_first():
    t = planted()
    ws = Workspace(t)
    m = ws.cross_matches(10, "text", "image", "auto", k=5)
    assert m.method == "none" and m.rows[0] == 10 and m.partner_rank == 1 and m.is_partner(0)
    assert np.all(np.diff(m.scores) <= 0)
    learned = ws.cross_matches(20, "audio", "image", "auto", k=5)
    assert learned.method == "cca" and learned.partner_rank is not None
    # Items without audio never appear as audio targets; asking from one gives a note.
    to_audio = ws.cross_matches(10, "image", "audio", "ridge", k=59)
    assert not set(to_audio.rows) & {0, 1, 2}
    assert ws.cross_matches(0, "audio", "image", "ridge").note == "this item has no audio"


def test_training_membership_is_reported_and_split_is_seeded():
    ws = Workspace(planted())
    _, train, test = ws.aligner("audio", "image", "ridge")
    assert ws.cross_matches(int(train[0]), "audio", "image", "ridge").in_training
    assert not ws.cross_matches(int(test[0]), "audio", "image", "ridge").in_training
    _, train2, _ = Workspace(planted()).aligner("audio", "image", "ridge")
    assert np.array_equal(train, train2)


def test_similar_excludes_itself_and_follows_weights():
    t = planted()
    ws = Workspace(t)
    a = ws.similar(5, {"image": 1, "text": 1, "audio": 1}, k=10)
    assert 5 not in a.rows and len(a.rows) == 10
    only_image = ws.similar(5, {"image": 1, "text": 0, "audio": 0}, k=3)
    expected = np.argsort(-(t.vectors["image"] @ t.vectors["image"][5]))[1:4]
    assert list(only_image.rows) == list(expected)


def test_fused_matches_use_each_modality_through_its_alignment():
    ws = Workspace(planted())
    m = ws.fused_matches(30, {"image": 0, "text": 1, "audio": 1}, "image", "auto", k=5)
    assert m.rows[0] == 30 and m.partner_rank == 1
    with pytest.raises(ValueError):
        ws.fused_matches(30, {"image": -1}, "image", "auto")


def test_modality_points_cover_every_present_media():
    t = planted()
    vecs, rows, which = Workspace(t).modality_points()
    assert len(vecs) == 60 + 60 + 57
    assert (np.bincount(which) == [60, 60, 57]).all()
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)


def test_too_few_pairs_is_a_clear_error():
    t = planted().subset(np.arange(3, 6))
    with pytest.raises(ValueError, match="at least 4"):
        Workspace(t).aligner("audio", "image", "ridge")


def test_free_query_vector_finds_its_item_through_every_weighted_modality():
    t = planted()
    ws = Workspace(t)
    q = t.vectors["text"][42]
    rows, scores = ws.query_vector(q, "text", {"image": 1, "text": 0, "audio": 0}, "auto", k=3)
    assert rows[0] == 42 and np.all(np.diff(scores) <= 0)
    rows, _ = ws.query_vector(q, "text", {"image": 0, "text": 0, "audio": 1}, "auto", k=3)
    assert 42 in rows  # via the learned text -> audio alignment


def test_symmetric_methods_fit_each_unordered_pair_once():
    ws = Workspace(planted())
    forward, train, _ = ws.aligner("audio", "image", "cca")
    backward, train2, _ = ws.aligner("image", "audio", "cca")
    assert np.array_equal(train, train2)
    x = ws.table.vectors["image"][:5]
    np.testing.assert_allclose(backward.transform_a(x), forward.transform_b(x))
    assert backward.correlations_ is forward.correlations_
    assert ws.aligner("audio", "image", "ridge")[0] is not ws.aligner("image", "audio", "ridge")[0]


def test_pair_metrics_reuse_the_cached_fit_and_equal_a_fresh_evaluation():
    from mmviewer.core.evaluate.evaluation import evaluate, pair_metrics

    t = planted()
    ws = Workspace(t)
    model = ws.aligner("audio", "text", "cca")[0]
    got = pair_metrics(ws, "audio", "text", "auto")
    assert ws.aligner("audio", "text", "cca")[0] is model
    fresh = evaluate(t, "audio", "text", method="cca", test_size=0.3, random_state=0)
    for key in ("recall@1", "recall@10", "mrr", "median_rank", "n_test", "modality_gap"):
        assert got[key] == fresh[key], key


@pytest.mark.parametrize("method", ["none", "procrustes", "ridge", "cca", "contrastive", "mlp"])
def test_pair_scores_equal_the_cosine_of_projected_vectors(method):
    """AlignedPair scores through the raw vectors and target norms; the same figures as
    projecting both sides (for an MLP head, the projection itself)."""
    from mmviewer.core.align.registry import make_aligner
    from mmviewer.core.match.pair import AlignedPair

    t = planted()
    q, tgt = ("image", "text") if method == "none" else ("audio", "image")
    if method == "mlp":
        aligner = make_aligner("contrastive", hidden=8, epochs=5, random_state=0)
    elif method == "contrastive":
        aligner = make_aligner("contrastive", epochs=5, random_state=0)
    else:
        aligner = make_aligner(method)
    both = t.paired(q, tgt)
    aligner.fit(t.vectors[q][both], t.vectors[tgt][both])
    pair = AlignedPair(t, q, tgt, aligner, method)
    rows = np.array([4, 10, 30])
    za = aligner.transform_a(t.vectors[q][rows])
    zb = aligner.transform_b(t.vectors[tgt])
    zb[~t.present[tgt]] = 0
    np.testing.assert_allclose(pair.score_rows(rows), za @ zb.T, atol=2e-5)


def test_one_pass_over_a_target_gives_every_pairs_scores():
    """row_scores reads the target vectors once for pairs of any kind (identity, affine, an MLP
    head) and gives each pair's own score_rows figures; item lists follow them."""
    from mmviewer.core.align.registry import make_aligner
    from mmviewer.core.match.pair import AlignedPair, row_scores

    t = planted()
    both = t.paired("audio", "image")
    pairs = [AlignedPair(t, "image", "image", None, "none"),
             AlignedPair(t, "text", "image", None, "none")]
    for aligner in (make_aligner("cca"), make_aligner("contrastive", hidden=8, epochs=5, random_state=0)):
        aligner.fit(t.vectors["audio"][both], t.vectors["image"][both])
        pairs.append(AlignedPair(t, "audio", "image", aligner, "cca"))
    for row in (5, 40):
        got = row_scores(pairs, row)
        for pair, scores in zip(pairs, got, strict=True):
            np.testing.assert_allclose(scores, pair.score_rows([row])[0], atol=1e-5)
    ws = Workspace(t)
    lists = ws.item_matches(7, "cca", 5)
    for (q, tgt), found in lists.cross.items():
        alone = ws.cross_matches(7, q, tgt, "cca", 5)
        assert list(found.rows) == list(alone.rows), (q, tgt)


def test_fits_use_a_bounded_sample_and_are_found_again_in_the_store(tmp_path, monkeypatch):
    from mmviewer.core.store.embedding_store import EmbeddingStore

    t = planted(n=200)
    t.content_digest = "abc123"
    store = EmbeddingStore.for_dataset(tmp_path)
    ws = Workspace(t, store=store, fit_max_pairs=50)
    model, fitted, test = ws.aligner("audio", "image", "cca")
    train, _ = ws.split("audio", "image")
    assert len(fitted) == 50 and set(fitted) <= set(train) and model.n_pairs_ == 50
    assert ws.cross_matches(int(fitted[0]), "audio", "image", "cca").in_training
    assert not ws.cross_matches(int(sorted(set(train) - set(fitted))[0]), "audio", "image", "cca").in_training
    again = Workspace(t, store=store, fit_max_pairs=50)
    fits = count_fits(monkeypatch)
    loaded = again.aligner("audio", "image", "cca")[0]
    assert fits == []  # the saved fit was used
    x = t.vectors["audio"][5:9]
    np.testing.assert_allclose(loaded.transform_a(x), model.transform_a(x), atol=1e-6)


def count_fits(monkeypatch) -> list:
    """Every aligner fit from now on, as (class name, parameters)."""
    import mmviewer.core.match.workspace as module

    fits, make = [], module.make_aligner

    def counted(method, **params):
        model = make(method, **params)
        real_fit = model.fit

        def fit(xa, xb):
            fits.append((type(model).__name__, model.get_params()))
            return real_fit(xa, xb)
        model.fit = fit
        return model
    monkeypatch.setattr(module, "make_aligner", counted)
    return fits


def test_a_fit_kept_from_other_parameters_or_an_older_fitting_code_is_made_again(tmp_path, monkeypatch):
    from mmviewer.core.align.linear import RidgeAligner
    from mmviewer.core.match import saved_fits
    from mmviewer.core.store.embedding_store import EmbeddingStore

    t = planted(n=120)
    t.content_digest = "def456"
    store = EmbeddingStore.for_dataset(tmp_path)
    Workspace(t, store=store).aligner("audio", "image", "ridge")
    fits = count_fits(monkeypatch)
    Workspace(t, store=store).aligner("audio", "image", "ridge")
    assert fits == []

    # A new default (here: the ridge's alpha) must not reuse the fit made with the old one.
    defaults = RidgeAligner.__init__.__defaults__
    monkeypatch.setattr(RidgeAligner.__init__, "__defaults__", (123.0, *defaults[1:]))
    Workspace(t, store=store).aligner("audio", "image", "ridge")
    assert len(fits) == 1 and 123.0 in fits[0][1].values()

    monkeypatch.setattr(saved_fits, "FIT_FORMAT", saved_fits.FIT_FORMAT + 1)
    Workspace(t, store=store).aligner("audio", "image", "ridge")
    assert len(fits) == 2


def test_item_lists_reuse_the_lists_cosines_for_similar_items_once_fits_are_ready():
    from mmviewer.core.match.lists import SimilarItems
    from mmviewer.core.runtime.generators import run_to_end

    t = planted()
    weights = {"image": 1.0, "text": 0.5, "audio": 2.0}
    ws = Workspace(t)
    first = ws.item_lists(11, "cca", 5)
    early = next(first)  # fits still to come: the similar items come first, on their own
    assert not ws.fits_ready("cca") and early.row == 11
    matches = run_to_end(first)
    assert ws.fits_ready("cca") and matches.row == 11
    shown = list(ws.item_lists(12, "cca", 5))  # fits ready: built from the lists' own scores
    assert len(shown) == 1
    want = SimilarItems(t, 12).matches(weights, 5)
    got = shown[0].matches(weights, 5)
    assert list(got.rows) == list(want.rows)
    np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)
