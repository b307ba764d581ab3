"""The model's suspects without Qt: computed when asked, again for a new method, never for a
weight drag; marks are tags that come back with the session; the CSV has every item."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from mmviewer.core.app import suspects as sd


def test_nothing_runs_until_somebody_wants_the_suspects(model, drive):
    drive.settle(0.3)
    assert model.suspects.status == sd.IDLE and not model.jobs.is_active("suspects")
    steps = []
    model.suspects.changed.connect(lambda: steps.append((model.suspects.status,
                                                         model.suspects.done, model.suspects.total)))
    model.suspects.want()
    drive.until(lambda: model.suspects.status == sd.READY, 120)
    r = model.suspects.result
    assert steps[0][0] == sd.COMPUTING and any(total > 0 for _s, _d, total in steps)
    assert len(r.score) == 30 and model.suspects.fresh and model.suspects.version == 1
    # the item frame's column (the item table, filters and the map read it)
    frame = model.items.frame
    assert np.array_equal(frame.values_of("suspicion"), r.score.astype(np.float32), equal_nan=True)
    top = int(r.order()[0])
    assert frame.text("suspicion", top) == f"{r.score[top]:.2f}"
    assert "above the threshold" in model.suspects.message


def test_a_weight_drag_starts_nothing_and_a_method_change_recomputes(model, drive):
    model.suspects.want()
    drive.until(lambda: model.suspects.status == sd.READY, 120)
    first = model.suspects.result
    for w in np.linspace(0.9, 0.1, 8):
        model.state.set_weight("audio", float(w))
    drive.settle(0.3)
    assert model.suspects.result is first and not model.jobs.is_active("suspects")
    model.state.method = "ridge"
    assert model.suspects.status == sd.COMPUTING and not model.suspects.fresh
    assert model.suspects.result is first  # shown until the new ranking lands
    drive.until(lambda: model.suspects.status == sd.READY, 120)
    assert model.suspects.result is not first and model.suspects.method == "ridge"
    assert "ridge" in model.suspects.result.method


def test_newest_request_wins(model, drive):
    model.suspects.want()
    model.state.method = "procrustes"
    model.state.method = "cca"
    drive.until(lambda: model.suspects.status == sd.READY, 120)
    drive.settle(0.3)
    assert model.suspects.method == "cca" and model.suspects.version == 1


def test_one_modality_is_unavailable_with_the_reason(model, drive):
    from tests.planted import planted_table

    t = planted_table()
    model.set_table(type(t)(t.ids, {"image": t.vectors["image"]}, {"image": t.present["image"]},
                            {"image": t.encoders["image"]}), model.dataset)
    model.suspects.want()
    assert model.suspects.status == sd.UNAVAILABLE
    assert "only image" in model.suspects.message
    assert not model.jobs.is_active("suspects") and "suspicion" not in model.items.frame.by_key


def test_marks_are_exclusive_tags_and_come_back_with_the_session(reopen):
    model = reopen()
    model.suspects.mark([3, 5], sd.WRONG)
    model.suspects.mark([5, 7], sd.FINE)
    assert model.state.tag_map == {"suspect:wrong": (3,), "suspect:fine": (5, 7)}
    assert list(model.suspects.marks()[[3, 5, 7, 8]]) == ["wrong", "fine", "fine", ""]
    assert model.suspects.mark_of(5) == "fine" and model.suspects.mark_of(8) == ""
    model.suspects.mark([7], None)
    assert model.state.tag_map == {"suspect:wrong": (3,), "suspect:fine": (5,)}
    model.save_session()
    again = reopen()
    assert again.state.tag_map == {"suspect:wrong": (3,), "suspect:fine": (5,)}
    assert again.suspects.mark_of(3) == "wrong"
    assert again.items.frame.resolve("tagged", "suspect:wrong").nonzero()[0].tolist() == [3]
    with pytest.raises(ValueError, match="fine"):
        again.suspects.mark([1], "maybe")


def test_the_csv_lists_every_item_most_suspect_first(model, drive, tmp_path):
    model.suspects.want()
    drive.until(lambda: model.suspects.status == sd.READY, 120)
    r = model.suspects.result
    top = int(r.order()[0])
    model.suspects.mark([top], sd.WRONG)
    lines = list(csv.reader(io.StringIO(sd.suspects_csv(r, model.suspects.marks()))))
    pairs = sorted(r.pairs)
    assert lines[0] == ["id", "score", "modality", *pairs, "rather", "mark"]
    assert len(lines) == 31 and lines[1][0] == str(r.ids[top]) and lines[1][-1] == "wrong"
    assert [float(x[1]) for x in lines[1:] if x[1]] == sorted((float(x[1]) for x in lines[1:] if x[1]),
                                                                reverse=True)
    no_audio = next(x for x in lines[1:] if x[0] == "item00")  # no audio: its audio pairs are blank
    assert no_audio[3 + pairs.index("audio:image")] == ""
    written = []
    assert model.suspects.export_csv(tmp_path / "s.csv", on_done=written.append)
    drive.until(lambda: bool(written), 60)
    assert (tmp_path / "s.csv").read_text(encoding="utf-8") == sd.suspects_csv(r, model.suspects.marks())


def test_too_few_paired_items_is_unavailable_with_the_cores_reason(model, drive):
    from tests.planted import planted_table

    model.set_table(planted_table(n=12), None)  # pairs need 20 items with both modalities
    model.suspects.want()
    drive.until(lambda: model.suspects.status != sd.COMPUTING, 60)
    assert model.suspects.status == sd.UNAVAILABLE and model.suspects.result is None
    assert model.suspects.message.startswith("No suspects: ") and "20" in model.suspects.message
