"""Which modality drives the map, told in the Fusion panel, with an offer to down-weight it;
and weights read the same on the slider and in the list headers."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from mmviewer.core.app.model import AppModel
from mmviewer.core.app.state import ViewState
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.gui.panels.qt_fusion import QtFusion
from mmviewer.gui.qt_jobs import QtScheduler
from tests.core.items.test_dominance import captioned_digits
from tests.gui.people import click


@pytest.fixture
def digits(qtbot):
    model = AppModel(ViewState(), scheduler=QtScheduler())
    model.options = EmbedOptions(use_store=False)
    model.request_layout = lambda cold=False, delay_s=0.0: None  # only the shares are under test
    model.set_table(captioned_digits())
    # The secondary jobs (the shares among them) start once the first map is shown.
    model.layout_ready.emit(np.zeros((model.workspace.table.n_items, 2), np.float32), "pca")
    yield model
    model.shutdown(stop_layouts=False)


def test_the_panel_names_the_driving_modality_and_down_weights_it_on_a_click(qtbot, digits):
    panel = QtFusion(digits.state, digits)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: digits.items.drivers is not None, timeout=60_000)
    assert "Text drives the map" in panel.drivers.text()
    assert panel.down_button.isVisible() and panel.down_button.text() == "Text weight → 0.50"
    with qtbot.waitSignal(digits.items.drivers_ready, timeout=60_000):  # measured again
        click(panel.down_button)
    assert digits.state.weight_map["text"] == 0.5
    assert "Text drives the map" not in panel.drivers.text()


def test_a_slider_drag_stores_what_the_slider_shows(qtbot, model):
    from mmviewer.gui.matches.qt_matches import QtMatches

    panel = QtFusion(model.state, model)
    matches = QtMatches(model.state, model)
    for w in (panel, matches):
        qtbot.addWidget(w)
        w.show()
    model.state.current = 3
    qtbot.waitUntil(lambda: "Similar items" in matches.similar_header.text()
                    and "fused" in matches.similar_header.text(), timeout=30_000)
    slider = panel.sliders["audio"]._slider  # the slider part of the labelled slider
    QTest.mousePress(slider, Qt.MouseButton.LeftButton, pos=slider.rect().center())
    for x in range(slider.width() // 2, slider.width() // 5, -7):  # a drag to the left
        QTest.mouseMove(slider, QPoint(x, slider.height() // 2))
    QTest.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() // 5, slider.height() // 2))
    weight = model.state.weight_map["audio"]
    assert weight < 1.0 and weight == round(weight, 2)
    assert f"audio {weight:.2f}" in matches.similar_header.text()
    assert panel.sliders["audio"]._label.text() == f"{weight:.2f}"
