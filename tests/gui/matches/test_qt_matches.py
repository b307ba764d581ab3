"""The Matches panel: partner marks and ranks, choosing and walking, live re-weighting, export."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from mmviewer.core.match.export import iter_all_matches, list_names, save_matches
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.gui.matches.qt_matches import QtMatches

WAIT = 30_000


@pytest.fixture
def panel(qtbot, model):
    widget = QtMatches(model.state, model)
    qtbot.addWidget(widget)
    widget.resize(500, 700)
    return widget


def select(qtbot, panel, row):
    with qtbot.waitSignal(panel.lists_ready, timeout=WAIT):
        panel.state.current = row


def test_text_to_image_marks_the_partner_and_its_rank(qtbot, panel):
    select(qtbot, panel, 5)
    panel.show_list("text→image")
    lst = panel.cross_lists[("text", "image")]
    assert lst.partner_rank == 1 and lst.method == "none"
    assert "text → image" in panel.pair_header.text() and "partner rank 1" in panel.pair_header.text()
    assert panel.pair_view.partner_index() == 0
    assert panel.pair_view.rows()[0] == 5
    # and why auto chose it: the header's tooltip names the measured zero-shot check
    assert panel.pair_header.toolTip().startswith("Alignment: auto → zero-shot (")
    assert panel.buttons["text→image"].text() == "#1"
    assert len(panel.pair_view.rows()) == panel.state.k
    # a learned pair says whether the item was used for fitting
    panel.show_list("audio→image")
    audio = panel.cross_lists[("audio", "image")]
    assert audio.method == panel.model.workspace.resolve_method("audio", "image", "auto") != "none"
    assert ("fitted on this item" in panel.pair_header.text()) == audio.in_training
    assert f"auto → {audio.method} (" in panel.pair_header.toolTip()


def test_every_pair_is_one_click_away_and_similar_is_shown(qtbot, panel):
    select(qtbot, panel, 2)
    mods = ["image", "text", "audio"]
    expected = {f"{q}→{t}" for q in [*mods, "fused"] for t in mods if q != t}
    assert set(panel.buttons) == expected
    panel.buttons["fused→audio"].click()
    assert panel.shown == "fused→audio" and "fused → audio" in panel.pair_header.text()
    assert panel.similar_view.isVisibleTo(panel) and len(panel.similar_view.rows()) == panel.state.k
    assert 2 not in panel.similar_view.rows()


def test_item_without_audio_says_so(qtbot, panel):
    select(qtbot, panel, 0)
    panel.show_list("audio→image")
    assert "no audio" in panel.pair_view.topLevelItem(0).text(1)
    assert panel.pair_view.rows() == []


def test_clicking_a_match_makes_it_current(qtbot, panel):
    panel.show()
    select(qtbot, panel, 5)
    view = panel.similar_view
    target = view.rows()[2]
    rect = view.visualItemRect(view.topLevelItem(2))
    with qtbot.waitSignal(panel.lists_ready, timeout=WAIT):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.state.current == target
    assert panel.data.row == target


def test_arrow_keys_walk_the_list_and_enter_opens(qtbot, panel):
    panel.show()
    select(qtbot, panel, 5)
    view = panel.pair_view
    rows = view.rows()
    view.setFocus()
    view.setCurrentItem(view.topLevelItem(0))
    assert panel.state.selection == (rows[0],)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert panel.state.selection == (rows[2],)
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert panel.state.selection == (rows[1],)
    assert panel.state.current == 5  # walking does not open
    with qtbot.waitSignal(panel.lists_ready, timeout=WAIT):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert panel.state.current == rows[1]


def test_weight_change_updates_similar_but_not_cross_lists(qtbot, panel, model):
    select(qtbot, panel, 5)
    cross_before = dict(panel.cross_lists)
    similar_before = panel.similar_view.rows()
    with qtbot.waitSignal(panel.reweighted, timeout=1000):
        panel.state.weights = (("audio", 1.0), ("image", 0.0), ("text", 0.0))
    assert panel.similar_view.rows() != similar_before
    for key, lst in panel.cross_lists.items():
        assert lst is cross_before[key]  # the same cached objects: not recomputed
    expected = model.workspace.similar(5, panel.state.weight_map, panel.state.k)
    assert panel.similar_view.rows() == [int(r) for r in expected.rows]
    assert "audio 1" in panel.similar_header.text()
    panel.state.weights = (("audio", 0.0), ("image", 0.0), ("text", 0.0))
    assert panel.similar_view.rows() == [] and "no item shares" in panel.similar_view.topLevelItem(0).text(1)


@pytest.fixture
def slow_lists(panel):
    """``hold()`` keeps the model's next cross-list jobs waiting until ``set()`` (a slow fit)."""
    release = threading.Event()
    ws = panel.model.workspace
    compute = ws.item_matches

    def slow(*args):
        release.wait(10)
        return compute(*args)

    release.hold = lambda: setattr(ws, "item_matches", slow)
    yield release
    release.set()


def test_method_change_recomputes_cross_lists_with_a_fitting_placeholder(qtbot, panel, slow_lists):
    select(qtbot, panel, 5)
    panel.show_list("audio→image")
    similar = panel.similar_list
    slow_lists.hold()
    panel.state.method = "procrustes"
    qtbot.waitUntil(lambda: "fitting procrustes" in panel.pair_view.topLevelItem(0).text(1), timeout=WAIT)
    assert panel.buttons["text→image"].text() == "…"
    assert panel.similar_list is similar and panel.similar_view.rows()  # the method does not touch it
    with qtbot.waitSignal(panel.lists_ready, timeout=WAIT):
        slow_lists.set()
    assert panel.cross_lists[("audio", "image")].method == "procrustes"
    assert "procrustes" in panel.pair_header.text()


def test_similar_list_does_not_wait_for_a_slow_fit(qtbot, panel, slow_lists):
    slow_lists.hold()
    with qtbot.waitSignal(panel.similar_ready, timeout=WAIT):
        panel.state.current = 8
    assert len(panel.similar_view.rows()) == panel.state.k and panel.data is None
    assert panel.rows_for_export() == []  # not all lists belong to item 8 yet
    with qtbot.waitSignal(panel.lists_ready, timeout=WAIT):
        slow_lists.set()
    assert panel.data.row == 8 and panel.rows_for_export()


def test_newest_item_wins_and_k_sets_the_length(qtbot, panel):
    panel.state.current = 3
    panel.state.current = 4
    qtbot.waitUntil(lambda: panel.data is not None and panel.data.row == 4, timeout=WAIT)
    with qtbot.waitSignal(panel.lists_ready, timeout=WAIT):
        panel.state.k = 3
    assert len(panel.similar_view.rows()) == 3 and len(panel.pair_view.rows()) == 3


def test_export_rows_agree_with_the_all_items_export(qtbot, panel, model, tmp_path):
    select(qtbot, panel, 6)
    rows = panel.rows_for_export()
    assert set(rows[0]) == {"query_id", "list", "rank", "match_id", "score", "is_partner"}
    assert {r["list"] for r in rows} == set(list_names(model.workspace.table.modalities))
    assert any(r["is_partner"] and r["list"] == "text→image" and r["rank"] == 1 for r in rows)
    ws, state = model.workspace, model.state
    table = run_to_end(iter_all_matches(ws, state.weight_map, state.method, state.k))
    everything = table.to_pylist()
    mine = [r for r in everything if r["query_id"] == "item06"]
    key = lambda r: (r["list"], r["rank"], r["match_id"], r["is_partner"])  # noqa: E731
    assert sorted(map(key, mine)) == sorted(map(key, rows))
    assert len({r["query_id"] for r in everything}) == 30
    assert not any(r["list"].startswith("audio→") and r["query_id"] == "item00" for r in everything)
    for name in ("m.csv", "m.parquet"):
        path = save_matches(table, tmp_path / name)
        assert path.stat().st_size > 0
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "m.parquet").num_rows == table.num_rows


def test_a_new_items_lists_start_at_row_one(qtbot, panel):
    """Issue 13: the list kept the last item's scroll offset, hiding the new item's #1."""
    panel.show()
    panel.state.k = 25
    select(qtbot, panel, 4)
    view = panel.pair_view
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())  # a person scrolled down
    assert view.verticalScrollBar().value() > 0
    select(qtbot, panel, 9)
    assert view.verticalScrollBar().value() == 0 and panel.similar_view.verticalScrollBar().value() == 0
