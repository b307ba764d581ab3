"""The Suspects panel inside the window: File → Export suspects raises it and writes the CSV;
marks given with the keyboard come back when the folder is opened again."""

from __future__ import annotations

import csv

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from mmviewer.core.embed.options import EmbedOptions
from mmviewer.gui.suspects.list_model import COLUMNS
from tests.gui.suspects.test_qt_suspects import click_cell
from tests.gui.test_main_window import SLOW, make_dataset

STORED = EmbedOptions(offline=True, use_store=True)


def _open(qtbot, win, folder):
    with qtbot.waitSignal(win.model.table_ready, timeout=SLOW):
        win.open_path(folder, STORED)


def test_export_from_the_file_menu_and_marks_saved_with_the_session(qtbot, make_window, tmp_path,
                                                                    make, monkeypatch):
    folder = make_dataset(tmp_path / "data", make, n=24)
    win = make_window(STORED, (1000, 700))
    _open(qtbot, win, folder)
    notices = []
    win.model.notice.connect(lambda n: notices.append(n.text))
    target = tmp_path / "suspects.csv"
    panel, state = win.panels["suspects"], win.state
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV (*.csv)"))
    assert not panel.shown and win.model.suspects.status == "idle"  # a tab behind the table
    items = win.panels["items"]  # a filter on suspicion waits for it, then applies
    items.filter_edit.setText("suspicion > 0")
    items.apply()
    column = items.table.keys.index("suspicion")
    assert items.rows() == [] and items.view.isColumnHidden(column)
    win.actions_by_name["export_suspects"].trigger()
    assert panel.shown and win.model.suspects.status == "computing"  # raised: it ranks
    assert any("still being computed" in t for t in notices) and not target.exists()
    qtbot.waitUntil(lambda: win.model.suspects.status == "ready", timeout=SLOW)
    rows = panel.rows()
    score = win.model.suspects.result.score
    assert sorted(items.rows()) == [int(r) for r in (score > 0).nonzero()[0]] != []
    assert not items.view.isColumnHidden(column)  # the column shows once there are values
    click_cell(panel, 0)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_W)
    QTest.keyClick(panel.view, Qt.Key.Key_F)
    assert state.current == rows[2]
    win.actions_by_name["export_suspects"].trigger()
    qtbot.waitUntil(lambda: any("Exported suspects" in t for t in notices), timeout=SLOW)
    with open(target, newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    ids = win.model.workspace.table.ids
    assert len(lines) == 25 and lines[0][:3] == ["id", "score", "modality"]
    assert [(x[0], x[-1]) for x in lines[1:3]] == [(str(ids[rows[0]]), "wrong"), (str(ids[rows[1]]), "fine")]
    win.close()  # saves the session

    again = make_window(STORED, (1000, 700))
    _open(qtbot, again, folder)
    assert again.state.tag_map == {"suspect:wrong": (rows[0],), "suspect:fine": (rows[1],)}
    again.docks["suspects"].raise_()
    panel = again.panels["suspects"]
    qtbot.waitUntil(lambda: again.model.suspects.status == "ready" and len(panel.rows()) == 24,
                    timeout=SLOW)
    marks = [panel.table.index(panel.table.position_of(r), COLUMNS.index("mark")).data()
             for r in rows[:3]]
    assert marks == ["✗ wrong", "✓ fine", ""]
    items = again.panels["items"]  # the mark is a tag: the item table's filter finds it
    items.filter_edit.setText('tagged "suspect:wrong"')
    items.apply()
    assert items.rows() == [rows[0]]
