"""The map's colour and visibility choices: partner rank on a colour bar, tags, the selection
alone or hidden; its controls never move under the cursor."""

from __future__ import annotations

import numpy as np

from mmviewer.core.app import colours as mc
from tests.gui.map.helpers import grid, show_layout, widget_xy
from tests.gui.people import choose, hover_click


def _choose(combo, data) -> None:
    choose(combo, data=data)


def test_partner_rank_colours_on_a_ramp_with_a_bar_and_fills_in_as_ranks_land(qtbot, panel, still):
    show_layout(qtbot, panel, grid())
    still.state.match_pair = ("audio", "image")
    qtbot.waitUntil(lambda: still.items.done and bool(still.items.frame.values.total), timeout=60_000)
    with qtbot.waitSignal(panel.colours_changed, timeout=10_000):
        _choose(panel.toolbar.colour_combo, "value:rank")
    c = panel.colouring
    rank = still.items.frame.values.rank[("audio", "image")]
    assert c.title == "Partner rank" and c.note.startswith("audio → image: rank of each item's own")
    assert c.bar is not None and c.bar[2]  # a log scale
    assert c.index[0] == mc.RAMP  # item 0 has no audio: "no value"
    assert (c.index[rank == rank.min()] == 0).all()
    assert panel.legend.bar.isVisible() and "no value" in panel.legend.buttons[0].text()
    assert panel.toolbar.pair_combo.isEnabled()


def test_colour_by_tags_and_a_tag_follows_at_once(qtbot, panel, still):
    show_layout(qtbot, panel, grid())
    still.state.tag_rows("odd", range(1, 30, 2))
    with qtbot.waitSignal(panel.colours_changed, timeout=5000):
        _choose(panel.toolbar.colour_combo, "tags")
    assert [b.text() for b in panel.legend.buttons] == ["odd  (15)", "untagged  (15)"]
    with qtbot.waitSignal(panel.colours_changed, timeout=5000):
        still.state.tag_rows("first", [0, 1])
    labels = [b.text() for b in panel.legend.buttons]
    assert "several tags  (1)" in labels and "first  (1)" in labels


def test_colour_by_suspicion_computes_it_and_shows_a_bar_and_marks_colour_as_tags(qtbot, panel, still):
    show_layout(qtbot, panel, grid())
    assert still.suspects.status == "idle"  # nobody asked yet
    _choose(panel.toolbar.colour_combo, "value:suspicion")
    assert still.suspects.status == "computing"  # the map asked for it
    assert "Finding suspects" in panel.colouring.note and not panel.colouring.done
    qtbot.waitUntil(lambda: still.suspects.status == "ready" and panel.colouring.title == "Suspicion"
                    and np.isfinite(still.items.frame.suspicion).any(), timeout=60_000)
    qtbot.waitUntil(lambda: (panel.colouring.index < mc.RAMP).sum() == 30, timeout=10_000)
    c, r = panel.colouring, still.suspects.result
    assert c.bar is not None and not c.bar[2]  # a linear scale
    top, low = int(r.order()[0]), int(r.order()[-1])
    assert c.index[top] > c.index[low]
    assert "above" in c.note and panel.legend.bar.isVisible()
    # a "wrong" mark is a tag: the Tags colouring shows it
    still.suspects.mark([top], "wrong")
    with qtbot.waitSignal(panel.colours_changed, timeout=5000):
        _choose(panel.toolbar.colour_combo, "tags")
    assert [b.text() for b in panel.legend.buttons][0] == "suspect:wrong  (1)"


def test_only_the_selection_on_the_map_then_hide_it_then_all(qtbot, panel, still):
    pos = grid()
    show_layout(qtbot, panel, pos)
    panel.reset_view()
    panel.plot.grab()
    state, actions = still.state, panel.selection_actions.actions
    state.selection = (3, 4, 9)
    assert panel.toolbar.selection_button.text() == "3 selected"
    actions["only"].trigger()
    assert state.hidden == tuple(r for r in range(30) if r not in (3, 4, 9))
    order = panel.items.item._get_ordered("x")
    assert len(order) == 3  # only three points are drawn
    # a hidden point cannot be hovered or clicked; a shown one can, after a rest
    assert panel.row_at(*pos[10]) == -1 and panel.row_at(*pos[9]) == 9
    x, y = widget_xy(panel, *pos[4])
    with qtbot.waitSignal(state.events.current, timeout=5000):
        hover_click(qtbot, panel.plot.viewport(), (x, y),
                    shown=lambda: panel.card.isVisible() and panel.card.row == 4)
    assert state.current == 4
    actions["all"].trigger()
    actions["hide"].trigger()
    assert state.hidden == (3, 4, 9) and len(panel.items.item._get_ordered("x")) == 27
    assert panel.select_in_rect(-1, -1, 10, 10) == tuple(r for r in range(30) if r not in (3, 4, 9))
    actions["all"].trigger()
    assert state.hidden == () and len(panel.items.item._get_ordered("x")) == 30


def test_choosing_a_colouring_moves_no_control(qtbot, panel):
    show_layout(qtbot, panel, grid())
    tb = panel.toolbar
    widgets = [tb.colour_combo, tb.pair_combo, tb.size_spin, tb.source_combo, tb.selection_button]
    before = [w.mapTo(panel, w.rect().topLeft()) for w in widgets]
    for value in ("match", "value:score", "meta:label", "tags", "modalities"):
        _choose(tb.colour_combo, value)
        qtbot.wait(50)
        assert [w.mapTo(panel, w.rect().topLeft()) for w in widgets] == before, value
    assert np.all([w.isVisible() for w in widgets])
