"""Reopening a folder brings back what the user was looking at (issue 13).

The session was saved with colour "Match correctness" on audio → image and the audio → image
list open; reopening showed "Internal error" (the colouring ran before the map knew the table's
pairs), the pair came back as image → text, and the list as text → image.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from mmviewer.core.embed.options import EmbedOptions
from tests.gui.people import click
from tests.gui.test_main_window import SLOW, make_dataset

STORED = EmbedOptions(offline=True, use_store=True)


def _window(qtbot, settings):
    from mmviewer.gui.main_window import MainWindow

    win = MainWindow(settings=settings, options=STORED)
    win.ask_encoders = False
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    return win


def _open(qtbot, win, folder):
    errors = []
    win.model.notice.connect(lambda n: errors.append(n.text) if n.level == "error" else None)
    with qtbot.waitSignal(win.model.table_ready, timeout=SLOW):
        win.open_path(folder, STORED)
    return errors


def _choose(combo, text: str) -> None:
    """Pick ``text`` in a combo with the keyboard, as a person tabbing through does."""
    combo.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentText() == text:
            return
        QTest.keyClick(combo, Qt.Key.Key_Down)
    raise AssertionError(f"{text!r} not among {[combo.itemText(i) for i in range(combo.count())]}")


@pytest.mark.slow
def test_reopening_restores_the_match_colouring_its_pair_and_the_open_list(qtbot, settings, tmp_path, make):
    folder = make_dataset(tmp_path / "data", make, n=8)
    first = _window(qtbot, settings)
    errors = _open(qtbot, first, folder)
    tools = first.panels["map"].toolbar
    _choose(tools.colour_combo, "Match correctness")
    _choose(tools.pair_combo, "audio → image")
    matches = first.panels["matches"]
    click(matches.buttons["audio→image"])
    first.state.current = 3
    assert tools.pair_combo.currentText() == "audio → image" and matches.shown == "audio→image"
    first.close()  # saves the session

    second = _window(qtbot, settings)
    errors += _open(qtbot, second, folder)
    state, map_panel, matches = second.state, second.panels["map"], second.panels["matches"]
    assert errors == []
    assert map_panel.toolbar.colour_combo.currentText() == "Match correctness"
    assert map_panel.toolbar.pair_combo.currentText() == "audio → image"
    qtbot.waitUntil(lambda: map_panel.colouring is not None and map_panel.colouring.done, timeout=SLOW)
    assert map_panel.colouring.title == "Match audio → image"
    assert state.current == 3
    assert matches.shown == "audio→image" and matches.buttons["audio→image"].isChecked()
    qtbot.waitUntil(lambda: "audio → image" in matches.pair_header.text(), timeout=SLOW)
    assert (state.colour_by, state.match_pair, state.match_list) == ("match", ("audio", "image"),
                                                                    "audio→image")
    second.close()
