"""The Metrics panel fills from ``metrics_ready``, shows errors per pair and a computing state."""

from __future__ import annotations

import json

import pytest

from mmviewer.gui.panels.qt_metrics import METRICS_BUSY_LABEL, QtMetrics

WAIT = 60_000


@pytest.fixture
def panel(qtbot, model):
    widget = QtMetrics(model.state, model)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    return widget


def test_table_fills_from_metrics_ready(qtbot, panel, model):
    qtbot.waitUntil(lambda: model.positions is not None, timeout=WAIT)  # the table's own request
    with qtbot.waitSignal(model.metrics_ready, timeout=WAIT) as blocker:
        model.request_metrics()
    pairs = blocker.args[0]["pairs"]
    assert panel.table.rowCount() == len(pairs) == 6  # every ordered pair of 3 modalities
    headers = [panel.table.horizontalHeaderItem(j).text() for j in range(panel.table.columnCount())]
    assert {"R@1", "R@5", "R@10", "MRR", "med. rank", "gap", "MI", "label P@1", "chance R@1"} <= set(headers)
    names = [panel.table.item(i, 0).text() for i in range(panel.table.rowCount())]
    row = names.index("text → image")
    by_header = {h: panel.table.item(row, j).text() for j, h in enumerate(headers)}
    figures = next(p for p in pairs if (p["query"], p["target"]) == ("text", "image"))
    assert by_header["R@1"] == f"{figures['recall@1']:.3f}" and by_header["method"] == "none"
    assert panel.fusion.rowCount() == 3 + 2  # three modalities, fused, chance
    assert panel.fusion.item(3, 0).text().startswith("fused")
    assert not panel.computing and "method" in panel.status.text()
    json.dumps(panel.to_json())
    assert panel.to_json() is blocker.args[0]


def test_errors_are_shown_in_their_row(qtbot, panel):
    metrics = {
        "pairs": [
            {"query": "text", "target": "image", "method": "none", "n_test": 9, "recall@1": 0.5,
             "recall@5": 1.0, "recall@10": 1.0, "chance_recall@1": 0.11, "chance_recall@5": 0.55,
             "chance_recall@10": 1.0, "mrr": 0.7, "median_rank": 1.5},
            {"query": "audio", "target": "image", "method": "ridge", "error": "only 2 items have both"},
        ],
        "fusion": {"error": "need at least 2 labelled items"}, "method": "auto", "weights": {"image": 1.0},
    }
    panel.model.metrics_ready.emit(metrics)
    assert panel.table.rowCount() == 2
    assert "only 2 items have both" in panel.table.item(1, 2).text()
    assert panel.table.columnSpan(1, 2) == panel.table.columnCount() - 2
    headers = [panel.table.horizontalHeaderItem(j).text() for j in range(panel.table.columnCount())]
    assert panel.table.item(0, headers.index("med. rank")).text() == "1.5"
    assert "need at least 2 labelled" in panel.fusion_caption.text()


def test_computing_state_follows_the_metrics_job(qtbot, panel, model):
    qtbot.waitUntil(lambda: model.positions is not None, timeout=WAIT)
    model.busy.emit(METRICS_BUSY_LABEL)
    assert panel.computing and "computing" in panel.status.text() and not panel.table.isEnabled()
    with qtbot.waitSignal(model.metrics_ready, timeout=WAIT):
        model.state.method = "procrustes"
    assert not panel.computing and panel.table.isEnabled()
    assert {panel.table.item(i, 1).text() for i in range(panel.table.rowCount())} == {"procrustes"}
