"""The Metrics panel: held-out cross-modal retrieval per modality pair, and fusion figures.

Filled from ``model.metrics_ready`` (the dict of :func:`mmviewer.core.evaluate.evaluation.evaluate`
per pair plus :func:`~mmviewer.core.evaluate.evaluation.evaluate_fusion`), which the model recomputes
after every re-alignment (method or weight change). While that runs the panel says "computing…"
and dims the previous figures. A pair whose evaluation failed shows its error in its row.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmviewer.gui.plot_style import style_plot

#: ``model.busy`` label of the metrics job (see AppModel.request_metrics).
METRICS_BUSY_LABEL = "Measuring alignment"

#: (header, key in the pair dict, format, tooltip)
COLUMNS = [
    ("pair", None, "", "Query modality → target modality"),
    ("method", "method", "{}", "Alignment method actually used (auto decides per pair from the data; hover a cell for why)"),
    ("fitted on", "n_train", "{:,d}", "Training pairs the aligner was fitted on (a seeded sample of at most 50,000)"),
    ("n test", "n_test", "{:,d}", "Held-out pairs the figures are measured on (the aligner never saw them; a seeded sample of at most 10,000)"),
    ("R@1", "recall@1", "{:.3f}", "Recall@1: share of test queries whose true partner ranks first"),
    ("R@5", "recall@5", "{:.3f}", "Recall@5: true partner within the top 5"),
    ("R@10", "recall@10", "{:.3f}", "Recall@10: true partner within the top 10"),
    ("MRR", "mrr", "{:.3f}", "Mean reciprocal rank of the true partner"),
    ("med. rank", "median_rank", "{:g}", "Median rank of the true partner (1 is best)"),
    ("gap", "modality_gap", "{:.3f}", "Modality gap: distance between the two modalities' mean aligned vectors"),
    ("MI", "mutual_information", "{:.2f}", "InfoNCE lower bound on mutual information (nats; max log n)"),
    ("label P@1", "label_precision@1", "{:.3f}", "Share of top-1 matches (other than the partner) with the query's label"),
    ("label P@5", "label_precision@5", "{:.3f}", "Label precision over the top 5 matches"),
    ("chance R@1", "chance_recall@1", "{:.3f}", "Recall@1 of a random ranking (1 / n test)"),
]
LABEL_KEYS = ("label_precision@1", "label_precision@5")
BAR_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44)]
BAR_WIDTH = 0.8
SHORT = {"image": "img", "text": "txt", "audio": "aud"}


def _short(modality: str) -> str:
    """Axis labels must fit six pairs side by side: image -> img, text -> txt, audio -> aud."""
    return SHORT.get(modality, modality[:4])


def _cell_tip(pair: dict, key: str, tip: str) -> str:
    """The column's tooltip, with the sample behind a figure when it was bounded."""
    for used, available, what in (("n_train", "n_train_available", "training pairs"),
                                  ("n_test", "n_test_available", "held-out pairs")):
        if key == used and pair.get(available, pair.get(used)) != pair.get(used):
            return f"{tip}\n{pair[used]:,} of the {pair[available]:,} {what} (seeded sample)"
    return tip


def _fmt(value, fmt: str) -> str:
    if value is None:
        return "–"
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


class QtMetrics(QWidget):
    """Metrics table, recall chart and fusion figures; ``to_json()`` for export."""

    def __init__(self, state, model, thumbnails=None, parent=None):
        super().__init__(parent)
        self.state = state
        self.model = model
        self.metrics: dict | None = None
        self.computing = False

        self.status = QLabel("No metrics yet.")
        self.status.setWordWrap(True)
        self.status.setToolTip("Figures are measured on held-out pairs; they refresh after each "
                               "re-alignment (method or weight change)")
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setToolTip("Cross-modal retrieval per modality pair (hover a header for its meaning)")
        self.chart = pg.PlotWidget()
        self.chart.setToolTip("Recall@1/5/10 per pair (filled) beside chance level (dashed outline); "
                              "img = image, txt = text, aud = audio")
        self.chart.setMenuEnabled(False)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.chart.setYRange(0, 1.05, padding=0)
        self.chart.setLabel("left", "recall")
        self.chart.showGrid(y=True, alpha=0.3)
        self.chart.setMinimumHeight(140)
        style_plot(self.chart, self)
        self.legend = self.chart.addLegend(offset=(-5, 5), colCount=4)
        self.fusion_caption = QLabel("")
        self.fusion_caption.setWordWrap(True)
        self.fusion_caption.setToolTip("Do fused 'similar items' share labels more often than any "
                                       "single modality's? Same queries for every row.")
        self.fusion = QTableWidget(0, 0)
        self.fusion.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.fusion.setToolTip("Label precision@k of similar items: each modality alone vs fused")
        fusion_box = QWidget()
        box = QVBoxLayout(fusion_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.fusion_caption)
        box.addWidget(self.fusion, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for widget, stretch in ((self.table, 2), (self.chart, 2), (fusion_box, 1)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([230, 300, 190])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)

        model.metrics_ready.connect(self._on_model_metrics_ready)
        model.busy.connect(self._on_model_busy)
        model.table_ready.connect(self._on_model_table_ready)
        state.events.method.connect(self._on_state_changed)
        state.events.weights.connect(self._on_state_changed)

    # -- busy state -----------------------------------------------------------------------------
    def _set_computing(self, computing: bool) -> None:
        self.computing = computing
        for widget in (self.table, self.chart, self.fusion):
            widget.setEnabled(not computing)
        if computing:
            self.status.setText("<i>computing… (held-out retrieval for every modality pair)</i>")
        elif self.metrics is not None:
            self.status.setText(self._summary(self.metrics))

    def _on_model_busy(self, label: str) -> None:
        # The metrics job runs, waits in the figures lane or is debounced: other jobs (fits,
        # item values) may run long after it, so "idle" is not the test.
        computing = label == METRICS_BUSY_LABEL or self.model.jobs.is_active("metrics")
        if computing != self.computing:
            self._set_computing(computing)

    def _on_state_changed(self, _value) -> None:
        if self.model.workspace is not None:
            self._set_computing(True)  # the model re-measures on method/weight changes

    def _on_model_table_ready(self) -> None:
        self.metrics = None
        self.table.setRowCount(0)
        self.fusion.setRowCount(0)
        self.chart.clear()
        self.fusion_caption.setText("")
        self.status.setText("No metrics yet.")

    # -- results --------------------------------------------------------------------------------
    def _on_model_metrics_ready(self, metrics: dict) -> None:
        self.metrics = metrics
        pairs = metrics.get("pairs") or []
        self._fill_table(pairs)
        self._draw_chart([p for p in pairs if "error" not in p])
        self._fill_fusion(metrics.get("fusion"))
        self._set_computing(False)

    def to_json(self) -> dict | None:
        """The last metrics dict (JSON-ready: what ``metrics_ready`` delivered), or None."""
        return self.metrics

    @staticmethod
    def _summary(metrics: dict) -> str:
        weights = " · ".join(f"{m} {w:g}" for m, w in (metrics.get("weights") or {}).items())
        n = len(metrics.get("pairs") or [])
        return (f"{n} modality pair(s), method <b>{html.escape(str(metrics.get('method', '?')))}</b>, "
                f"measured on held-out pairs; fusion weights {weights or '–'}")

    def _fill_table(self, pairs: list[dict]) -> None:
        with_labels = any(any(k in p for k in LABEL_KEYS) for p in pairs)
        columns = [c for c in COLUMNS if with_labels or c[1] not in LABEL_KEYS]
        self.table.clearSpans()
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setRowCount(len(pairs))
        for j, (title, _key, _format, tip) in enumerate(columns):
            header = QTableWidgetItem(title)
            header.setToolTip(tip)
            self.table.setHorizontalHeaderItem(j, header)
        for i, pair in enumerate(pairs):
            name = f"{pair.get('query', '?')} → {pair.get('target', '?')}"
            self.table.setItem(i, 0, QTableWidgetItem(name))
            method = QTableWidgetItem(str(pair.get("method", "")))
            method.setToolTip(str(pair.get("method_reason") or "Alignment method actually used"))
            self.table.setItem(i, 1, method)
            if "error" in pair:
                cell = QTableWidgetItem(f"error: {pair['error']}")
                cell.setForeground(QBrush(QColor(200, 30, 30)))
                cell.setToolTip(str(pair["error"]))
                self.table.setItem(i, 2, cell)
                self.table.setSpan(i, 2, 1, len(columns) - 2)
                continue
            for j, (_title, key, fmt, tip) in enumerate(columns[2:], start=2):
                cell = QTableWidgetItem(_fmt(pair.get(key), fmt))
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setToolTip(_cell_tip(pair, key, tip))
                self.table.setItem(i, j, cell)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def _draw_chart(self, pairs: list[dict]) -> None:
        self.chart.clear()
        self.legend.clear()
        if not pairs:
            return
        ks = (1, 5, 10)
        group = len(ks) + 1
        for j, k in enumerate(ks):
            x = np.arange(len(pairs)) * group + j
            height = [p.get(f"recall@{k}") or 0.0 for p in pairs]
            chance = [p.get(f"chance_recall@{k}") or 0.0 for p in pairs]
            bars = pg.BarGraphItem(x=x, height=height, width=BAR_WIDTH, brush=pg.mkBrush(*BAR_COLOURS[j]),
                                   pen=pg.mkPen(None))
            floor = pg.BarGraphItem(x=x, height=chance, width=BAR_WIDTH, brush=pg.mkBrush(None),
                                    pen=pg.mkPen(30, 30, 30, width=1.5, style=Qt.PenStyle.DashLine))
            self.chart.addItem(bars)
            self.chart.addItem(floor)
            self.legend.addItem(bars, f"R@{k}")
            if j == 0:
                self.legend.addItem(floor, "chance")
        ticks = [(i * group + 1, f"{_short(p['query'])}→{_short(p['target'])}") for i, p in enumerate(pairs)]
        self.chart.getAxis("bottom").setTicks([ticks, []])
        self.chart.setXRange(-0.7, len(pairs) * group - 1.3, padding=0)
        self.chart.setYRange(0, 1.15, padding=0)

    def _fill_fusion(self, fusion: dict | None) -> None:
        self.fusion.clear()
        if not fusion:
            self.fusion.setRowCount(0)
            self.fusion.setColumnCount(0)
            self.fusion_caption.setText("<i>No label column: fusion figures need one "
                                        "(e.g. a 'label' column in the manifest).</i>")
            return
        if "error" in fusion:
            self.fusion.setRowCount(0)
            self.fusion_caption.setText(f"<span style='color:#c81e1e'>fusion: "
                                        f"{html.escape(str(fusion['error']))}</span>")
            return
        ks = fusion.get("k") or [1, 5, 10]
        rows = [(m, fig) for m, fig in (fusion.get("single") or {}).items()]
        weights = " · ".join(f"{m} {w:g}" for m, w in (fusion.get("weights") or {}).items())
        rows.append((f"fused ({weights})", fusion.get("fused") or {}))
        self.fusion.setColumnCount(len(ks) + 1)
        self.fusion.setRowCount(len(rows) + 1)
        self.fusion.setHorizontalHeaderLabels(["similar items by", *[f"label P@{k}" for k in ks]])
        self.fusion.verticalHeader().setVisible(False)
        bold = QFont(self.font())
        bold.setBold(True)
        chance = fusion.get("chance_label_precision")
        for i, (name, figures) in enumerate([*rows, ("chance", None)]):
            self.fusion.setItem(i, 0, QTableWidgetItem(name))
            for j, k in enumerate(ks, start=1):
                value = chance if figures is None else figures.get(f"label_precision@{k}")
                cell = QTableWidgetItem(_fmt(value, "{:.3f}"))
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if i == len(rows) - 1:
                    cell.setFont(bold)
                self.fusion.setItem(i, j, cell)
            if i == len(rows) - 1:
                self.fusion.item(i, 0).setFont(bold)
        self.fusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.fusion_caption.setText(
            f"<b>Fusion</b> — label precision of similar items by '{html.escape(str(fusion.get('label_column')))}', "
            f"{fusion.get('n_queries')} queries among {fusion.get('n_candidates')} labelled items")
