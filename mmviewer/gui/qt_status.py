"""The status bar: embedding progress with Cancel, notices, the encoders in use, busy jobs.

It is the app's one sink for messages: every ``model.notice`` lands here, coloured by
level, with the file name when there is one; "Details…" opens the full text (reason, path,
traceback) in a selectable, copyable box. Nothing here is ever a modal traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStatusBar,
    QWidget,
)

from mmviewer.core.app.state import Notice
from mmviewer.core.encoders.info import encoders_summary, uses_clip
from mmviewer.gui.dialogs.layout import body_with_close

LEVEL_COLOURS = {"info": "", "warning": "#9a5b00", "error": "#b00020"}
LEVEL_MARKS = {"info": "", "warning": "⚠ ", "error": "✖ "}
HISTORY = 200


def notice_text(notice: Notice) -> str:
    """The one-line form: level mark, file name (when known) and the message."""
    name = Path(notice.path).name if notice.path else ""
    # Errors always name their file; a warning about many files ("4 files skipped", with one
    # detail line each) is not about its first one.
    about_one = notice.level == "error" or len(notice.details) <= 1
    text = notice.text if not name or name in notice.text or not about_one else f"{name}: {notice.text}"
    return LEVEL_MARKS.get(notice.level, "") + text


def notice_details(notice: Notice) -> str:
    parts = [f"[{notice.level}] {notice.text}"]
    if notice.path:
        parts.append(f"File: {notice.path}")
    if notice.details:
        parts.append("")
        parts.extend(str(d).rstrip("\n") for d in notice.details)
    return "\n".join(parts)


class QtStatus(QStatusBar):
    """Status bar bound to one :class:`~mmviewer.core.app.model.AppModel`."""

    def __init__(self, model, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.history: list[tuple[str, Notice]] = []
        self.last_notice: Notice | None = None
        self._stages: dict[str, str] = {}  # modality -> "done" | stage text
        self._name = ""  # the dataset being opened
        self._noticed = False  # a notice arrived since it started: keep it on show

        self.message = QLabel("Open a folder (Ctrl+O), drop one on the window, or try --demo.")
        self.message.setToolTip("The latest message. Click “Details…” for the full text.")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMinimumWidth(120)
        # Long messages are cut, never widen the window; "Details…" has the full text.
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details_button = QPushButton("Details…")
        self.details_button.setFlat(True)
        self.details_button.setToolTip("Show the full text of the latest messages (copyable).")
        self.details_button.clicked.connect(self._on_details_button_clicked)
        self.details_button.setVisible(False)

        self.progress_label = QLabel()
        self.progress_label.setToolTip(
            "Embedding progress per modality: stage, items done/total, speed, time left.")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(160)
        self.progress_bar.setToolTip("Progress of the current embedding stage.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(
            "Stop embedding after the current batch: everything finished so far is saved and "
            "shown; opening the dataset again computes only the rest.")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.busy_label = QLabel()
        self.busy_label.setToolTip("Work running in the background.")
        self.encoders_label = QLabel()
        self.encoders_label.setToolTip("The encoders that made the embeddings on show.")

        for label in (self.progress_label, self.busy_label, self.encoders_label):
            # an explicit minimum lets a narrow window (1000 px) clip these rather than grow
            label.setMinimumWidth(60)
        self.addWidget(self.message, 1)
        self.addWidget(self.details_button)
        for w in (self.progress_label, self.progress_bar, self.cancel_button, self.busy_label,
                  self.encoders_label):
            self.addPermanentWidget(w)
        self._set_embedding(False)

        model.opened.connect(self._on_model_opened)
        model.progress.connect(self._on_model_progress)
        model.notice.connect(self._on_model_notice)
        model.busy.connect(self._on_model_busy)
        model.table_ready.connect(self._on_model_table_ready)
        model.embedding_done.connect(self._on_model_embedding_done)

    # -- embedding progress -----------------------------------------------------------------------
    def start_embedding(self, name: str) -> None:
        self._stages.clear()
        self._name = name
        self._noticed = False
        self._say(f"Opening {name}…")
        self.progress_label.setText(f"Opening {name}…")
        self.progress_bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self._set_embedding(True)

    def _set_embedding(self, on: bool) -> None:
        for w in (self.progress_label, self.progress_bar, self.cancel_button):
            w.setVisible(on)
        self.busy_label.setVisible(not on)  # the progress label says it already

    def _say(self, text: str) -> None:
        """A plain status line (not a notice: not kept in the history)."""
        self.message.setText(text)
        self.message.setStyleSheet("")
        self.message.setToolTip(text)

    def _on_model_opened(self, dataset) -> None:
        if self._noticed:
            return
        name = self._name or "the dataset"
        if self.model.provisional:  # the last session's table is on screen while the job checks
            self._say(f"Showing the last session; checking {len(dataset.items)} items of {name} "
                      "for changes…")
        else:
            self._say(f"Embedding {len(dataset.items)} items from {name}…")

    def _on_model_progress(self, p) -> None:
        if not self.progress_bar.isVisible():
            self._set_embedding(True)
        modality = p.modality or "all"
        for m in list(self._stages):
            if m != modality and self._stages[m] != "done":
                self._stages[m] = "done"
        detail = f"{p.stage} {modality} {p.done}/{p.total}"
        if p.rate:
            detail += f" · {p.rate:.0f} items/s"
        if p.eta_s is not None and p.done < p.total:
            detail += f" · {_duration(p.eta_s)} left"
        self._stages[modality] = detail
        done = [m for m, s in self._stages.items() if s == "done"]
        self.progress_label.setText(" · ".join([f"{m} ✓" for m in done] + [detail]))
        self.progress_bar.setRange(0, max(1, p.total))
        self.progress_bar.setValue(min(p.done, p.total))

    def _on_cancel_button_clicked(self) -> None:
        self.model.cancel_embedding()
        self.cancel_button.setEnabled(False)
        self.progress_label.setText(self.progress_label.text() + " · cancelling…")

    def _say_ready(self) -> None:
        ws = self.model.workspace
        if ws is not None and not self._noticed:
            self._say(f"{self._name or 'Table'}: {ws.table.n_items} items "
                      f"({', '.join(ws.table.modalities)}). Select a point or a row to explore.")

    def _on_model_embedding_done(self) -> None:
        # Also when the job found the table on screen unchanged: no table_ready then.
        self._set_embedding(False)
        self._say_ready()

    def _on_model_table_ready(self) -> None:
        self._set_embedding(False)
        ws = self.model.workspace
        encoders = dict(ws.table.encoders) if ws is not None else {}
        self._say_ready()
        self.encoders_label.setText(encoders_summary(encoders))
        tip = "\n".join(f"{m}: {e}" for m, e in encoders.items())
        if encoders and not uses_clip(encoders) and not any(
                e.startswith("precomputed") for e in encoders.values()):
            tip += "\n\nOffline encoders: Help → About says how to get CLIP weights."
        self.encoders_label.setToolTip(tip or "The encoders that made the embeddings on show.")

    def _on_model_busy(self, label: str) -> None:
        self.busy_label.setText(f"{label}…" if label else "")
        if not label:
            self._set_embedding(False)  # nothing runs, so no embedding either (done or failed)

    # -- notices ----------------------------------------------------------------------------------
    def _on_model_notice(self, notice: Notice) -> None:
        self.show_notice(notice)

    def show_notice(self, notice: Notice) -> None:
        self.last_notice = notice
        self._noticed = True
        self.history.append((time.strftime("%H:%M:%S"), notice))
        del self.history[:-HISTORY]
        text = notice_text(notice)
        first_line = text.splitlines()[0] if text else ""
        self.message.setText(first_line)
        colour = LEVEL_COLOURS.get(notice.level, "")
        self.message.setStyleSheet(f"color: {colour};" if colour else "")
        self.message.setToolTip(notice_details(notice)[:2000])
        self.details_button.setVisible(True)
        if notice.level == "error" and notice.text.startswith("embed failed"):
            self._set_embedding(False)

    def _on_details_button_clicked(self) -> None:
        self.details_dialog().exec()

    def details_dialog(self) -> QDialog:
        """The latest notice in full, then the earlier ones (newest first)."""
        dialog = QDialog(self.window())
        dialog.setWindowTitle("Messages")
        box = QPlainTextEdit()
        box.setReadOnly(True)
        box.setToolTip("Full text of the messages; select and copy as needed.")
        blocks = [f"{when}  {notice_details(n)}" for when, n in reversed(self.history)]
        box.setPlainText("\n\n".join(blocks) or "No messages.")
        body_with_close(dialog, box, (760, 420))
        return dialog


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
