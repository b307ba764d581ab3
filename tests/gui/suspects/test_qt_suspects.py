"""The Suspects panel, driven as a person does: clicks on rows, the play column and the buttons,
keys on the list; linked with the state the map, lists, preview and item table share."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

import mmviewer.gui.preview.audio as preview_audio
from mmviewer.core.app import suspects as sd
from mmviewer.gui.suspects.list_model import COLUMNS
from mmviewer.gui.suspects.qt_suspects import QtSuspects
from tests.gui.people import click, on_screen

WAIT = 60_000


@pytest.fixture
def panel(qtbot, model):
    return on_screen(qtbot, QtSuspects(model.state, model), 900, 420)


def ranked(qtbot, model):
    qtbot.waitUntil(lambda: model.suspects.status == sd.READY, timeout=WAIT)
    return model.suspects.result


def click_cell(panel, position: int, column: str = "item", modifiers=Qt.KeyboardModifier.NoModifier):
    view = panel.view
    rect = view.visualRect(panel.table.index(position, COLUMNS.index(column)))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifiers, rect.center())


def cell(panel, position: int, column: str, role=Qt.ItemDataRole.DisplayRole):
    return panel.table.index(position, COLUMNS.index(column)).data(role)


def test_showing_the_panel_computes_the_ranking_most_suspect_first(qtbot, panel, model):
    result = ranked(qtbot, model)
    order = [int(r) for r in result.order() if np.isfinite(result.score[r])]
    assert panel.rows() == order and len(order) == 30
    assert panel.table.rowCount() == 30
    scores = [float(cell(panel, i, "score")) for i in range(30)]
    assert scores == sorted(scores, reverse=True)
    top = order[0]
    assert cell(panel, 0, "rank") == "1" and cell(panel, 0, "item") == str(result.ids[top])
    assert cell(panel, 0, "caption").startswith("a ")  # the item's text file
    odd = str(result.odd[top])
    if odd:  # the odd modality is a bold, coloured badge
        assert cell(panel, 0, "odd") == odd
        assert cell(panel, 0, "odd", Qt.ItemDataRole.FontRole).bold()
        assert cell(panel, 0, "odd", Qt.ItemDataRole.BackgroundRole) is not None
    rather = int(result.rather[top])
    assert cell(panel, 0, "rather") == (str(result.ids[rather]) if rather >= 0 else "")
    assert "image ↔ text" in cell(panel, 0, "score", Qt.ItemDataRole.ToolTipRole)
    assert "listed" in panel.marked.text() and panel.message.isHidden()


def test_progress_shows_while_computing(qtbot, panel, model):
    seen = []
    model.suspects.changed.connect(lambda: seen.append((model.suspects.status,
                                                        panel.progress.isVisible(),
                                                        panel.message.text())))
    model.state.method = "ridge"  # recompute
    ranked(qtbot, model)
    assert (sd.COMPUTING, True) in {(s, v) for s, v, _m in seen}
    assert not panel.progress.isVisible()
    assert "ridge" in model.suspects.message or model.suspects.result.method.count("ridge")


def test_clicks_and_keys_open_items_for_every_panel(qtbot, panel, model):
    ranked(qtbot, model)
    state = model.state
    with qtbot.waitSignal(state.events.current, timeout=5000):
        click_cell(panel, 2)
    row = panel.rows()[2]
    assert state.current == row and state.selection == (row,)
    assert cell(panel, 2, "item", Qt.ItemDataRole.FontRole).bold()
    assert str(model.workspace.table.ids[row]) in panel.detail.heading.text()
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_Down)
    assert state.current == panel.rows()[3] and state.selection == (panel.rows()[3],)
    QTest.keyClick(panel.view, Qt.Key.Key_Up)
    assert state.current == row
    # the other way: the map or the item table opens an item; the list marks and scrolls to it
    state.current = panel.rows()[20]
    assert panel.table.current == panel.rows()[20]
    assert panel.view.currentIndex().row() == 20
    QTest.keyClick(panel.view, Qt.Key.Key_Escape)
    assert state.selection == ()


def test_marks_by_key_and_button_are_tags_and_move_on(qtbot, panel, model):
    ranked(qtbot, model)
    state = model.state
    rows = panel.rows()
    click_cell(panel, 0)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_W)
    assert state.tag_map == {"suspect:wrong": (rows[0],)}
    assert state.current == rows[1]  # on to the next suspect
    QTest.keyClick(panel.view, Qt.Key.Key_F)
    assert state.tag_map["suspect:fine"] == (rows[1],) and state.current == rows[2]
    assert cell(panel, 0, "mark") == "✗ wrong" and cell(panel, 1, "mark") == "✓ fine"
    click(panel.wrong_button)
    assert set(state.tag_map["suspect:wrong"]) == {rows[0], rows[2]} and state.current == rows[3]
    click_cell(panel, 0)
    click(panel.fine_button)  # a mark replaces the other one
    assert state.tag_map == {"suspect:wrong": (rows[2],), "suspect:fine": tuple(sorted((rows[0], rows[1])))}
    click_cell(panel, 2)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_U)
    assert "suspect:wrong" not in state.tag_map and state.current == rows[2]  # unmark stays
    assert "0 wrong · 2 fine" in panel.marked.text()
    # hide fine: the two fine items leave the list; unticking brings them back
    click(panel.hide_fine)
    assert panel.hide_fine.isChecked()
    assert panel.rows() == [r for r in rows if r not in (rows[0], rows[1])]
    click_cell(panel, 0)
    click(panel.fine_button)  # marked fine under "hide fine": gone, the next one is current
    assert rows[2] not in panel.rows() and state.current == panel.rows()[0] == rows[3]
    click(panel.hide_fine)
    assert panel.rows() == rows


def test_only_suspects_keeps_the_items_above_the_threshold(qtbot, panel, model):
    result = ranked(qtbot, model)
    click(panel.only_suspects)
    assert panel.rows() == [r for r in result.order() if result.score[r] > result.threshold]


def test_the_play_column_plays_the_items_audio(qtbot, panel, model):
    if not preview_audio.audio_output_available():
        pytest.skip("no audio output device (install pulseaudio: the tests start a null sink)")
    ranked(qtbot, model)
    position = next(i for i, r in enumerate(panel.rows()) if model.workspace.table.present["audio"][r])
    row = panel.rows()[position]
    assert cell(panel, position, "play", Qt.ItemDataRole.DecorationRole) is not None
    player = panel.player.player
    with qtbot.waitSignal(player.playbackStateChanged, timeout=WAIT,
                          check_params_cb=lambda s: s == QMediaPlayer.PlaybackState.PlayingState):
        click_cell(panel, position, "play")
    assert model.state.current == row
    assert player.source().toLocalFile().endswith(f"{model.workspace.table.ids[row]}.wav")
    # the item without audio has no play button
    silent = panel.table.position_of(0)
    assert cell(panel, silent, "play", Qt.ItemDataRole.DecorationRole) is None


def test_export_writes_every_item_with_its_scores_and_mark(qtbot, panel, model, tmp_path, monkeypatch):
    result = ranked(qtbot, model)
    rows = panel.rows()
    click_cell(panel, 0)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_W)
    target = tmp_path / "out" / "suspects"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV (*.csv)"))
    notices = []
    model.notice.connect(notices.append)
    click(panel.export_button)
    written = target.with_suffix(".csv")
    qtbot.waitUntil(lambda: any("Exported suspects" in n.text for n in notices), timeout=WAIT)
    with open(written, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    pairs = sorted(result.pairs)
    assert table[0] == ["id", "score", "modality", *pairs, "rather", "mark"]
    ids = model.workspace.table.ids
    assert [line[0] for line in table[1:]] == [str(ids[r]) for r in result.order()]
    first = table[1]
    assert first[0] == str(ids[rows[0]]) and first[-1] == "wrong"
    assert float(first[1]) == pytest.approx(float(result.score[rows[0]]), abs=1e-5)
    assert first[2] == str(result.odd[rows[0]])
    assert all(line[-1] == "" for line in table[2:])


def test_one_modality_says_why_there_is_nothing_to_rank(qtbot, model):
    from tests.planted import planted_table

    t = planted_table()
    only_text = type(t)(t.ids, {"text": t.vectors["text"]}, {"text": t.present["text"]},
                        {"text": t.encoders["text"]}, t.metadata)
    model.set_table(only_text, model.dataset)
    panel = QtSuspects(model.state, model)
    qtbot.addWidget(panel)
    panel.show()
    assert model.suspects.status == sd.UNAVAILABLE
    assert panel.message.isVisible() and "only text" in panel.message.text()
    assert not panel.export_button.isEnabled() and not model.jobs.is_active("suspects")
