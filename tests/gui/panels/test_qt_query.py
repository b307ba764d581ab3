"""The Text query panel: Enter searches, hits fill the list and the map highlight."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from mmviewer.core.data.media import Loaded
from mmviewer.gui.panels.qt_query import QtQuery

WAIT = 30_000


class StubTextEncoder:
    """Embeds any text as item05's text vector (the table's text space)."""

    modality = "text"

    def __init__(self, vector):
        self.vector = np.asarray(vector, np.float32)
        self.seen = []

    def prepare(self, ref):
        return Loaded(ref.text)

    def encode(self, texts):
        self.seen.extend(texts)
        return np.stack([self.vector for _ in texts])


@pytest.fixture
def panel(qtbot, model):
    model.encoders["text"] = StubTextEncoder(model.workspace.table.vectors["text"][5])
    widget = QtQuery(model.state, model)
    qtbot.addWidget(widget)
    widget.resize(400, 500)
    widget.show()
    return widget


def test_enter_runs_the_query_and_highlights_hits(qtbot, panel, model):
    panel.edit.setText("a blue thing")
    with qtbot.waitSignal(panel.results_shown, timeout=WAIT):
        qtbot.keyClick(panel.edit, Qt.Key.Key_Return)
    assert model.encoders["text"].seen == ["a blue thing"]
    assert 5 in model.state.highlight
    assert panel.results.count() == len(model.state.highlight) >= 1
    assert panel.results.item(0).data(Qt.ItemDataRole.UserRole) == 5
    assert panel.status.text().startswith(f"Lit {panel.results.count()} of 30 items")


def test_top_k_and_a_minimum_score_decide_how_many_light_up_and_the_status_says_so(qtbot, panel, model):
    from tests.gui.people import type_text

    panel.k_spin.setValue(30)
    with qtbot.waitSignal(panel.results_shown, timeout=WAIT):
        type_text(panel.edit, "a blue thing", enter=True)
    assert len(model.state.highlight) == 30 and "every item" in panel.status.text()
    scores = sorted((float(t.split("·")[1].split()[0]) for t in
                     (panel.results.item(i).text() for i in range(30))), reverse=True)
    threshold = round((scores[4] + scores[5]) / 2, 2)  # between the 5th and 6th best
    with qtbot.waitSignal(panel.results_shown, timeout=WAIT):
        panel.min_spin.lineEdit().selectAll()
        type_text(panel.min_spin.lineEdit(), f"{threshold:.2f}", enter=True)
    lit = sum(s >= threshold for s in scores)
    assert len(model.state.highlight) == lit == panel.results.count() and 0 < lit < 30
    assert panel.status.text().startswith(f"Lit {lit} of 30 items")
    assert f"{30 - lit} of the top 30 score under {threshold:.2f}" in panel.status.text()


def test_clicking_a_hit_selects_it_and_clear_resets(qtbot, panel, model):
    with qtbot.waitSignal(panel.results_shown, timeout=WAIT):
        panel.search("anything")
    item = panel.results.item(1)
    rect = panel.results.visualItemRect(item)
    qtbot.mouseClick(panel.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert model.state.current == item.data(Qt.ItemDataRole.UserRole)
    panel.clear_button.click()
    assert model.state.highlight == () and panel.results.count() == 0


def test_without_a_text_encoder_the_panel_says_why(qtbot, panel, model):
    del model.encoders["text"]
    with qtbot.waitSignal(model.notice, timeout=WAIT):
        panel.search("red")
    assert "text encoder" in panel.status.text()
    assert model.state.highlight == ()


def test_every_control_explains_itself(panel):
    for widget in (panel.edit, panel.search_button, panel.clear_button, panel.results):
        assert widget.toolTip()
    assert "CLIP" in panel.edit.toolTip() and "TF-IDF" in panel.edit.toolTip()
