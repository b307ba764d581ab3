"""File → Export map… (and the map toolbar's Export…): a picture for slides.

Choose the file (PNG or SVG), a size preset or your own, the pixel scale (2× for HiDPI screens
and sharp prints), the title and subtitle (defaults: the dataset's name; what the colours mean,
the pair, the method and the weights), the legend, and whether to frame the current view or
every point. A preview shows the layout as it will be written.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mmviewer.core.app.state import Notice
from mmviewer.gui.dialogs.path_field import PathField
from mmviewer.gui.exports import with_suffix
from mmviewer.gui.showcase.picture import PictureSpec, describe, paint_picture, save_picture

PRESETS = (("Slide 16:9 (1920 × 1080)", 1920, 1080), ("Slide 4:3 (1600 × 1200)", 1600, 1200),
           ("Square (1080 × 1080)", 1080, 1080), ("Poster (3000 × 2000)", 3000, 2000),
           ("Custom", 0, 0))
SCALES = (("1×", 1.0), ("2× (HiDPI)", 2.0), ("3×", 3.0))
FILTERS = "PNG image (*.png);;SVG drawing (*.svg);;JPEG image (*.jpg)"
PREVIEW_WIDTH = 360


class QtMapExportDialog(QDialog):
    """Options and preview of one map picture; :meth:`save` writes it."""

    saved = Signal(str)

    def __init__(self, panel, default_path: Path, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export map")
        self.panel = panel
        self.file = PathField(default_path, "Export map", FILTERS,
                              lambda path, chosen: with_suffix(path, chosen, ".png"))
        self.path_edit = self.file.edit
        self.preset = QComboBox()
        for text, w, h in PRESETS:
            self.preset.addItem(text, (w, h))
        self.width_spin, self.height_spin = _spin(1920), _spin(1080)
        size_row = QHBoxLayout()
        size_row.addWidget(self.preset, 1)
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)
        self.scale = QComboBox()
        for text, value in SCALES:
            self.scale.addItem(text, value)
        self.scale.setToolTip("Pixels per point of the layout: 2× doubles the resolution for "
                              "HiDPI screens and print; the layout stays the same. SVG ignores it.")
        self.title_edit = QLineEdit(title)
        self.subtitle_edit = QLineEdit(describe(panel))
        self.legend_box = QCheckBox("Legend", checked=True)
        self.fit_box = QCheckBox("Every point (instead of the current view)")
        # a map the user has not zoomed into is framed whole; a zoomed one as it is
        self.fit_box.setChecked(all(panel.view_box.autoRangeEnabled()))
        self.transparent_box = QCheckBox("Transparent background")
        form = QFormLayout()
        form.addRow("File", self.file)
        form.addRow("Size", size_row)
        form.addRow("Pixel scale", self.scale)
        form.addRow("Title", self.title_edit)
        form.addRow("Subtitle", self.subtitle_edit)
        for box in (self.legend_box, self.fit_box, self.transparent_box):
            form.addRow("", box)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_WIDTH, PREVIEW_WIDTH * 9 // 16)
        self.preview.setToolTip("How the picture will look (reduced)")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self._on_save_clicked)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self._update_preview)
        self.preset.currentIndexChanged.connect(self._on_preset_changed)
        for spin in (self.width_spin, self.height_spin):
            spin.valueChanged.connect(self._on_size_edited)
        for signal in (self.title_edit.textChanged, self.subtitle_edit.textChanged,
                       self.legend_box.toggled, self.fit_box.toggled,
                       self.transparent_box.toggled):
            signal.connect(self._timer.start)
        self._update_preview()

    def spec(self) -> PictureSpec:
        return PictureSpec(self.width_spin.value(), self.height_spin.value(),
                           float(self.scale.currentData()), self.title_edit.text().strip(),
                           self.subtitle_edit.text().strip(), self.legend_box.isChecked(),
                           self.fit_box.isChecked(), self.transparent_box.isChecked())

    def save(self) -> Path | None:
        """Write the picture; None (with the reason shown and sent as a notice) on failure."""
        path = self.file.path()
        if not path.suffix:
            path = path.with_suffix(".png")
        try:
            save_picture(self.panel, path, self.spec())
        except (OSError, ValueError) as err:
            self.status.setText(f"Could not export: {err}")
            self.panel.model.notice.emit(Notice(f"Could not export the map: {err}", "error",
                                                path=str(path)))
            return None
        self.panel.model.notice.emit(Notice(f"Exported the map to {path.name}.", path=str(path)))
        self.saved.emit(str(path))
        return path

    def _on_save_clicked(self) -> None:
        if self.save() is not None:
            self.accept()

    def _on_preset_changed(self, index: int) -> None:
        w, h = self.preset.itemData(index)
        if w:
            for spin, value in ((self.width_spin, w), (self.height_spin, h)):
                blocked = spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(blocked)
        self._timer.start()

    def _on_size_edited(self, _value) -> None:
        size = (self.width_spin.value(), self.height_spin.value())
        match = next((i for i, (_, w, h) in enumerate(PRESETS) if (w, h) == size), len(PRESETS) - 1)
        blocked = self.preset.blockSignals(True)
        self.preset.setCurrentIndex(match)
        self.preset.blockSignals(blocked)
        self._timer.start()

    def _update_preview(self) -> None:
        try:
            spec = self.spec()
        except ValueError as err:
            self.status.setText(str(err))
            self.save_button.setEnabled(False)
            return
        self.save_button.setEnabled(True)
        self.status.setText("")
        shrink = PREVIEW_WIDTH / spec.width
        image = QImage(PREVIEW_WIDTH, max(1, round(spec.height * shrink)),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.lightGray)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(shrink, shrink)
        try:
            small = copy.copy(spec)
            small.scale = shrink  # below PictureSpec's limit on purpose: a thumbnail
            paint_picture(self.panel, painter, small)
        except ValueError as err:
            self.status.setText(str(err))
        finally:
            painter.end()
        self.preview.setPixmap(QPixmap.fromImage(image))

def default_title(model) -> str:
    """The dataset's folder or file name (the picture's default title)."""
    source = getattr(model.dataset, "source", None)
    return Path(str(source)).name if source else ""


def _spin(value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(64, 10_000)
    spin.setValue(value)
    spin.setSuffix(" px")
    return spin
