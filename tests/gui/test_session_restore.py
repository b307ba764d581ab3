"""Reopening a folder brings back what the user was looking at (issue 13).

The session was saved with colour "Match correctness" on audio → image and the audio → image
list open; reopening showed "Internal error" (the colouring ran before the map knew the table's
pairs), the pair came back as image → text, and the list as text → image.
"""

from __future__ import annotations

import pytest

from mmviewer.core.embed.options import EmbedOptions
from tests.gui.people import choose, click
from tests.gui.test_main_window import SLOW, make_dataset

STORED = EmbedOptions(offline=True, use_store=True)


def _open(qtbot, win, folder):
    errors = []
    win.model.notice.connect(lambda n: errors.append(n.text) if n.level == "error" else None)
    with qtbot.waitSignal(win.model.table_ready, timeout=SLOW):
        win.open_path(folder, STORED)
    return errors


@pytest.mark.slow
def test_reopening_restores_the_match_colouring_its_pair_and_the_open_list(qtbot, make_window, tmp_path, make):
    folder = make_dataset(tmp_path / "data", make, n=8)
    first = make_window(STORED)
    errors = _open(qtbot, first, folder)
    tools = first.panels["map"].toolbar
    choose(tools.colour_combo, "Match correctness")
    choose(tools.pair_combo, "audio → image")
    matches = first.panels["matches"]
    click(matches.buttons["audio→image"])
    first.state.current = 3
    assert tools.pair_combo.currentText() == "audio → image" and matches.shown == "audio→image"
    first.close()  # saves the session

    second = make_window(STORED)
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


@pytest.mark.slow
def test_the_status_line_tells_the_reopened_table_is_checked_then_ready(qtbot, make_window, tmp_path, make):
    folder = make_dataset(tmp_path / "data", make, n=8)
    first = make_window(STORED)
    _open(qtbot, first, folder)
    qtbot.waitUntil(lambda: not first.model.jobs.is_active("embed"), timeout=SLOW)
    first.close()  # saves the session and its table

    second = make_window(STORED)
    said = []
    second.model.opened.connect(lambda _: said.append(second.status.message.text()))
    with qtbot.waitSignal(second.model.embedding_done, timeout=SLOW):
        second.open_path(folder, STORED)
    assert said and said[0].startswith("Showing the last session; checking 8 items")
    # The table on screen was unchanged (no new table_ready): the line still says it is ready.
    assert second.status.message.text().startswith("data: 8 items (")
