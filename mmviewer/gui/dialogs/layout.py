"""The layout every read-only dialog shares: one body widget above a Close button."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget


def body_with_close(dialog: QDialog, body: QWidget, size: tuple[int, int] | None = None) -> None:
    """Lay out ``body`` above a Close button (Escape closes too) and size the dialog."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this window.")
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(body)
    layout.addWidget(buttons)
    if size is not None:
        dialog.resize(*size)
