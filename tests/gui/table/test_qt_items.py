"""The Items panel, driven as a person does: clicks on rows and headers, keys in the filter
and the search, the tag field; linked both ways with the state the map and lists share."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from mmviewer.core.items.frame import pair_key
from mmviewer.gui.table.qt_items import QtItems
from tests.gui.people import click, on_screen, type_text

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
WAIT = 60_000


@pytest.fixture
def panel(qtbot, model):
    return on_screen(qtbot, QtItems(model.state, model), 900, 600)


def ranks_in(qtbot, model):
    qtbot.waitUntil(lambda: model.items.done and bool(model.items.frame.values.total), timeout=WAIT)


def click_row(panel, position: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    view = panel.view
    rect = view.visualRect(panel.table.index(position, 1))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifiers, rect.center())


def test_one_row_per_item_with_metadata_modalities_and_pair_columns(qtbot, panel, model):
    ranks_in(qtbot, model)
    t = model.workspace.table
    assert panel.table.rowCount() == t.n_items == 30
    keys = panel.table.keys
    assert keys[:4] == ["thumb", "id", "meta:label", "modalities"] and "tags" in keys
    assert pair_key("rank", ("audio", "image")) in keys and pair_key("score", ("image", "text")) in keys
    cell = panel.table.index(0, keys.index("modalities")).data()
    assert cell == "image+text"  # item00 has no audio
    pair = tuple(model.state.match_pair)
    rank = panel.table.index(5, keys.index(pair_key("rank", pair))).data()
    assert rank == str(model.workspace.cross_matches(5, *pair, "auto", k=1).partner_rank)
    visible = [k for i, k in enumerate(keys) if not panel.view.isColumnHidden(i)]
    assert pair_key("rank", pair) in visible and pair_key("rank", pair[::-1]) not in visible


def test_clicks_select_rows_and_open_items_both_ways(qtbot, panel, model):
    state = model.state
    with qtbot.waitSignal(state.events.current, timeout=5000):
        click_row(panel, 4)
    assert state.current == 4 and state.selection == (4,)
    click_row(panel, 7, CTRL)
    assert state.selection == (4, 7) and state.current == 7
    click_row(panel, 9, SHIFT)
    assert state.selection == (7, 8, 9)  # the range from the last plain/ctrl click
    click_row(panel, 8, CTRL)
    assert state.selection == (7, 9)
    assert panel.table.selected[[7, 9]].all() and panel.bar.count.text() == "2 selected"
    # the other way: the map (or a list) opens item 25 -> the table marks it and scrolls to it
    state.current = 25
    assert panel.table.current == 25
    assert panel.view.currentIndex().row() == panel.table.position_of(25)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_Down)
    assert state.current == 26 and state.selection == (26,)
    QTest.keyClick(panel.view, Qt.Key.Key_A, CTRL)
    assert len(state.selection) == 30
    QTest.keyClick(panel.view, Qt.Key.Key_Escape)
    assert state.selection == ()


def test_a_typed_filter_keeps_the_rows_that_pass_and_a_bad_one_says_why(qtbot, panel, model):
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        type_text(panel.filter_edit, 'label == "red" and missing audio', enter=True)
    assert panel.rows() == [0]
    panel.filter_edit.clear()
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        type_text(panel.filter_edit, "label == ", enter=True)
    assert "expected a value" in panel.status.text() and panel.rows() == [0]  # the last good view
    panel.filter_edit.clear()
    ranks_in(qtbot, model)
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        type_text(panel.filter_edit, "partner_rank >= 1 and has audio", enter=True)
    rank = model.items.frame.values.rank[tuple(model.state.match_pair)]
    assert panel.rows() == np.flatnonzero((rank >= 1) & model.workspace.table.present["audio"]).tolist()
    assert panel.status.text().startswith(f"{len(panel.rows())} of 30 items")


def test_exact_search_narrows_the_table_lights_the_map_and_enter_opens_the_first(qtbot, panel, model):
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        type_text(panel.search_edit, "item07")  # applies once typing pauses
    assert panel.rows() == [7] and model.state.highlight == (7,)
    assert "found in 1" in panel.status.text()
    with qtbot.waitSignal(model.state.events.current, timeout=5000):
        QTest.keyClick(panel.search_edit, Qt.Key.Key_Return)
    assert model.state.current == 7
    panel.search_edit.clear()
    qtbot.waitUntil(lambda: len(panel.rows()) == 30, timeout=5000)
    assert model.state.highlight == ()


def test_a_header_click_sorts_and_a_second_reverses(qtbot, panel, model):
    ranks_in(qtbot, model)
    model.state.match_pair = ("audio", "image")  # item00 has no audio: one missing score
    key = pair_key("score", ("audio", "image"))
    header = panel.view.horizontalHeader()
    column = panel.table.keys.index(key)
    at = QPoint(header.sectionViewportPosition(column) + 10, header.height() // 2)
    scores = model.items.frame.values_of(key)
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    shown = scores[panel.rows()]
    known = shown[np.isfinite(shown)]
    assert (np.diff(known) >= 0).all() or (np.diff(known) <= 0).all()
    first = panel.rows()[0]
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert panel.rows()[0] != first and np.isnan(scores[panel.rows()[-1]])  # missing stay last


def test_tagging_the_selection_then_filtering_by_the_tag(qtbot, panel, model):
    state = model.state
    click_row(panel, 2)
    click_row(panel, 5, CTRL)
    type_text(panel.bar.tag_combo.lineEdit(), "check me", enter=True)
    assert state.tag_map == {"check me": (2, 5)}
    assert panel.table.index(5, panel.table.keys.index("tags")).data() == "check me"
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        type_text(panel.filter_edit, 'tagged "check me"', enter=True)
    assert panel.rows() == [2, 5]
    click_row(panel, 0)  # row 0 of the filtered table is item 2
    click(panel.bar.untag_button)
    assert state.tag_map == {"check me": (5,)}


def test_show_in_table_lists_the_selection_alone_until_the_chip_is_clicked(qtbot, panel, model):
    model.state.selection = (3, 11, 12)
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        click(panel.bar.show_button)
    assert panel.rows() == [3, 11, 12] and panel.chip.isVisible()
    with qtbot.waitSignal(panel.view_ready, timeout=5000):
        click(panel.chip)
    assert len(panel.rows()) == 30 and not panel.chip.isVisible()


def test_copy_and_export_the_selected_ids(qtbot, panel, model, tmp_path, monkeypatch):
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QFileDialog

    model.state.selection = (2, 12)
    actions = panel.bar.actions.actions
    actions["copy"].trigger()
    assert QGuiApplication.clipboard().text() == "item02\nitem12"
    target = tmp_path / "picked.txt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    actions["export"].trigger()
    assert target.read_text() == "item02\nitem12\n"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "no" / "x.txt"), ""))
    with qtbot.waitSignal(model.notice, timeout=5000, check_params_cb=lambda n: n.level == "error"):
        actions["export"].trigger()  # a folder that does not exist: a message naming the file
