"""The Items panel inside the window: Ctrl+F finds, Ctrl+Shift+F searches by meaning, and the
map's selection menu lists the selection in the table."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.gui.test_main_window import OFFLINE, SLOW, make_dataset


@pytest.fixture
def window(make_window):
    return make_window(OFFLINE, (1000, 700))


def test_ctrl_f_finds_by_id_and_ctrl_shift_f_searches_by_meaning(qtbot, window, tmp_path, make):
    with qtbot.waitSignal(window.model.table_ready, timeout=SLOW):
        window.open_path(make_dataset(tmp_path / "d", make, n=8), OFFLINE)
    items = window.panels["items"]
    window.docks["items"].hide()
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.docks["items"].isVisible()
    qtbot.waitUntil(items.search_edit.hasFocus, timeout=5000)
    with qtbot.waitSignal(items.view_ready, timeout=5000):
        QTest.keyClicks(items.search_edit, "item05")
    assert [str(window.model.workspace.table.ids[r]) for r in items.rows()] == ["item05"]
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(window.panels["query"].edit.hasFocus, timeout=5000)


def test_show_in_table_from_the_maps_selection_menu(qtbot, window, tmp_path, make):
    with qtbot.waitSignal(window.model.table_ready, timeout=SLOW):
        window.open_path(make_dataset(tmp_path / "d", make, n=8), OFFLINE)
    window.model.state.selection = (1, 6)
    map_panel, items = window.panels["map"], window.panels["items"]
    assert map_panel.toolbar.selection_button.text() == "2 selected"
    with qtbot.waitSignal(items.view_ready, timeout=5000):
        map_panel.selection_actions.actions["table"].trigger()
    assert items.rows() == [1, 6] and window.docks["items"].isVisible()
    assert items.bar.count.text() == "2 selected"


def test_the_window_fits_a_1000x700_screen_with_the_status_bar_on_it(qtbot, window, tmp_path, make):
    with qtbot.waitSignal(window.model.table_ready, timeout=SLOW):
        window.open_path(make_dataset(tmp_path / "d", make, n=8), OFFLINE)
    window.model.state.current = 2  # the preview and the lists fill in
    qtbot.waitUntil(lambda: window.panels["preview"].row == 2, timeout=SLOW)
    qtbot.wait(200)
    assert window.minimumSizeHint().width() <= 1000 and window.minimumSizeHint().height() <= 700
    assert window.height() <= 700 and window.width() <= 1000
    bar = window.statusBar()
    assert bar.isVisible() and bar.mapTo(window, bar.rect().bottomLeft()).y() <= window.height()
