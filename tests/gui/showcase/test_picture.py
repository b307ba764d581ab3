"""Map pictures for slides: size, pixel scale, title, legend; PNG and SVG; the export dialog."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from mmviewer.gui.dialogs.map_export import QtMapExportDialog
from mmviewer.gui.showcase.picture import PictureSpec, save_picture
from tests.gui.map.helpers import grid, show_layout


def colours_in(image: QImage, x0, y0, x1, y1) -> set[tuple[int, int, int]]:
    out = set()
    for y in range(y0, y1, 2):
        for x in range(x0, x1, 2):
            c = QColor(image.pixel(x, y))
            out.add((c.red(), c.green(), c.blue()))
    return out


@pytest.fixture
def shown(qtbot, panel):
    show_layout(qtbot, panel, grid(30, 6, 1.0))
    panel.state.colour_by = "meta:label"
    qtbot.waitUntil(lambda: panel.colouring is not None and panel.colouring.title == "label")
    return panel


def test_png_at_twice_the_pixels_has_title_points_and_legend(shown, tmp_path):
    spec = PictureSpec(800, 450, 2.0, "Planted", "Colour: label · alignment auto")
    path = save_picture(shown, tmp_path / "map.png", spec)
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1600, 900)
    top = colours_in(image, 40, 40, 600, 100)  # the title band: dark text on white
    assert any(max(c) < 90 for c in top)
    c = shown.colouring
    legend_rgb = {tuple(int(round(255 * v)) for v in rgb) for rgb in c.colours}
    right = colours_in(image, 1250, 150, 1600, 500)
    assert legend_rgb & right  # the legend's swatches
    plot = colours_in(image, 60, 200, 1150, 880)
    near = [rgb for rgb in legend_rgb if any(sum(abs(a - b) for a, b in zip(rgb, p, strict=True)) < 30 for p in plot)]
    assert len(near) == 3  # points of every label are drawn


def test_the_same_picture_at_scale_one_has_the_same_layout(shown, tmp_path):
    one = QImage(str(save_picture(shown, tmp_path / "a.png", PictureSpec(800, 450, 1.0, "Planted"))))
    two = QImage(str(save_picture(shown, tmp_path / "b.png", PictureSpec(800, 450, 2.0, "Planted"))))
    down = two.scaled(800, 450)
    diff = np.abs(_array(one).astype(int) - _array(down).astype(int)).mean()
    assert diff < 12  # same places, only sharper


def _array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)[:, : 4 * image.width()].copy()


def test_svg_has_vector_points_the_title_and_the_legend(shown, tmp_path):
    path = save_picture(shown, tmp_path / "map.svg", PictureSpec(1200, 800, 1.0, "Planted", "sub"))
    text = path.read_text()
    assert "<svg" in text and "Planted" in text and "red  (10)" in text
    assert text.count("<path") + text.count("<circle") + text.count("<ellipse") >= 30
    assert "<image" not in text  # 30 points: true vector symbols


def test_bad_specs_and_unwritable_files_are_clear_errors(shown, tmp_path):
    with pytest.raises(ValueError, match="120 million pixels"):
        PictureSpec(10_000, 10_000, 2.0)
    with pytest.raises(ValueError, match="outside 64..10000"):
        PictureSpec(20, 400)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="could not write"):
        save_picture(shown, blocker / "map.png", PictureSpec(400, 300))


def test_the_dialog_writes_what_it_shows(qtbot, shown, tmp_path):
    dialog = QtMapExportDialog(shown, tmp_path / "slide", "Planted")
    qtbot.addWidget(dialog)
    dialog.show()
    assert "Colour: label" in dialog.subtitle_edit.text() and "weights image 1" in dialog.subtitle_edit.text()
    dialog.preset.setCurrentIndex(2)  # square
    assert (dialog.width_spin.value(), dialog.height_spin.value()) == (1080, 1080)
    dialog.width_spin.setValue(1000)
    assert dialog.preset.currentText() == "Custom"
    dialog.scale.setCurrentIndex(1)
    qtbot.waitUntil(lambda: dialog.preview.pixmap() is not None and not dialog.preview.pixmap().isNull())
    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    image = QImage(str(tmp_path / "slide.png"))
    assert (image.width(), image.height()) == (2000, 2160)
    dialog.path_edit.setText(str(tmp_path / "file" / "x.png"))
    (tmp_path / "file").write_text("x")
    assert dialog.save() is None and "Could not export" in dialog.status.text()
