"""File → Import report: every skipped file and every note, with its reason; filterable, copyable."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import (
    QGuiApplication,
    QKeySequence,
    QShortcut,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Kind", "File", "Reason")
KINDS = (("All", ""), ("Skipped", "skipped"), ("Notes", "note"))


class _ReportFilter(QSortFilterProxyModel):
    """Text filter over every column plus a kind filter."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kind = ""
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)

    def set_kind(self, kind: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10 (invalidateFilter is deprecated)
            self.beginFilterChange()
            self.kind = kind
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.kind = kind
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):  # noqa: N802 (Qt override)
        if self.kind and self.sourceModel().index(row, 0, parent).data(Qt.ItemDataRole.UserRole) != self.kind:
            return False
        return super().filterAcceptsRow(row, parent)


class QtReportDialog(QDialog):
    """Shows an :class:`~mmviewer.core.data.report.ImportReport` (``skipped`` and ``notes``)."""

    def __init__(self, report, source: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Import report — {source}" if source else "Import report")
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        skipped = list(getattr(report, "skipped", []) or [])
        notes = list(getattr(report, "notes", []) or [])
        for kind, label, problems in (("skipped", "Skipped", skipped), ("note", "Note", notes)):
            for p in problems:
                first = QStandardItem(label)
                first.setData(kind, Qt.ItemDataRole.UserRole)
                cells = [first, QStandardItem(str(p.path)), QStandardItem(str(p.reason))]
                for cell in cells:
                    cell.setEditable(False)
                    cell.setToolTip(f"{p.path}\n{p.reason}")
                self.model.appendRow(cells)
        self.proxy = _ReportFilter(self)
        self.proxy.setSourceModel(self.model)

        summary = QLabel(
            f"{len(skipped)} file(s) skipped (not used at all), {len(notes)} note(s) "
            "(used, with a caveat)." if skipped or notes else "No problems: every file was used.")
        summary.setToolTip("Skipped files are left out of the dataset; notes are files that were "
                           "used but something about them is worth knowing.")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by file or reason…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Show only rows whose file or reason contains this text.")
        self.filter_edit.textChanged.connect(self._on_filter_edit_changed)
        self.kind_combo = QComboBox()
        for label, kind in KINDS:
            self.kind_combo.addItem(label, kind)
        self.kind_combo.setToolTip("Show skipped files, notes, or both.")
        self.kind_combo.currentIndexChanged.connect(self._on_kind_combo_changed)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(1, 300)
        self.table.setToolTip("Select rows and press Ctrl+C to copy them (tab-separated).")
        QShortcut(QKeySequence.StandardKey.Copy, self.table, activated=self._on_copy_selected)

        self.copy_button = QPushButton("Copy all shown")
        self.copy_button.setToolTip("Copy every row shown (after filtering) as tab-separated text.")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close the report.")
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.kind_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(860, 460)

    # -- rows -------------------------------------------------------------------------------------
    def visible_rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.proxy.index(r, c).data() for c in range(len(COLUMNS)))
                for r in range(self.proxy.rowCount())]

    def as_text(self, rows=None) -> str:
        rows = self.visible_rows() if rows is None else rows
        return "\n".join("\t".join(row) for row in [COLUMNS, *rows])

    def _on_filter_edit_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    def _on_kind_combo_changed(self, index: int) -> None:
        self.proxy.set_kind(self.kind_combo.itemData(index))

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.as_text())

    def _on_copy_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedIndexes()})
        picked = [tuple(self.proxy.index(r, c).data() for c in range(len(COLUMNS))) for r in rows]
        QGuiApplication.clipboard().setText(self.as_text(picked))
