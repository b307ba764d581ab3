"""A million rows: the table holds arrays, not rows, so it fills, filters and scrolls without
touching every item; cells are computed only for what is on screen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from mmviewer.core.app.items import ItemData
from mmviewer.core.app.model import AppModel
from mmviewer.core.app.state import ViewState
from mmviewer.core.data.table import EmbeddingTable
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.gui.qt_jobs import QtScheduler
from mmviewer.gui.table.qt_items import INLINE_MAX, QtItems
from tests.gui.people import on_screen, type_text

N = 1_000_000


class QuietModel(AppModel):
    """No layouts, metrics or lists: only the table is under test."""

    def request_layout(self, cold: bool = False, delay_s: float = 0.0) -> None:
        pass

    def request_metrics(self, delay_s: float = 0.0) -> None:
        pass

    def request_matches(self, similar: bool = True) -> None:
        pass


@pytest.fixture
def big(qtbot, monkeypatch):
    monkeypatch.setattr(ItemData, "request_values", lambda self, delay_s=0.0: None)
    monkeypatch.setattr(ItemData, "request_drivers", lambda self, delay_s=0.0: None)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, 2)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = EmbeddingTable(np.array([f"it{i:07d}" for i in range(N)], dtype=object),
                           {"image": vectors}, {"image": np.ones(N, bool)}, {"image": "x"},
                           {"label": (np.arange(N) % 10).astype(str).astype(object)})
    model = QuietModel(ViewState(), scheduler=QtScheduler())
    model.options = EmbedOptions(use_store=False)
    model.set_table(table)
    yield model
    model.shutdown(stop_layouts=False)


def test_a_million_rows_filter_in_a_job_and_scroll_touching_only_visible_cells(qtbot, big, monkeypatch):
    panel = on_screen(qtbot, QtItems(big.state, big), 900, 500)
    assert panel.table.rowCount() == N > INLINE_MAX
    calls = []
    frame = big.items.frame
    real = frame.text
    monkeypatch.setattr(frame, "text", lambda key, row: calls.append(row) or real(key, row))
    with qtbot.waitSignal(panel.view_ready, timeout=60_000):
        type_text(panel.filter_edit, 'label == "3"', enter=True)  # a job: the UI stays free
    assert panel.table.rowCount() == N // 10 and panel.rows()[:2] == [3, 13]
    calls.clear()
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.view.rowAt(panel.view.viewport().height() - 5) >= N // 10 - 2)
    panel.view.viewport().repaint()
    assert 0 < len(set(calls)) < 200  # the rows on screen, not 100,000
    assert big.state.current == N - 7  # End opened the last row shown (item 999,993)
