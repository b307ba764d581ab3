"""Pictures on the map: thumbnails at the items' places when few are in view, dots otherwise,
decoded by a job and cached in the store, framed in the colouring's colours."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtGui import QColor

import mmviewer.gui.showcase.map_images as mi
from tests.gui.map.helpers import grid, show_layout


@pytest.fixture
def pictures(qtbot, panel, still):
    still.options = replace(still.options, use_store=True)  # thumbnails go to <data>/.mmviewer
    panel.images._on_model_table_ready()
    show_layout(qtbot, panel, grid(30, 6, 1.0))
    panel.state.colour_by = "meta:label"
    qtbot.waitUntil(lambda: panel.colouring is not None and panel.colouring.title == "label")
    return panel.images


def test_pictures_replace_the_dots_and_are_cached_in_the_store(qtbot, pictures, panel, still):
    assert pictures.action.isEnabled() and not pictures.enabled
    with qtbot.waitSignal(pictures.shown) as shown:
        pictures.set_enabled(True)
    assert shown.args == [30]
    qtbot.waitUntil(lambda: len(pictures.item.images) == 30, timeout=20_000)
    panel.plot.grab()  # paint
    assert pictures.item.drawn == 30
    qtbot.waitUntil(lambda: not pictures._job.active)  # the job writes its pack as it ends
    packs = list((still.dataset.root / ".mmviewer" / "thumbnails" / "128px").glob("pack-*.bin"))
    assert packs  # made once, read from the store next time
    # the frames carry the label colours: a red item's frame is the colour of "red"
    c = panel.colouring
    red = c.colours[c.labels.index("red")]
    assert pictures.item.frames[0] == QColor.fromRgbF(*[float(v) for v in red])
    # a picture is hovered and clicked anywhere on it, not only at its centre
    reach = pictures.reach_px()
    assert reach > 12
    px = panel.view_box.viewPixelSize()[0]
    assert panel.row_at(0.0 + 0.8 * reach * px, 0.0) == 0
    pictures.set_enabled(False)
    assert len(pictures.item.rows) == 0
    assert panel.row_at(0.0 + 0.8 * reach * px, 0.0) == -1  # dots: the usual 10 px reach


def test_many_items_in_view_stay_dots_until_zoomed_in(qtbot, pictures, panel, monkeypatch):
    monkeypatch.setattr(mi, "MAX_IN_VIEW", 10)
    pictures.set_enabled(True)
    assert len(pictures.item.rows) == 0 and pictures.note.isVisible()
    assert "30 items in view" in pictures.note.text()
    with qtbot.waitSignal(pictures.shown) as shown:
        panel.view_box.setRange(xRange=(-0.2, 2.2), yRange=(-0.2, 1.2), padding=0)
    assert 0 < shown.args[0] <= 10 and not pictures.note.isVisible()
    rows = set(pictures.item.rows.tolist())
    assert rows == {0, 1, 2, 6, 7, 8}  # the grid's first two rows, first three columns
    qtbot.waitUntil(lambda: set(pictures.item.images) == rows, timeout=20_000)


def test_selection_fades_the_others_and_the_current_item_is_outlined(qtbot, pictures, panel):
    pictures.set_enabled(True)
    panel.state.selection = (3, 4)
    assert pictures.item.faded == set(range(30)) - {3, 4} and pictures.item.outlined == {3, 4}
    panel.state.current = 4
    assert pictures.item.current == 4


def test_a_table_without_images_offers_no_pictures(qtbot, panel, still):
    still.dataset = None
    panel.images._on_model_table_ready()
    assert not panel.images.action.isEnabled()
    panel.images.set_enabled(True)
    assert not panel.images.enabled and len(panel.images.item.rows) == 0


def test_the_exported_picture_shows_the_thumbnails(qtbot, pictures, panel, tmp_path):
    from PySide6.QtGui import QImage

    from mmviewer.gui.showcase.picture import PictureSpec, save_picture

    pictures.set_enabled(True)
    qtbot.waitUntil(lambda: len(pictures.item.images) == 30, timeout=20_000)
    image = QImage(str(save_picture(panel, tmp_path / "m.png", PictureSpec(900, 600))))
    arr = np.array([[QColor(image.pixel(x, y)).green() for x in range(0, 900, 3)]
                    for y in range(100, 600, 3)])
    assert (arr > 200).sum() > 500  # the thumbnails' bright green gradient, not only dots
