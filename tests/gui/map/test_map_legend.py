"""The legend never hides points unasked: beside the map when it is narrow next to it, folded to
its title above the points on a small map (1000 x 700 with the side panels open), and what the
user chose by clicking its title stays."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect

from mmviewer.core.app.state import COLOUR_MODALITIES
from tests.gui.map.helpers import grid, show_layout, widget_xy
from tests.gui.people import click, on_screen


def legend_rect(panel) -> QRect:
    top_left = panel.legend.mapTo(panel, QPoint(0, 0))
    return QRect(top_left, panel.legend.size())


def points_under_legend(panel, pos) -> list[int]:
    rect = legend_rect(panel).adjusted(-4, -4, 4, 4)  # a point's disc, not just its centre
    return [row for row, (x, y) in enumerate(pos)
            if rect.contains(QPoint(*(int(round(v)) for v in widget_xy(panel, x, y))))]


def coloured(qtbot, panel, pos, by="meta:label"):
    show_layout(qtbot, panel, pos)
    if panel.state.colour_by != by:  # modalities is where the map starts
        with qtbot.waitSignal(panel.colours_changed, timeout=5000):
            panel.state.colour_by = by
    panel.reset_view()
    qtbot.wait(50)


def test_on_a_big_map_the_key_is_open_beside_the_points(qtbot, panel):
    pos = grid()
    coloured(qtbot, panel, pos)
    assert not panel.legend.folded and panel.legend.isVisible()
    assert panel.view_box.reserved_px[0] > panel.legend.width()
    assert points_under_legend(panel, pos) == []


def test_on_a_small_map_the_key_folds_above_the_points_and_the_user_may_unfold_it(qtbot, panel):
    pos = np.random.default_rng(3).uniform(-1, 1, (30, 2))  # points in every corner
    panel.resize(430, 260)  # the map's share of a 1000 x 700 window with its side panels
    coloured(qtbot, panel, pos, COLOUR_MODALITIES)  # the key of long names the app opens with
    assert panel.legend.folded and panel.legend.isVisible()
    assert panel.view_box.reserved_px == (0, panel.legend.height() + 8)
    assert points_under_legend(panel, pos) == []

    click(panel.legend.title)  # the user wants the key: it floats over the map
    assert not panel.legend.folded
    panel.resize(440, 270)
    qtbot.wait(50)
    assert not panel.legend.folded  # the user's choice outlives a resize
    panel.resize(820, 640)
    qtbot.wait(50)
    click(panel.legend.title)
    panel.resize(430, 260)
    qtbot.wait(50)
    assert panel.legend.folded


def test_growing_the_map_unfolds_a_key_it_folded(qtbot, still):
    from mmviewer.gui.map.qt_map import QtMap

    panel = on_screen(qtbot, QtMap(still.state, still), 430, 260)
    pos = grid()
    coloured(qtbot, panel, pos, COLOUR_MODALITIES)
    assert panel.legend.folded
    panel.resize(900, 640)
    qtbot.waitUntil(lambda: not panel.legend.folded, timeout=2000)
    panel.reset_view()
    qtbot.wait(50)
    assert points_under_legend(panel, pos) == []
