"""Pointing at the map as a person does: rest on a point until its ring and card show, then click.

Issue 13: the hover ring (a pyqtgraph scatter item) took the click for itself, so a point a person
had rested on could not be selected; neither could the current item's partners, drawn as
diamonds. Every click here comes after the dwell.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.map.helpers import grid, show_layout, widget_xy
from tests.gui.people import hover_click


def _shown_layout(qtbot, panel):
    pos = grid()
    show_layout(qtbot, panel, pos)
    panel.reset_view()
    panel.plot.grab()  # settle the view transform
    return pos


def _card_on(panel, row):
    return lambda: panel.card.isVisible() and panel.card.row == row


def test_resting_on_a_point_then_clicking_makes_it_current(qtbot, panel):
    pos = _shown_layout(qtbot, panel)
    x, y = widget_xy(panel, *pos[9])
    vp = panel.plot.viewport()
    with qtbot.waitSignal(panel.state.events.current, timeout=5000):
        hover_click(qtbot, vp, (x + 2, y), shown=_card_on(panel, 9))
    assert panel.state.current == 9
    assert len(panel.markers.hover.getData()[0]) == 1  # the ring was up when it was clicked
    # and again on another point, resting on it first: the current item's ring is no trap either
    x, y = widget_xy(panel, *pos[16])
    with qtbot.waitSignal(panel.state.events.current, timeout=5000):
        hover_click(qtbot, vp, (x, y + 1), shown=_card_on(panel, 16))
    assert panel.state.current == 16


def test_clicking_a_partner_diamond_opens_that_item(qtbot, panel):
    pos = _shown_layout(qtbot, panel)
    panel.state.current = 11
    qtbot.waitUntil(lambda: panel._top is not None and panel._top[0] == 11, timeout=10_000)
    partner = next(int(r) for r in panel._top[1] if int(r) != 11)
    x, y = widget_xy(panel, *pos[partner])
    with qtbot.waitSignal(panel.state.events.current, timeout=5000):
        hover_click(qtbot, panel.plot.viewport(), (x, y), shown=_card_on(panel, partner))
    assert panel.state.current == partner


def test_ctrl_click_after_a_rest_adds_and_removes_from_the_selection(qtbot, panel):
    pos = _shown_layout(qtbot, panel)
    vp, ctrl = panel.plot.viewport(), Qt.KeyboardModifier.ControlModifier
    for row in (3, 4):
        x, y = widget_xy(panel, *pos[row])
        with qtbot.waitSignal(panel.state.events.selection, timeout=5000):
            hover_click(qtbot, vp, (x, y), shown=_card_on(panel, row), modifiers=ctrl)
    assert panel.state.selection == (3, 4)
    x, y = widget_xy(panel, *pos[3])
    with qtbot.waitSignal(panel.state.events.selection, timeout=5000):
        hover_click(qtbot, vp, (x, y), shown=_card_on(panel, 3), modifiers=ctrl)
    assert panel.state.selection == (4,)
