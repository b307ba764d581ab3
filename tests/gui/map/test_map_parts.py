"""The map's numpy parts: rasteriser, hit index, colourings, line segments, variants."""

from __future__ import annotations

import numpy as np
import pytest

from mmviewer.core.app import colours as mc
from mmviewer.core.layout.point_index import PointIndex, points_in_polygon
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.gui.map.layer import segment_pairs
from mmviewer.gui.map.raster import Rasteriser, colour_table
from mmviewer.gui.map.renderer import DIM, FADED, HIGHLIGHTED, NORMAL, SELECTED
from mmviewer.gui.map.styling import variants_for
from tests.planted import planted_table

RED, BLUE = (1.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 1.0)
TABLE = colour_table(np.array([RED, BLUE]), np.array([RED, BLUE]))


def argb(img, x, y):
    v = int(img[y, x])
    return (v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255


# -- rasteriser ----------------------------------------------------------------------------------------
def test_a_point_is_a_disc_centred_on_its_pixel():
    img = Rasteriser().render(np.array([10.0], np.float32), np.array([20.0], np.float32),
                              np.array([0]), TABLE, (1, 0, 1, 0), 64, 48, radius=4.0)
    assert img.shape == (48, 64) and img.dtype == np.uint32
    a = (img >> 24) & 255
    ys, xs = np.nonzero(a > 127)
    assert abs(xs.mean() - 9.5) < 0.6 and abs(ys.mean() - 19.5) < 0.6  # pixel i spans [i, i+1)
    assert argb(img, 10, 20) == (255, 255, 0, 0)
    assert argb(img, 30, 5) == (0, 0, 0, 0)  # transparent elsewhere


def test_the_last_point_in_draw_order_wins_and_the_affine_maps_data_to_pixels():
    r = Rasteriser()
    x = np.array([1.0, 1.0], np.float32)
    y = np.array([2.0, 2.0], np.float32)
    img = r.render(x, y, np.array([0, 1]), TABLE, (10, 5, -10, 40), 40, 40, radius=3.0)
    assert argb(img, 15, 20)[1:] == (0, 0, 255)  # x*10+5, -y*10+40
    img = r.render(x, y, np.array([1, 0]), TABLE, (10, 5, -10, 40), 40, 40, radius=3.0)
    assert argb(img, 15, 20)[1:] == (255, 0, 0)


def test_many_points_take_the_dense_path_and_still_land_in_place():
    rng = np.random.default_rng(0)
    n = 400_000
    x = rng.uniform(0, 100, n).astype(np.float32)
    y = rng.uniform(0, 100, n).astype(np.float32)
    x[:100] = 50.0
    y[:100] = 50.0
    style = np.zeros(n, int)
    style[99] = 1  # drawn after the other 99 at the same spot
    r = Rasteriser()
    img = r.render(x, y, style, TABLE, (4, 0, 4, 0), 400, 400)
    assert r.last_path == "dense" and r.last_visible == n
    assert argb(img, 200, 200)[1:] in ((0, 0, 255), (255, 0, 0))
    assert ((img >> 24) > 0).mean() > 0.9  # the square is covered


def test_non_finite_points_are_skipped_on_both_paths():
    rng = np.random.default_rng(2)
    for n in (10, 300_000):
        x = rng.uniform(0, 50, n).astype(np.float32)
        y = rng.uniform(0, 50, n).astype(np.float32)
        x[::3], y[1::3] = np.nan, np.inf
        r = Rasteriser()
        img = r.render(x, y, np.zeros(n, int), TABLE, (1, 0, 1, 0), 50, 50)
        assert img.shape == (50, 50) and img.any()
        assert r.last_visible == pytest.approx(len(x[2::3]), rel=0.01)  # sampled above 262k


def test_points_outside_the_view_cost_nothing_visible():
    r = Rasteriser()
    img = r.render(np.array([-100.0, 500.0], np.float32), np.array([5.0, 5.0], np.float32),
                   np.array([0, 0]), TABLE, (1, 0, 1, 0), 50, 50)
    assert not img.any() and r.last_visible == 0


def test_symbols_have_different_shapes():
    r = Rasteriser()
    shapes = []
    for sym in range(4):
        img = r.render(np.array([16.0], np.float32), np.array([16.0], np.float32), np.array([0]),
                       TABLE, (1, 0, 1, 0), 32, 32, symbols=np.array([sym]), radius=8.0)
        shapes.append(((img >> 24) & 255) > 127)
    for i in range(4):
        for j in range(i + 1, 4):
            assert (shapes[i] != shapes[j]).sum() > 10


# -- hit index ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tree", [True, False])
def test_nearest_matches_a_brute_force_scan(tree):
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(5000, 2))
    index = PointIndex(pos, tree=tree)
    for q in rng.normal(size=(50, 2)):
        expected = int(np.argmin(((pos - q) ** 2).sum(1)))
        assert index.nearest(*q) == expected
    assert index.nearest(50.0, 50.0, max_dist=1.0) == -1


def test_polygon_test_matches_a_per_point_ray_cast():
    rng = np.random.default_rng(4)
    pos = rng.uniform(-1, 1, size=(3000, 2))
    angles = np.sort(rng.uniform(0, 2 * np.pi, 25))
    radii = rng.uniform(0.3, 1.0, 25)
    poly = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])

    def inside(px, py):
        hit = False
        for (ax, ay), (bx, by) in zip(poly, np.roll(poly, -1, 0), strict=True):
            if (ay > py) != (by > py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
                hit = not hit
        return hit

    expected = [i for i, (px, py) in enumerate(pos) if inside(px, py)]
    assert points_in_polygon(pos, poly).tolist() == expected
    assert PointIndex(pos).in_rect(0, 0, 1, 1).tolist() == np.flatnonzero(
        (pos[:, 0] >= 0) & (pos[:, 1] >= 0)).tolist()


# -- colourings ----------------------------------------------------------------------------------------------
def test_metadata_keeps_the_top_categories_and_pools_the_rest():
    values = np.array([f"c{i % 20}" for i in range(400)] + [None] * 7 + ["c0"] * 50, dtype=object)
    c = mc.metadata(values, "kind")
    assert c.labels[0] == "c0" and len(c.labels) == mc.TOP_N + 2
    assert c.labels[-2] == "other (8 values)" and c.labels[-1] == "(none)"
    assert c.counts[-1] == 7 and c.counts.sum() == len(values)
    assert len({tuple(col) for col in c.colours[: mc.TOP_N]}) == mc.TOP_N
    assert (c.index[:400][np.arange(400) % 20 == 0] == 0).all()


def test_numeric_metadata_with_many_values_is_binned():
    values = np.linspace(0, 1, 1000)
    c = mc.metadata(values, "score")
    assert len(c.labels) == mc.BINS and c.counts.sum() == 1000
    assert (np.diff(c.index) >= 0).all()  # monotone in the value


def test_availability_and_match_correctness_on_the_planted_table():
    from mmviewer.core.match.workspace import Workspace

    t = planted_table()
    c = mc.availability(t)
    assert c.labels == ["image + text + audio", "image + text"] and c.index[0] == 1
    ws = Workspace(t)
    result = run_to_end(mc.match_correctness(ws, "text", "image", "auto"))
    for row in range(30):
        best = ws.cross_matches(row, "text", "image", "auto", k=1).rows[0]
        assert result.index[row] == (mc.CORRECT if best == row else mc.WRONG)
    correct, scored = result.counts[mc.CORRECT], result.counts[mc.CORRECT] + result.counts[mc.WRONG]
    assert result.done and result.note.startswith(f"{correct} of {scored} correct (")
    assert ("audio", "text") in mc.modality_pairs(t)


# -- line segments and variants ------------------------------------------------------------------------
def test_segments_join_every_pair_of_an_items_points():
    rows = np.array([0, 1, 2, 0, 2, 0])
    which = np.array([0, 0, 0, 1, 1, 2])
    seg = segment_pairs(rows, which, 3)
    pairs = {tuple(sorted(p)) for p in seg.tolist()}
    assert pairs == {(0, 3), (0, 5), (3, 5), (2, 4)}


def test_variants_put_highlight_over_selection_over_the_rest():
    assert variants_for(5, (), ()) is None
    assert variants_for(4, (1,), ()).tolist() == [FADED, SELECTED, FADED, FADED]
    assert variants_for(4, (1,), (2,)).tolist() == [DIM, SELECTED, HIGHLIGHTED, DIM]
    assert variants_for(3, (), (0, 7)).tolist() == [HIGHLIGHTED, DIM, DIM]
    assert NORMAL not in variants_for(3, (0,), ()).tolist()
