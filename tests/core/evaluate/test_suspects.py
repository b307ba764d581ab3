"""Suspects on planted tables with known swaps: ranking, odd modality, cross-fitting, robustness,
every aligner, progress and cancellation."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.data.table import EmbeddingTable
from mmviewer.core.evaluate import suspects as sus
from mmviewer.core.evaluate.suspects import crossfit
from mmviewer.core.match.workspace import Workspace
from mmviewer.core.runtime.cancel import Cancelled, CancelToken, running_with
from tests.planted import planted_table

#: (row, row) pairs swapped; planted labels are row % 3, so each swap crosses labels.
SWAPS = [(4, 8), (10, 20), (31, 62), (100, 150)]
SWAPPED = {r for pair in SWAPS for r in pair}


def swapped_table(modality: str = "audio", n: int = 240, seed: int = 0) -> EmbeddingTable:
    t = planted_table(n, seed)
    for i, j in SWAPS:
        t.vectors[modality][[i, j]] = t.vectors[modality][[j, i]]
    return t


def top_rows(found: sus.Suspicion, k: int) -> set[int]:
    return {int(r) for r in found.order()[:k]}


@pytest.mark.parametrize("modality", ["audio", "text", "image"])
def test_swaps_rank_first_with_their_odd_modality(modality):
    t = swapped_table(modality)
    found = sus.find_suspects(Workspace(t), "auto")
    assert top_rows(found, len(SWAPPED)) == SWAPPED
    assert {found.odd[r] for r in SWAPPED} == {modality}
    assert found.flagged()[sorted(SWAPPED)].all()
    # the swapped media would rather belong to the item they were taken from
    partner = {i: j for a, b in SWAPS for i, j in ((a, b), (b, a))}
    assert all(found.rather[r] == partner[r] for r in SWAPPED)
    assert found.flagged().sum() <= len(SWAPPED) + 2


def test_suspicion_shape_and_entries():
    t = swapped_table()
    found = sus.find_suspects(Workspace(t), "auto", folds=4)
    n = t.n_items
    assert found.ids.shape == found.score.shape == found.odd.shape == found.rather.shape == (n,)
    assert found.score.dtype == np.float32 and found.rather.dtype == np.int64
    assert set(found.pairs) == {"image:text", "audio:image", "audio:text"}
    assert np.isnan(found.pairs["audio:image"][0]) and not np.isnan(found.score[0])  # row 0 lacks audio
    assert found.folds == 4 and found.method == "image:text=none, audio:image=cca, audio:text=cca"
    entries = found.entries(5)
    assert [e["id"] for e in entries] == [str(t.ids[r]) for r in found.order()[:5]]
    first = entries[0]
    assert set(first) == {"id", "score", "modality", "pairs", "rather"}
    assert first["modality"] == "audio" and first["rather"] in {str(t.ids[r]) for r in SWAPPED}
    assert all(a["score"] >= b["score"] for a, b in zip(entries, entries[1:], strict=False))
    no_audio = next(e for e in found.entries() if e["id"] == str(t.ids[0]))
    assert no_audio["pairs"]["audio:image"] is None and no_audio["modality"] is None


def test_unscored_items_come_last_and_are_left_out_of_entries():
    t = swapped_table()
    for m in ("audio", "text"):
        t.present[m][5] = False
        t.vectors[m][5] = 0
    found = sus.find_suspects(Workspace(t), "auto")
    assert np.isnan(found.score[5]) and found.order()[-1] == 5
    assert str(t.ids[5]) not in {e["id"] for e in found.entries()}


def test_two_modalities_rank_the_pair_and_name_no_modality():
    t = swapped_table("audio")
    del t.vectors["text"], t.present["text"]
    found = sus.find_suspects(Workspace(t), "cca")
    assert list(found.pairs) == ["audio:image"]
    assert top_rows(found, len(SWAPPED)) == SWAPPED
    assert set(found.odd) == {""}
    assert (found.rather[sorted(SWAPPED)] >= 0).all()  # the query side's best match


@pytest.mark.parametrize("method", ["procrustes", "ridge", "cca", "contrastive"])
def test_every_learned_aligner_finds_the_swaps(method, monkeypatch):
    from mmviewer.core.align.registry import make_aligner

    short = {"epochs": 30} if method == "contrastive" else {}  # a test-sized head
    monkeypatch.setattr(crossfit, "make_aligner", lambda name, **p: make_aligner(name, **short, **p))
    few = {"robust_share": 0.0, "folds": 2} if method == "contrastive" else {"folds": 3}  # test time
    found = sus.find_suspects(Workspace(swapped_table()), method, pairs=[("audio", "image")], **few)
    assert found.method == method
    assert len(top_rows(found, len(SWAPPED)) & SWAPPED) >= len(SWAPPED) - 1


def test_method_none_on_different_spaces_says_why():
    with pytest.raises(ValueError, match="do not share a space"):
        sus.find_suspects(Workspace(swapped_table()), "none", pairs=[("audio", "image")])


def test_bad_pairs_say_why():
    ws = Workspace(swapped_table())
    with pytest.raises(ValueError, match="'smell' is not in this dataset"):
        sus.find_suspects(ws, pairs=[("smell", "image")])
    with pytest.raises(ValueError, match="folds must be at least 2"):
        sus.find_suspects(ws, pairs=[("audio", "image")], folds=1)


class SpyAligner:
    """Records the training rows of every fit (by the bytes of each row)."""

    def __init__(self, fits):
        self.fits = fits
        self.models = []  # kept alive: a freed model's id() is reused, merging two fits' entries

    def __call__(self, name, **params):
        from mmviewer.core.align.registry import make_aligner

        model = make_aligner(name, **params)
        fit, fits = model.fit, self.fits

        def spying_fit(xa, xb):
            fits[id(model)] = {row.tobytes() for row in np.asarray(xa, np.float32)}
            return fit(xa, xb)

        model.fit = spying_fit
        self.models.append(model)
        return model


def test_no_item_is_scored_by_an_aligner_that_saw_it(monkeypatch):
    t = swapped_table()
    fits, scored = {}, []
    monkeypatch.setattr(crossfit, "make_aligner", SpyAligner(fits))
    real_score = crossfit._score

    def spy_score(scorer, rows, *args):
        scored.append((id(scorer.aligner), np.array(rows)))
        return real_score(scorer, rows, *args)

    monkeypatch.setattr(crossfit, "_score", spy_score)
    sus.find_suspects(Workspace(t), "cca", pairs=[("audio", "image")], folds=4)
    assert len(fits) == 8 and len(scored) == 8  # two passes of four folds
    audio = t.vectors["audio"]
    for aligner, rows in scored:
        seen = fits[aligner]
        assert not any(audio[r].tobytes() in seen for r in rows)
    covered = set().union(*(set(rows.tolist()) for _, rows in scored[-4:]))
    assert covered == set(t.paired("audio", "image").tolist())


def test_final_fits_leave_the_first_pass_suspects_out(monkeypatch):
    t = swapped_table()
    fits = {}
    monkeypatch.setattr(crossfit, "make_aligner", SpyAligner(fits))
    found = sus.find_suspects(Workspace(t), "cca", pairs=[("audio", "image"), ("audio", "text")],
                              folds=4, robust_share=0.1)
    sizes = [len(s) for s in fits.values()]
    paired = len(t.paired("audio", "image"))
    assert len(sizes) == 16 and sum(sizes[:4]) == 3 * paired  # first pass: every pair
    final = list(fits.values())[8:12]  # audio:image, second pass
    left_out = {t.vectors["audio"][r].tobytes() for r in SWAPPED}
    assert not any(left_out & s for s in final)
    assert 3 * len(SWAPPED) <= 3 * paired - sum(len(s) for s in final) <= 3 * int(0.1 * paired)
    assert found.n_fit == max(sizes[8:])
    # without robustness every fit has every pair of its folds
    fits.clear()
    sus.find_suspects(Workspace(t), "cca", pairs=[("audio", "image")], folds=4, robust_share=0)
    assert [len(s) for s in fits.values()] == sizes[:4]


def test_fit_pool_is_bounded(monkeypatch):
    t = swapped_table()
    fits = {}
    monkeypatch.setattr(crossfit, "make_aligner", SpyAligner(fits))
    found = sus.find_suspects(Workspace(t, fit_max_pairs=60), "cca", pairs=[("audio", "image")], folds=4)
    assert max(len(s) for s in fits.values()) <= 60 and found.n_fit <= 60
    assert not np.isnan(found.score[t.paired("audio", "image")]).any()


def test_large_gallery_is_sampled(monkeypatch):
    monkeypatch.setattr(crossfit, "GALLERY_EXACT", 50)
    monkeypatch.setattr(crossfit, "GALLERY", 64)
    found = sus.find_suspects(Workspace(swapped_table()), "auto")
    assert len(top_rows(found, len(SWAPPED)) & SWAPPED) >= len(SWAPPED) - 1


def test_progress_counts_to_its_total_and_cancel_stops():
    ws = Workspace(swapped_table())
    seen = []
    sus.find_suspects(ws, "auto", progress=lambda done, total: seen.append((done, total)))
    totals = {total for _, total in seen}
    assert len(totals) == 1 and seen[-1][0] == seen[-1][1]
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and seen[-2][0] == seen[-1][0]  # the count matched its total
    token = CancelToken()
    calls = []

    def cancel_soon(done, total):
        calls.append(done)
        if done == 3:
            token.cancel()

    with running_with(token), pytest.raises(Cancelled):
        sus.find_suspects(Workspace(swapped_table()), "cca", progress=cancel_soon)
    assert max(calls) == 3


def test_clean_data_flags_little_and_report_hook_returns_only_flagged():
    clean = planted_table(240)
    found = sus.find_suspects(Workspace(clean), "auto")
    assert found.flagged().mean() < 0.02
    entries = sus.report_suspects(Workspace(swapped_table()), "auto", 50)
    assert {e["id"] for e in entries} == {f"item{r:02d}" for r in SWAPPED}
    assert len(entries) <= len(SWAPPED) + 2
    assert sus.report_suspects(Workspace(swapped_table()), "auto", 3) == entries[:3]


def test_report_hook_says_none_when_nothing_can_be_scored():
    small = planted_table(12)  # fewer than MIN_PAIRED items with any pair
    assert sus.report_suspects(Workspace(small), "auto", 50) is None
    from mmviewer.core.report.suspects import discover

    assert discover(Workspace(small), "auto") is None
    assert discover(Workspace(swapped_table()), "auto")[0]["modality"] == "audio"
