"""The first window fits the screen: a 1000x700 screen, or 1920x1080 at a 2x scale factor
(960x540 logical), must not hide the right-hand panels off screen."""

from __future__ import annotations

from PySide6.QtCore import QRect

from mmviewer.gui.main_window import fitted_size


class Screen:
    def __init__(self, w, h):
        self.rect = QRect(0, 0, w, h)

    def availableGeometry(self):  # noqa: N802 (Qt's name)
        return self.rect


def test_the_first_window_fits_small_and_scaled_screens():
    assert fitted_size(Screen(2560, 1440)) == (1500, 940)
    assert fitted_size(Screen(1000, 700)) == (960, 658)
    assert fitted_size(Screen(960, 540)) == (921, 507)
    assert fitted_size(None) == (1500, 940)
