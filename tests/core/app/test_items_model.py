"""The model's per-item data and layout choices, without Qt: partner ranks streamed for the
table, redone for a new method; a map of one modality or with other UMAP parameters; tags,
pair, list and layout saved with the session."""

from __future__ import annotations

import numpy as np

from mmviewer.core.app import jobs


def test_partner_ranks_stream_in_and_are_redone_for_a_new_method(model, drive):
    drive.wait_for(model.items.values_changed, 120, check=lambda done: done)
    frame, ws = model.items.frame, model.workspace
    assert model.items.done and frame.values.method == "auto"
    rank = frame.values.rank[("text", "audio")]
    for row in (1, 7, 22):
        assert rank[row] == ws.cross_matches(row, "text", "audio", "auto").partner_rank
    assert np.isnan(rank[0])  # item 0 has no audio
    model.state.method = "ridge"
    drive.wait_for(model.items.values_changed, 120, check=lambda done: done)
    assert model.items.frame.values.method == "ridge"
    rank = model.items.frame.values.rank[("text", "audio")]
    assert rank[7] == ws.cross_matches(7, "text", "audio", "ridge").partner_rank


def test_a_map_of_one_modality_and_new_umap_parameters_relayout_warm(model, drive, monkeypatch):
    drive.wait_for(model.layout_ready, check=lambda p, k: k == "umap")
    calls = []
    real = jobs.layout_job
    monkeypatch.setattr(jobs, "layout_job", lambda ws, w, init, cold, svc, params:
                        calls.append((dict(w), init is not None, params)) or real(ws, w, init, cold, svc, params))
    model.state.map_source = "audio"
    drive.wait_for(model.layout_ready, check=lambda p, k: k == "umap")
    assert calls[-1] == ({"audio": 1.0}, True, ("umap", 15, 0.1))  # warm: from the current map
    model.state.layout = ("umap", 5, 0.5)
    drive.wait_for(model.layout_ready, check=lambda p, k: k == "umap")
    assert calls[-1] == ({"audio": 1.0}, True, ("umap", 5, 0.5))
    model.state.layout = ("pca", 5, 0.5)
    (positions, kind) = drive.wait_for(model.layout_ready)
    assert kind == "pca" and positions.shape == (30, 2)


def test_tags_pair_list_and_layout_come_back_with_the_session(reopen):
    model = reopen()
    state = model.state
    state.tag_rows("odd", [1, 3, 5])
    state.tag_rows("checked", [3])
    state.match_pair = ("audio", "text")
    state.match_list = "fused→audio"
    state.layout = ("umap", 30, 0.25)
    state.map_source = "image"
    state.hidden = (4, 5)
    model.save_session()
    again = reopen()
    s = again.state
    assert s.tag_map == {"odd": (1, 3, 5), "checked": (3,)}
    assert s.match_pair == ("audio", "text") and s.match_list == "fused→audio"
    assert s.layout == ("umap", 30, 0.25) and s.map_source == "image"
    assert s.hidden == ()  # a passing view: a reopened map shows every item
    assert again.items.frame.tags["odd"].tolist() == [1, 3, 5]
