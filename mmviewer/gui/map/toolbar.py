"""The map panel's controls: mouse tool, reset view, colour-by and its pair, point size, line
mode, legend, the layout (what the map is of, UMAP or PCA and UMAP's main parameters), export.

:class:`MapControlsMixin` (a mixin of :class:`~mmviewer.gui.map.qt_map.QtMap`) turns the
controls into state changes. Groups of controls flow onto as many rows as the panel's width needs (:class:`FlowLayout`), so
at 1000x700 nothing hides behind an overflow menu; combos have fixed widths and the pair combo
is always there (enabled only for the pair colourings), so choosing a colouring never moves a
control under the cursor.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSpinBox,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from mmviewer.core.app.state import (
    COLOUR_MATCH,
    COLOUR_MODALITIES,
    COLOUR_TAGS,
    DEFAULT_LAYOUT,
    MAP_ITEMS,
    MAP_MODALITIES,
    META_PREFIX,
    SOURCE_FUSED,
    VALUE_PREFIX,
)
from mmviewer.core.items.frame import SUSPICION
from mmviewer.gui.flow import FlowLayout
from mmviewer.gui.map.viewbox import LASSO, PAN, RECT


def _combo(tip: str, chars: int) -> QComboBox:
    combo = QComboBox()
    combo.setToolTip(tip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)  # a fixed width: a new choice never reflows the row
    return combo


class MapToolbar(QWidget):
    """Controls of the map panel (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mapToolbar")
        self.flow = FlowLayout(self, spacing=6, margin=3)
        self.tools = QActionGroup(self)
        self.tools.setExclusive(True)
        self.tool_actions: dict[str, QAction] = {}
        tools = []
        for tool, text, tip in (
            (PAN, "Pan", "Drag to pan, wheel to zoom (Shift-drag: rectangle, Ctrl-drag: lasso)"),
            (RECT, "Rectangle", "Drag a rectangle to select (Shift adds, Ctrl removes)"),
            (LASSO, "Lasso", "Draw around points to select (Shift adds, Ctrl removes)"),
        ):
            action = QAction(text, self, checkable=True, toolTip=tip)
            action.setData(tool)
            self.tools.addAction(action)
            self.tool_actions[tool] = action
            tools.append(action)
        self.tool_actions[PAN].setChecked(True)
        self.reset_action = QAction("Reset view", self, toolTip="Fit all points (auto-range)")
        self._group(*tools, self.reset_action)

        self.colour_combo = _combo("Colour the points by", 14)
        self.pair_combo = _combo("The modality pair of the match, partner-rank and pair-score "
                                 "colourings (query → target)", 12)
        self.pair_combo.setEnabled(False)
        self._group(QLabel("Colour"), self.colour_combo, self.pair_combo)

        self.size_spin = QDoubleSpinBox(minimum=0.5, maximum=4.0, singleStep=0.25, value=1.0,
                                        suffix="×", decimals=2)
        self.size_spin.setToolTip("Point size (relative to the automatic size)")
        self.lines_action = QAction("Modalities", self, checkable=True, toolTip=(
            "Draw each item's modalities as separate points joined by lines"))
        self.legend_action = QAction("Legend", self, checkable=True, checked=True,
                                     toolTip="Show the colour key (click an entry to select it; "
                                             "click its title to fold it)")
        self._group(QLabel("Size"), self.size_spin, self.lines_action, self.legend_action)

        self.source_combo = _combo("What the map is of: every modality fused with the weights, "
                                   "or one modality alone", 9)
        self.layout_combo = _combo("UMAP (neighbourhoods) or PCA (the two main axes, instant)", 5)
        for text, value in (("UMAP", "umap"), ("PCA", "pca")):
            self.layout_combo.addItem(text, value)
        self.neighbours_spin = QSpinBox(minimum=2, maximum=200, value=DEFAULT_LAYOUT[1])
        self.neighbours_spin.setToolTip("UMAP neighbours: small values show local detail, large "
                                        "ones the global shape (re-laid out from the current map)")
        self.min_dist_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05,
                                            decimals=2, value=DEFAULT_LAYOUT[2])
        self.min_dist_spin.setToolTip("UMAP minimum distance: low packs clusters tightly, high "
                                      "spreads points evenly")
        for spin in (self.neighbours_spin, self.min_dist_spin):
            spin.setKeyboardTracking(False)  # typed values apply on Enter, not per keystroke
        self.layout_button = QToolButton()
        self.layout_button.setText("Layout")
        self.layout_button.setToolTip("UMAP or PCA, and UMAP's neighbours and minimum distance")
        self.layout_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        form_box = QWidget()
        form = QFormLayout(form_box)
        form.addRow("Layout", self.layout_combo)
        form.addRow("Neighbours", self.neighbours_spin)
        form.addRow("Min distance", self.min_dist_spin)
        menu = QMenu(self.layout_button)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(form_box)
        menu.addAction(holder)
        self.layout_button.setMenu(menu)
        self._group(QLabel("Map of"), self.source_combo, self.layout_button)

        self.export_action = QAction("Export…", self, toolTip="Save the map as PNG or SVG")
        self.selection_button = QToolButton()
        self.selection_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.selection_button.setToolTip("How many items are selected; click for what to do "
                                         "with them (tag, show in the table, hide, export ids)")
        # wide enough for any count: a new count never moves the controls after it
        self.selection_button.setMinimumWidth(self.fontMetrics().horizontalAdvance("9,999,999 selected") + 28)
        self._group(self.selection_button, self.export_action)

    def show_selection_count(self, text: str) -> None:
        self.selection_button.setText(text)

    def _group(self, *parts) -> QWidget:
        """Controls that wrap together (a group never splits over two rows)."""
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(3)
        for part in parts:
            if isinstance(part, QAction):
                button = QToolButton(box)
                button.setDefaultAction(part)
                button.setAutoRaise(True)
                part = button
            row.addWidget(part)
        self.flow.addWidget(box)
        return box

    # -- filling ----------------------------------------------------------------------------------
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

    def set_sources(self, modalities, current: str) -> None:
        combo = self.source_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("all (fused)", SOURCE_FUSED)
        for m in modalities:
            combo.addItem(f"{m} alone", m)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        combo.blockSignals(False)

    def show_layout(self, layout) -> None:
        kind, neighbours, min_dist = layout
        for widget, value in ((self.neighbours_spin, neighbours), (self.min_dist_spin, min_dist)):
            blocked = widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(blocked)
        blocked = self.layout_combo.blockSignals(True)
        self.layout_combo.setCurrentIndex(max(self.layout_combo.findData(kind), 0))
        self.layout_combo.blockSignals(blocked)
        for widget in (self.neighbours_spin, self.min_dist_spin):
            widget.setEnabled(kind == "umap")


class MapControlsMixin:
    """The map panel's handlers of its controls (they write the state) and the colour choices."""

    def _on_toolbar_colour_changed(self, index: int) -> None:
        value = self.toolbar.colour_combo.itemData(index)
        if value:
            self.state.colour_by = value

    def _on_toolbar_pair_changed(self, index: int) -> None:
        pair = self.toolbar.pair_combo.itemData(index)
        if pair and tuple(pair) != self.match_pair:
            self.set_match_pair(*pair)

    def _on_toolbar_layout_changed(self, *_args) -> None:
        tb = self.toolbar
        self.state.map_source = tb.source_combo.currentData() or SOURCE_FUSED
        self.state.layout = (tb.layout_combo.currentData() or "umap", tb.neighbours_spin.value(),
                             round(tb.min_dist_spin.value(), 2))

    def _on_toolbar_lines_toggled(self, on: bool) -> None:
        self.state.map_mode = MAP_MODALITIES if on else MAP_ITEMS

    def _on_toolbar_legend_toggled(self, _on: bool) -> None:
        self._show_colouring()

    def _on_toolbar_export(self) -> None:
        from mmviewer.gui.dialogs.map_export import QtMapExportDialog, default_title

        title = default_title(self.model)
        self._export_dialog = QtMapExportDialog(self, Path(f"{title or 'map'}_map.png").resolve(),
                                                title, self)
        self._export_dialog.show()

    def _on_state_layout(self, _value) -> None:
        self.toolbar.show_layout(self.state.layout)
        combo = self.toolbar.source_combo
        blocked = combo.blockSignals(True)
        combo.setCurrentIndex(max(combo.findData(self.state.map_source), 0))
        combo.blockSignals(blocked)

    def _on_items_frame_changed(self) -> None:
        if self.model.workspace is not None:
            self.toolbar.set_colour_options(self._colour_options(), self.state.colour_by)

    def _colour_options(self) -> list[tuple[str, str]]:
        t = self.model.workspace.table
        options = [("Modalities present", COLOUR_MODALITIES), ("Match correctness", COLOUR_MATCH),
                   ("Partner rank", VALUE_PREFIX + "rank"), ("Pair score", VALUE_PREFIX + "score"),
                   ("Tags", COLOUR_TAGS)]
        frame = self.model.items.frame
        if frame is not None and SUSPICION in frame.by_key:
            options.insert(4, ("Suspicion", VALUE_PREFIX + SUSPICION))
        options += [(f"{col}", META_PREFIX + col) for col in t.metadata]
        if frame is not None:
            options += [(f"{c.title} (scale)", VALUE_PREFIX + c.key) for c in frame.number_columns()
                        if c.key.startswith(META_PREFIX)]
        return options
