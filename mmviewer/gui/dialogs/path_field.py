"""A file field of the export dialogs: the path, editable, and a Browse… button."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget


class PathField(QWidget):
    """``edit`` holds the path; Browse… opens a save dialog with ``filters``; ``fix`` turns
    the chosen name and filter into the path shown (e.g. adds the suffix)."""

    def __init__(self, path: Path, title: str, filters: str, fix=None, parent=None):
        super().__init__(parent)
        self.title, self.filters, self.fix = title, filters, fix
        self.edit = QLineEdit(str(path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def path(self) -> Path:
        return Path(self.edit.text().strip()).expanduser()

    def _on_browse_clicked(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, self.title, self.edit.text(), self.filters)
        if path:
            self.edit.setText(str(self.fix(path, chosen) if self.fix else path))
