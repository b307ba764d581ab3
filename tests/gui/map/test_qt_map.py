"""The map panel, built from a plain state and a model whose table is planted.

Most tests use a model that runs no layout jobs (:class:`StillModel`), so a test emits
exactly the layouts it wants and nothing races with it; one test runs the real PCA -> UMAP path.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QPolygonF
from PySide6.QtWidgets import QApplication

from mmviewer.core.layout.transform import align_to
from mmviewer.gui.map.qt_map import QtMap
from mmviewer.gui.map.renderer import DIM, HIGHLIGHTED, NORMAL, SELECTED
from tests.gui.map.helpers import grid, show_layout, widget_xy
from tests.planted import planted_table


# -- building and drawing --------------------------------------------------------------------------
@pytest.mark.slow  # a real UMAP fit (numba compiles on first use)
def test_builds_from_the_controller_fixture_and_glides_from_pca_to_umap(qtbot, model):
    panel = QtMap(model.state, model)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: model.layout_kind == "umap" and panel.items.n_points == 30
                    and not panel.items.gliding, timeout=120_000)
    shown = panel.items.displayed()
    # what is drawn is the UMAP layout up to the similarity transform used for the glide
    np.testing.assert_allclose(align_to(shown, model.positions), model.positions,
                               atol=1e-3 * np.ptp(model.positions))
    assert panel.toolbar.colour_combo.findData("meta:label") >= 0


def test_a_layout_emission_draws_every_point_where_the_view_maps_it(qtbot, panel):
    panel.state.colour_by = "meta:label"
    pos = grid()
    show_layout(qtbot, panel, pos)
    assert panel.items.n_points == 30
    panel.reset_view()
    img = panel.plot.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    dpr = img.devicePixelRatio()  # 1 here; 2 under QT_SCALE_FACTOR=2
    colours = panel.items.item.colours_of(np.arange(30))
    for row, (x, y) in enumerate(pos):
        px, py = widget_xy(panel, x, y)
        c = img.pixelColor(int(px * dpr), int(py * dpr))
        got = np.array([c.redF(), c.greenF(), c.blueF()])
        np.testing.assert_allclose(got, colours[row], atol=0.05, err_msg=f"row {row}")
    assert panel.items.item.raster.last_path == "sparse"


def test_current_item_marker_moves_without_rebuilding_the_points(qtbot, panel):
    pos = grid()
    show_layout(qtbot, panel, pos)
    item, version = panel.items.item, panel.items.item.data_version
    panel.state.current = 7
    ring = panel.markers.ring.getData()
    assert (ring[0][0], ring[1][0]) == pytest.approx(tuple(pos[7]))
    panel.state.current = 11
    ring = panel.markers.ring.getData()
    assert (ring[0][0], ring[1][0]) == pytest.approx(tuple(pos[11]))
    qtbot.waitUntil(lambda: panel._top is not None and panel._top[0] == 11, timeout=10_000)
    assert len(panel.markers.partners.getData()[0]) >= 1  # its top cross-modal matches
    assert panel.items.item is item and item.data_version == version


def test_selection_and_highlight_restyle_in_place(qtbot, panel):
    show_layout(qtbot, panel, grid())
    item, version = panel.items.item, panel.items.item.data_version
    panel.state.selection = (1, 2)
    assert item._variant[[1, 2]].tolist() == [SELECTED, SELECTED]
    assert (np.delete(item._variant, [1, 2]) != SELECTED).all()
    panel.state.highlight = (5,)
    assert item._variant[5] == HIGHLIGHTED and item._variant[0] == DIM
    assert item._variant[1] == SELECTED
    panel.state.selection = ()
    panel.state.highlight = ()
    assert item._variant is None or (item._variant == NORMAL).all()
    assert item.data_version == version


# -- selecting ---------------------------------------------------------------------------------------
def test_rectangle_selection_selects_exactly_the_points_inside(qtbot, panel):
    pos = grid()
    show_layout(qtbot, panel, pos)
    got = panel.select_in_rect(0.5, 0.5, 3.5, 2.5)
    inside = (pos[:, 0] >= 0.5) & (pos[:, 0] <= 3.5) & (pos[:, 1] >= 0.5) & (pos[:, 1] <= 2.5)
    assert got == tuple(np.flatnonzero(inside)) == panel.state.selection
    panel.select_in_rect(3.5, 3.5, 6, 6, op="add")
    corner = (pos[:, 0] >= 3.5) & (pos[:, 1] >= 3.5)
    assert panel.state.selection == tuple(np.flatnonzero(inside | corner))
    panel.select_in_rect(0, 0, 9, 9, op="subtract")
    assert panel.state.selection == ()


def test_lasso_selection_selects_exactly_the_points_inside(qtbot, panel):
    pos = grid()
    show_layout(qtbot, panel, pos)
    lasso = np.array([(-0.5, -0.5), (5.5, -0.2), (2.2, 4.6), (1.1, 1.4)])
    got = panel.select_in_polygon(lasso)
    poly = QPolygonF([QPointF(*p) for p in lasso])
    expected = tuple(i for i, (x, y) in enumerate(pos)
                     if poly.containsPoint(QPointF(float(x), float(y)), Qt.FillRule.OddEvenFill))
    assert got == expected == panel.state.selection and 0 < len(expected) < 30


def _mouse(widget, kind, pos, button, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
    p = QPointF(*pos)
    ev = QMouseEvent(kind, p, QPointF(widget.mapToGlobal(p.toPoint())), button, buttons, modifiers)
    QApplication.sendEvent(widget, ev)


def _drag(panel, points, modifiers):
    vp = panel.plot.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _mouse(vp, QEvent.Type.MouseButtonPress, points[0], left, left, modifiers)
    for p in points[1:]:
        _mouse(vp, QEvent.Type.MouseMove, p, none, left, modifiers)
    _mouse(vp, QEvent.Type.MouseButtonRelease, points[-1], left, none, modifiers)


def test_shift_drag_draws_a_rectangle_that_selects(qtbot, panel):
    pos = grid()
    show_layout(qtbot, panel, pos)
    panel.reset_view()
    panel.plot.grab()  # settle the view transform
    a, b = widget_xy(panel, 0.5, 0.5), widget_xy(panel, 2.5, 3.5)
    steps = [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for t in np.linspace(0, 1, 8)]
    with qtbot.waitSignal(panel.state.events.selection, timeout=2000):
        _drag(panel, steps, Qt.KeyboardModifier.ShiftModifier)
    inside = (pos[:, 0] >= 0.5) & (pos[:, 0] <= 2.5) & (pos[:, 1] >= 0.5) & (pos[:, 1] <= 3.5)
    assert panel.state.selection == tuple(np.flatnonzero(inside))


def test_ctrl_drag_and_the_lasso_tool_draw_a_lasso_that_selects(qtbot, panel, monkeypatch):
    import pyqtgraph as pg

    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)  # synthetic moves come at once
    pos = grid()
    show_layout(qtbot, panel, pos)
    panel.reset_view()
    panel.plot.grab()
    ring = [(2.5 + 1.6 * np.cos(a), 2.0 + 1.3 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 24)]
    path = [widget_xy(panel, x, y) for x, y in ring]
    poly = QPolygonF([QPointF(*p) for p in ring])
    expected = tuple(i for i, (x, y) in enumerate(pos)
                     if poly.containsPoint(QPointF(float(x), float(y)), Qt.FillRule.OddEvenFill))
    with qtbot.waitSignal(panel.state.events.selection, timeout=2000):
        _drag(panel, path, Qt.KeyboardModifier.ControlModifier)
    assert panel.state.selection == expected and len(expected) > 3
    panel.set_tool("lasso")
    assert panel.toolbar.tool_actions["lasso"].isChecked()
    panel.state.selection = ()
    with qtbot.waitSignal(panel.state.events.selection, timeout=2000):
        _drag(panel, path, Qt.KeyboardModifier.NoModifier)
    assert panel.state.selection == expected


def test_click_sets_current_and_escape_clears_the_selection(qtbot, panel):
    pos = grid()
    show_layout(qtbot, panel, pos)
    panel.reset_view()
    panel.plot.grab()
    x, y = widget_xy(panel, *pos[9])
    vp = panel.plot.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    with qtbot.waitSignal(panel.state.events.current, timeout=2000):
        _mouse(vp, QEvent.Type.MouseButtonPress, (x + 2, y), left, left)
        _mouse(vp, QEvent.Type.MouseButtonRelease, (x + 2, y), left, none)
    assert panel.state.current == 9
    panel.state.selection = (1, 2, 3)
    qtbot.keyClick(panel.plot, Qt.Key.Key_Escape)
    assert panel.state.selection == ()


def test_hover_finds_the_nearest_row_and_shows_its_thumbnail(qtbot, panel):
    pos = grid()
    show_layout(qtbot, panel, pos)
    panel.reset_view()
    x, y = pos[13]
    px = panel.view_box.viewPixelSize()[0]
    assert panel.row_at(x + 3 * px, y - 2 * px) == 13
    assert panel.row_at(x + 0.5, y + 0.5) == -1  # far from every point (grid step 1)
    with qtbot.waitSignal(panel.thumbnails.ready, timeout=10_000,
                          check_params_cb=lambda r: r == 13):
        assert panel.hover_at(x + px, y) == 13
    assert panel.card.isVisible() and "item13" in panel.card.text.text()
    qtbot.waitUntil(lambda: panel.card.image.pixmap() is not None
                    and not panel.card.image.pixmap().isNull())
    assert panel.hover_at(x + 0.5, y + 0.5) == -1 and not panel.card.isVisible()


# -- colours --------------------------------------------------------------------------------------------
def test_colour_by_metadata_gives_one_colour_per_label(qtbot, panel):
    show_layout(qtbot, panel, grid())
    with qtbot.waitSignal(panel.colours_changed, timeout=5000):
        panel.state.colour_by = "meta:label"
    labels = panel.model.workspace.table.metadata["label"]
    colours = panel.items.item.colours_of(np.arange(30))
    by_label = {lab: {tuple(c) for c in colours[labels == lab]} for lab in set(labels)}
    assert all(len(v) == 1 for v in by_label.values())
    assert len({next(iter(v)) for v in by_label.values()}) == 3
    assert panel.colouring.labels == ["blue", "green", "red"]
    assert [b.text() for b in panel.legend.buttons] == ["blue  (10)", "green  (10)", "red  (10)"]
    assert panel.toolbar.colour_combo.currentData() == "meta:label"


def test_colour_by_modalities_and_by_match_correctness(qtbot, panel):
    ws = panel.model.workspace
    show_layout(qtbot, panel, grid())
    assert panel.colouring.labels == ["image + text + audio", "image + text"]
    assert panel.colouring.counts.tolist() == [29, 1]
    panel.sync_limit = 0  # force the worker path
    panel.set_match_pair("audio", "image")
    with qtbot.waitSignal(panel.colours_changed, timeout=30_000,
                          check_params_cb=lambda: panel.colouring.done):
        panel.state.colour_by = "match"
    index = panel.colouring.index
    assert index[0] == 2  # item 0 has no audio
    for row in range(1, 30):
        best = ws.cross_matches(row, "audio", "image", "auto", k=1).rows[0]
        assert index[row] == (0 if best == row else 1), row
    assert panel.toolbar.pair_combo.isEnabled()


# -- line mode and glide --------------------------------------------------------------------------------
def test_line_mode_joins_each_items_modalities(qtbot, panel, still):
    t = still.workspace.table
    rows = np.concatenate([np.flatnonzero(t.present[m]) for m in t.modalities])
    which = np.concatenate([np.full(t.present[m].sum(), j) for j, m in enumerate(t.modalities)])
    pos = grid(len(rows), cols=10, step=1.0)
    panel.state.map_mode = "modalities"
    with qtbot.waitSignal(panel.points_changed, timeout=5000):
        still.modality_layout_ready.emit((pos, rows, which))
    layer = panel.modality_points
    assert layer.n_points == 89 and panel.layer is layer and layer.item.isVisible()
    seg = layer.segments
    assert len(seg) == 29 * 3 + 1
    assert (rows[seg[:, 0]] == rows[seg[:, 1]]).all() and (which[seg[:, 0]] != which[seg[:, 1]]).all()
    x, y = layer.curve.getData()
    assert len(x) == 2 * len(seg)
    np.testing.assert_allclose(np.column_stack([x, y]), pos[seg.ravel()])
    assert panel.row_at(*pos[40]) == rows[40]
    panel.state.current = int(rows[40])
    assert len(panel.markers.ring.getData()[0]) == 3  # all its modality points are ringed
    panel.state.map_mode = "items"
    assert not layer.item.isVisible() and panel.items.item.isVisible()


def test_glide_moves_points_in_place_and_ends_at_the_new_positions(qtbot, panel):
    a = grid()
    show_layout(qtbot, panel, a, "pca")
    item, version = panel.items.item, panel.items.item.data_version
    b = np.column_stack([a[:, 0] ** 1.5, a[:, 1] + 0.3 * a[:, 0]]).astype(np.float32) * 2 + 3
    frames = []
    panel.items.moved.connect(lambda: frames.append(panel.items.displayed()))
    with qtbot.waitSignal(panel.glide_finished, timeout=5000):
        panel.model.layout_ready.emit(b, "umap")
    final = panel.items.displayed()
    np.testing.assert_allclose(final, align_to(b, a), atol=1e-4)
    assert any(not np.allclose(f, a) and not np.allclose(f, final) for f in frames)
    assert panel.items.item is item and item.data_version == version


def test_new_table_clears_everything(qtbot, panel, still):
    show_layout(qtbot, panel, grid())
    panel.state.current, panel.state.selection = 3, (1, 2)
    still.set_table(planted_table(12, seed=1, ids=[f"new{i}" for i in range(12)]))
    assert panel.items.n_points == 0 and len(panel.markers.ring.getData()[0]) == 0
    show_layout(qtbot, panel, grid(12))
    assert panel.items.n_points == 12 and panel.colouring.counts.sum() == 12


# -- export ------------------------------------------------------------------------------------------
def test_export_writes_png_and_svg(qtbot, panel, tmp_path, monkeypatch):
    show_layout(qtbot, panel, grid())
    panel.state.colour_by = "meta:label"
    png = panel.export_image(tmp_path / "map.png")
    img = QImage(str(png))
    assert png.stat().st_size > 0 and not img.isNull() and img.width() > 100
    svg = panel.export_image(tmp_path / "map.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert svg.count("<path") + svg.count("<ellipse") + svg.count("<circle") >= 30
    monkeypatch.setattr("mmviewer.gui.map.renderer.VECTOR_EXPORT_MAX", 0)
    raster = panel.export_image(tmp_path / "raster.svg").read_text()
    assert "<image" in raster
