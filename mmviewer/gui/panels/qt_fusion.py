"""Fusion controls: one weight slider per modality, the alignment method and the list length.

:class:`QtFusion` writes user intent into the :class:`~mmviewer.core.app.state.ViewState` (weights on
every slider step, so match lists follow a drag; the model debounces the re-layout) and
redraws from the state's events, so a change made elsewhere (a restored session, a test) shows
here too. Writing back a value the state already holds emits nothing, and state-driven updates
are applied with the widgets' signals blocked: no feedback loop either way.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from mmviewer.core.app.state import METHODS
from mmviewer.core.match.workspace import AUTO_LEARNED

WEIGHT_MAX = 2.0
K_MAX = 200

#: One line per alignment method (the combo's item tooltips).
METHOD_HELP = {
    "auto": ("Zero-shot where two modalities share a space (decided from the data: zero-shot "
             f"recall on a sample of pairs against chance), {AUTO_LEARNED} otherwise."),
    "none": "No alignment: compare raw embeddings (meaningful only when both come from one model).",
    "procrustes": "Rotation (plus scale) fitted on the training pairs; keeps each space's geometry.",
    "ridge": "Linear map from query to target space fitted by ridge regression on the training pairs.",
    "cca": "Canonical correlation analysis: both spaces projected onto their most correlated directions.",
    "contrastive": "Linear heads that start at CCA and are fine-tuned with a contrastive (InfoNCE) loss "
                   "where held-out training pairs confirm the gain.",
}

MODALITY_HELP = {
    "image": "Weight of image similarity in the fused map and the similar-items list.",
    "text": "Weight of text similarity in the fused map and the similar-items list.",
    "audio": "Weight of audio similarity in the fused map and the similar-items list.",
}


class QtFusion(QWidget):
    """Fusion weights, alignment method and match-list length, bound to ``state``.

    (The map's one-point-per-modality mode is a toggle in the map panel's toolbar.)
    """

    def __init__(self, state, model=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.model = model
        self.sliders: dict[str, QLabeledDoubleSlider] = {}

        self._weights_box = QGroupBox("Fusion weights")
        self._weights_box.setToolTip(
            "How much each modality counts when items are compared as a whole (the map and the "
            "similar-items list). Only ratios matter; 0 leaves a modality out.")
        self._weights_form = QFormLayout(self._weights_box)
        self._weights_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._empty = QLabel("Open a dataset to weigh its modalities.")
        self._empty.setWordWrap(True)
        self._empty.setToolTip("Sliders appear here, one per modality, once a dataset is shown.")
        self._weights_form.addRow(self._empty)

        self.reset_button = QPushButton("Reset weights")
        self.reset_button.setToolTip("Set every modality's weight back to 1 (equal weights).")
        self.reset_button.clicked.connect(self._on_reset_clicked)

        self.method_combo = QComboBox()
        for i, method in enumerate(METHODS):
            self.method_combo.addItem(method, method)
            self.method_combo.setItemData(i, METHOD_HELP[method], Qt.ItemDataRole.ToolTipRole)
        self.method_combo.setToolTip(
            "How one modality's embeddings are mapped onto another's before they are compared "
            "(learned methods are fitted on a seeded 70% of the paired items).")
        self.method_combo.currentIndexChanged.connect(self._on_method_combo_changed)

        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, K_MAX)
        self.k_spin.setToolTip("How many matches each list shows.")
        self.k_spin.valueChanged.connect(self._on_k_spin_changed)

        options = QGroupBox("Matching")
        options.setToolTip("Settings shared by the match lists, the metrics and the map.")
        form = QFormLayout(options)
        form.addRow(_label("Alignment", self.method_combo.toolTip()), self.method_combo)
        form.addRow(_label("List length", self.k_spin.toolTip()), self.k_spin)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)

        self._explained = (
            "A share near 100% means the map is in effect that modality's map, e.g. a caption "
            "column with few distinct strings pulls identical captions together whatever the "
            "images show.")
        self.drivers = QLabel("")
        self.drivers.setWordWrap(True)
        self.drivers.setToolTip("How many of each item's neighbours on the map each modality "
                                "alone would also give. " + self._explained)
        self.down_button = QPushButton("")
        self.down_button.setToolTip("Halve that modality's weight; the shares are measured again "
                                    "once the map has been re-laid out")
        self.down_button.clicked.connect(self._on_down_clicked)
        self.down_button.hide()
        self._dominant: str | None = None
        drivers_box = QGroupBox("Map neighbours shared")
        drivers_box.setToolTip(self.drivers.toolTip())
        drivers_layout = QVBoxLayout(drivers_box)
        drivers_layout.addWidget(self.drivers)
        drivers_layout.addWidget(self.down_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self._weights_box)
        layout.addLayout(buttons)
        layout.addWidget(options)
        layout.addWidget(drivers_box)
        layout.addStretch(1)

        events = self.state.events
        connections = [(events.weights, self._on_state_weights),
                       (events.method, self._on_state_method),
                       (events.k, self._on_state_k)]
        for signal, slot in connections:
            signal.connect(slot)
        items = getattr(model, "items", None)
        if items is not None:
            connections.append((items.drivers_ready, self._on_items_drivers_ready))
            items.drivers_ready.connect(self._on_items_drivers_ready)
            self._on_items_drivers_ready(items.drivers)
        # psygnal holds our bound methods; once the C++ widget is gone they must not fire.
        self.destroyed.connect(lambda *_: _disconnect_all(connections))
        self._on_state_weights(self.state.weights)
        self._on_state_method(self.state.method)
        self._on_state_k(self.state.k)

    # -- state -> widgets -------------------------------------------------------------------------
    def _on_state_weights(self, weights) -> None:
        weights = dict(weights)
        if set(weights) != set(self.sliders):
            self._rebuild_sliders(list(weights))
        for modality, value in weights.items():
            slider = self.sliders[modality]
            if abs(slider.value() - value) > 1e-9:
                with QSignalBlocker(slider):
                    slider.setValue(min(float(value), WEIGHT_MAX))
        self.reset_button.setEnabled(bool(weights))

    def _rebuild_sliders(self, modalities: list[str]) -> None:
        while self._weights_form.rowCount():
            self._weights_form.removeRow(0)
        self.sliders.clear()
        self._empty = None
        if not modalities:
            self._empty = QLabel("Open a dataset to weigh its modalities.")
            self._empty.setWordWrap(True)
            self._weights_form.addRow(self._empty)
            return
        for modality in modalities:
            slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"weight_{modality}")
            slider.setRange(0.0, WEIGHT_MAX)
            slider.setDecimals(2)
            slider.setSingleStep(0.05)
            slider.setValue(1.0)
            tip = MODALITY_HELP.get(modality, f"Weight of {modality} similarity in the fused views.")
            slider.setToolTip(tip + " Drag to re-weight live; 0 leaves it out.")
            slider.valueChanged.connect(
                lambda value, m=modality: self._on_slider_value_changed(m, value))
            self.sliders[modality] = slider
            self._weights_form.addRow(_label(modality.capitalize(), slider.toolTip()), slider)

    def _on_state_method(self, method: str) -> None:
        index = self.method_combo.findData(method)
        if index >= 0 and index != self.method_combo.currentIndex():
            with QSignalBlocker(self.method_combo):
                self.method_combo.setCurrentIndex(index)

    def _on_state_k(self, k: int) -> None:
        if self.k_spin.value() != k:
            with QSignalBlocker(self.k_spin):
                self.k_spin.setValue(int(k))

    # -- widgets -> state -------------------------------------------------------------------------
    def _on_slider_value_changed(self, modality: str, value: float) -> None:
        # the slider shows two decimals: the state (and every list header) holds that value
        self.state.set_weight(modality, round(float(value), 2))

    def _on_items_drivers_ready(self, shares) -> None:
        if shares is None or not shares.shares:
            self.drivers.setText("<i>measured once a dataset is shown</i>")
            self.down_button.hide()
            return
        lines = [f"{m} <b>{100 * v:.0f}%</b>" for m, v in shares.shares.items()]
        text = " · ".join(lines)
        self.drivers.setToolTip(
            f"Of each item's {shares.k} neighbours on the map, the share each modality alone "
            f"would also give ({shares.sampled:,} items sampled; chance "
            f"{100 * shares.chance:.1f}%). {self._explained}")
        self._dominant = shares.dominant
        if shares.dominant:
            text += f"<br><b>{shares.dominant.capitalize()} drives the map.</b>"
            weight = self.state.weight_map.get(shares.dominant, 1.0)
            self.down_button.setText(f"{shares.dominant.capitalize()} weight → {weight / 2:.2f}")
        self.down_button.setVisible(bool(shares.dominant))
        self.drivers.setText(text)

    def _on_down_clicked(self) -> None:
        if self._dominant:
            weight = self.state.weight_map.get(self._dominant, 1.0)
            self.state.set_weight(self._dominant, round(weight / 2, 2))
            self.down_button.hide()

    def _on_reset_clicked(self) -> None:
        self.state.weights = tuple((m, 1.0) for m, _ in self.state.weights)

    def _on_method_combo_changed(self, index: int) -> None:
        self.state.method = self.method_combo.itemData(index)

    def _on_k_spin_changed(self, value: int) -> None:
        self.state.k = int(value)


def _disconnect_all(connections) -> None:
    for signal, slot in connections:
        try:
            signal.disconnect(slot)
        except (ValueError, RuntimeError):
            pass


def _label(text: str, tip: str) -> QLabel:
    label = QLabel(text)
    label.setToolTip(tip)
    return label
