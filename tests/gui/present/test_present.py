"""Presentation mode: full screen, large type, arrow keys step through the selection, the strip
shows the current item's matches, Escape leaves."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from mmviewer.gui.present.qt_present import QtPresentation, steps
from mmviewer.gui.preview.thumbnails import ThumbnailCache


@pytest.fixture
def show(qtbot, model):
    thumbnails = ThumbnailCache(model)
    window = QtPresentation(model.state, model, thumbnails)
    qtbot.addWidget(window)
    return window


def press(qtbot, window, key):
    qtbot.keyClick(QApplication.focusWidget() or window, key)


def test_steps_follow_the_selection_or_every_item():
    assert steps((12, 3, 7, 99), 30) == [3, 7, 12]
    assert steps((), 4) == [0, 1, 2, 3]


def test_arrow_keys_step_through_the_selection(qtbot, show, model):
    model.state.selection = (12, 3, 7)
    show.present()
    qtbot.waitExposed(show)
    assert show.isFullScreen() and model.state.current == 3
    assert show.font().pointSizeF() > 1.5 * QApplication.font().pointSizeF()
    assert "1 of 3 selected items" in show.heading.text()
    show.activateWindow()
    qtbot.waitUntil(show.isActiveWindow)
    for key, row in ((Qt.Key.Key_Right, 7), (Qt.Key.Key_Right, 12), (Qt.Key.Key_Right, 12),
                     (Qt.Key.Key_Left, 7), (Qt.Key.Key_Home, 3), (Qt.Key.Key_End, 12)):
        press(qtbot, show, key)
        assert model.state.current == row
    assert "3 of 3 selected items" in show.heading.text()
    press(qtbot, show, Qt.Key.Key_P)  # pictures on the map, for an audience
    assert show.map.images.action.isChecked()
    assert show.preview.row == 12  # the preview follows
    with qtbot.waitSignal(show.left):
        press(qtbot, show, Qt.Key.Key_Escape)
    assert not show.isVisible()


def test_the_strip_shows_the_current_items_matches_and_a_click_moves_on(qtbot, show, model):
    model.state.current = 4
    show.present()
    qtbot.waitUntil(lambda: show.strip.shown == "text→image" and len(show.strip.tiles) == 8,
                    timeout=20_000)
    first = show.strip.tiles[0]
    assert first.row == 4 and "its own" in first.caption.text()  # its caption's own image first
    qtbot.waitUntil(lambda: first.body.pixmap() is not None and not first.body.pixmap().isNull(),
                    timeout=20_000)
    other = show.strip.tiles[2]
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert model.state.current == other.row
    show.strip.show_list("similar")
    qtbot.waitUntil(lambda: len(show.strip.tiles) == 8 and show.strip.tiles[0].row != other.row,
                    timeout=20_000)
    assert "most similar" in show.strip.title.text()
