"""The map panel's toolbar: mouse tool, reset view, colour-by, match pair, line mode, export.

Only widgets live here; :class:`~mmviewer.gui.map.qt_map.QtMap` connects them to the state.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QSizePolicy, QToolBar, QWidget

from mmviewer.gui.map.viewbox import LASSO, PAN, RECT


class MapToolbar(QToolBar):
    """Actions and combos of the map panel."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Map", parent)
        self.setObjectName("mapToolbar")
        self.tools = QActionGroup(self)
        self.tools.setExclusive(True)
        self.tool_actions: dict[str, QAction] = {}
        for tool, text, tip in (
            (PAN, "Pan", "Drag to pan, wheel to zoom (Shift-drag: rectangle, Ctrl-drag: lasso)"),
            (RECT, "Rectangle", "Drag a rectangle to select (Shift adds, Ctrl removes)"),
            (LASSO, "Lasso", "Draw around points to select (Shift adds, Ctrl removes)"),
        ):
            action = QAction(text, self, checkable=True, toolTip=tip)
            action.setData(tool)
            self.tools.addAction(action)
            self.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions[PAN].setChecked(True)
        self.reset_action = QAction("Reset view", self, toolTip="Fit all points (auto-range)")
        self.addAction(self.reset_action)
        self.addSeparator()
        self.addWidget(QLabel(" Colour ", self))
        self.colour_combo = QComboBox(self)
        self.colour_combo.setToolTip("Colour the points by")
        self.colour_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.addWidget(self.colour_combo)
        self.pair_combo = QComboBox(self)
        self.pair_combo.setToolTip("Modality pair whose nearest-match correctness is shown")
        self.pair_action = self.addWidget(self.pair_combo)
        self.pair_action.setVisible(False)
        self.size_spin = QDoubleSpinBox(self, minimum=0.5, maximum=4.0, singleStep=0.25,
                                        value=1.0, suffix="×", decimals=2)
        self.size_spin.setToolTip("Point size (relative to the automatic size)")
        self.addWidget(QLabel(" Size ", self))
        self.addWidget(self.size_spin)
        self.addSeparator()
        self.lines_action = QAction("Modalities", self, checkable=True, toolTip=(
            "Draw each item's modalities as separate points joined by lines"))
        self.addAction(self.lines_action)
        self.legend_action = QAction("Legend", self, checkable=True, checked=True,
                                     toolTip="Show the colour key (click an entry to select it)")
        self.addAction(self.legend_action)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.export_action = QAction("Export…", self, toolTip="Save the map as PNG or SVG")
        self.addAction(self.export_action)

    def set_colour_options(self, options: list[tuple[str, str]], current: str) -> None:
        """``options``: (text, colour_by value) pairs."""
        combo = self.colour_combo
        combo.blockSignals(True)
        combo.clear()
        for text, value in options:
            combo.addItem(text, value)
        self.show_colour(current)
        combo.blockSignals(False)

    def show_colour(self, value: str) -> None:
        combo = self.colour_combo
        i = combo.findData(value)
        blocked = combo.blockSignals(True)
        combo.setCurrentIndex(max(i, 0) if combo.count() else -1)
        combo.blockSignals(blocked)

    def set_pairs(self, pairs: list[tuple[str, str]], current) -> None:
        combo = self.pair_combo
        combo.blockSignals(True)
        combo.clear()
        for q, t in pairs:
            combo.addItem(f"{q} → {t}", (q, t))
        if current in pairs:
            combo.setCurrentIndex(pairs.index(current))
        combo.blockSignals(False)
