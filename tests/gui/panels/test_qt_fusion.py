"""The fusion panel writes the view state and follows changes made elsewhere, without loops."""

from __future__ import annotations

import pytest

from mmviewer.core.app.state import METHODS, ViewState


@pytest.fixture
def fusion(qtbot):
    from mmviewer.gui.panels.qt_fusion import QtFusion

    state = ViewState()
    state.reset(["image", "text", "audio"])
    panel = QtFusion(state)
    qtbot.addWidget(panel)
    return panel


def test_one_slider_per_modality_at_the_state_weights(fusion):
    assert list(fusion.sliders) == ["image", "text", "audio"]
    assert all(s.value() == pytest.approx(1.0) for s in fusion.sliders.values())
    assert all(s.toolTip() for s in fusion.sliders.values())


def test_moving_a_slider_writes_the_state_at_every_step(fusion):
    seen = []
    fusion.state.events.weights.connect(lambda w: seen.append(dict(w)["audio"]))
    slider = fusion.sliders["audio"]
    for value in (0.8, 0.5, 0.25):  # a drag: valueChanged fires on each step
        slider.setValue(value)
    assert seen == [0.8, 0.5, 0.25]
    assert fusion.state.weight_map == {"image": 1.0, "text": 1.0, "audio": 0.25}


def test_external_changes_show_without_feedback(fusion):
    seen = []
    fusion.state.events.weights.connect(lambda w: seen.append(w))
    fusion.state.set_weight("text", 0.4)  # e.g. a restored session
    assert fusion.sliders["text"].value() == pytest.approx(0.4)
    assert len(seen) == 1  # the slider update did not write back a second change
    fusion.state.weights = (("image", 2.0), ("text", 0.0))  # a table with other modalities
    assert list(fusion.sliders) == ["image", "text"]
    assert fusion.sliders["image"].value() == pytest.approx(2.0)
    assert fusion.sliders["text"].value() == pytest.approx(0.0)


def test_reset_sets_equal_weights(fusion):
    fusion.sliders["image"].setValue(0.1)
    fusion.reset_button.click()
    assert fusion.state.weight_map == {"image": 1.0, "text": 1.0, "audio": 1.0}
    assert fusion.sliders["image"].value() == pytest.approx(1.0)


def test_method_combo_and_state_follow_each_other(fusion):
    combo = fusion.method_combo
    assert [combo.itemData(i) for i in range(combo.count())] == list(METHODS)
    assert all(combo.itemData(i, 3) for i in range(combo.count()))  # 3 = ToolTipRole
    combo.setCurrentIndex(combo.findData("cca"))
    assert fusion.state.method == "cca"
    fusion.state.method = "ridge"
    assert combo.currentData() == "ridge"


def test_list_length_and_state_follow_each_other(fusion):
    fusion.k_spin.setValue(25)
    assert fusion.state.k == 25
    fusion.state.k = 5
    assert fusion.k_spin.value() == 5


def test_a_session_restore_moves_every_control(fusion):
    fusion.state.apply_session({"weights": {"audio": 0.5}, "method": "procrustes", "k": 7},
                               index_of=lambda _id: 0)
    assert fusion.sliders["audio"].value() == pytest.approx(0.5)
    assert fusion.method_combo.currentData() == "procrustes"
    assert fusion.k_spin.value() == 7


def test_no_dataset_shows_a_hint_instead_of_sliders(qtbot):
    from mmviewer.gui.panels.qt_fusion import QtFusion

    panel = QtFusion(ViewState())
    qtbot.addWidget(panel)
    assert panel.sliders == {} and not panel.reset_button.isEnabled()
