"""Beside the Suspects list: the current item, what its odd modality would rather match, and its
audio.

:class:`SuspectDetail` says it in a line ("its **audio** would rather belong to item12"), shows
both items' pictures (the item's caption where it has no image) and plays the item's audio in
the Preview panel's :class:`~mmviewer.gui.preview.audio.AudioPlayer`. The audio is decoded by a
job of the model's runner through the core's safe loader, as the Preview panel does; a newer
item supersedes the decode of the last.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mmviewer.core.data.preview import guarded, read_audio
from mmviewer.gui.preview.audio import AudioPlayer
from mmviewer.gui.suspects.list_model import badge_colour

PICTURE_PX = 72


def _picture(tip: str) -> QLabel:
    label = QLabel()
    label.setFixedSize(PICTURE_PX, PICTURE_PX)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("border: 1px solid rgba(128,128,128,90); border-radius: 3px;")
    label.setToolTip(tip)
    return label


class SuspectDetail(QWidget):
    """The current suspect (see the module docstring)."""

    def __init__(self, state, model, thumbnails, parent=None):
        super().__init__(parent)
        self.state, self.model, self.thumbnails = state, model, thumbnails
        self.suspicion = None
        self.row = -1
        self._audio_row = -1
        self._autoplay = -1  # the row whose audio plays once decoded

        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setToolTip("The current item; click the other item's id to open it")
        self.heading.linkActivated.connect(self._on_heading_link_activated)
        self.this_picture = _picture("The item")
        self.rather_picture = _picture("The item its odd modality would rather belong to")
        pictures = QHBoxLayout()
        pictures.addWidget(self.this_picture)
        pictures.addWidget(QLabel("→"))
        pictures.addWidget(self.rather_picture)
        pictures.addStretch(1)
        self.player = AudioPlayer(compact=True)  # the waveform is in the Preview panel
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(pictures)
        layout.addWidget(self.player)
        layout.addStretch(1)
        self.setMinimumWidth(190)
        self.setMaximumWidth(280)
        thumbnails.ready.connect(self._on_thumbnails_ready)
        self.clear()

    def clear(self) -> None:
        self.suspicion, self.row = None, -1
        self._audio_row = self._autoplay = -1
        self.heading.setText("<i>Click a suspect to see it here.</i>")
        for label in (self.this_picture, self.rather_picture):
            label.clear()
        self.player.set_source(None, "")

    def show_row(self, suspicion, row: int) -> None:
        """Show item ``row`` of ``suspicion`` (nothing when it is None or ``row`` is -1)."""
        if suspicion is None or not 0 <= row < len(suspicion.score):
            self.clear()
            return
        self.suspicion, self.row = suspicion, row
        self.heading.setText(self._describe(row))
        self._set_picture(self.this_picture, row)
        self._set_picture(self.rather_picture, int(suspicion.rather[row]))
        if self._audio_row != row:
            self._load_audio(row)

    def play(self, row: int) -> None:
        """Play ``row``'s audio: at once when decoded, else as soon as it is."""
        self._autoplay = row
        if self._audio_row != row:
            self._load_audio(row)
        elif self.player.play():
            self._autoplay = -1
        # else still decoding: it plays when the waveform lands

    # -- drawing ------------------------------------------------------------------------------
    def _describe(self, row: int) -> str:
        r = self.suspicion
        score = float(r.score[row])
        mark = self.model.suspects.mark_of(row)
        parts = [f"<b>{html.escape(str(r.ids[row]))}</b>",
                 "not scored" if np.isnan(score) else
                 f"suspicion <b>{score:.2f}</b>" + (" (suspect)" if score > r.threshold else "")]
        if mark:
            parts.append(f"marked <b>{mark}</b>")
        text = " · ".join(parts)
        odd, rather = str(r.odd[row] or ""), int(r.rather[row])
        if rather >= 0:
            link = f"<a href='row:{rather}'>{html.escape(str(r.ids[rather]))}</a>"
            if odd:
                colour = badge_colour(odd).name()
                text += (f"<br>its <b style='color:{colour}'>{html.escape(odd)}</b> would rather "
                         f"belong to {link}")
            else:
                text += f"<br>it would rather match {link}"
        return text

    def _set_picture(self, label: QLabel, row: int) -> None:
        if row < 0:
            label.clear()
            label.setToolTip("")
            return
        image = self.thumbnails.get(row)
        caption = self.thumbnails.caption(row)
        item_id = str(self.suspicion.ids[row])
        label.setToolTip(f"{item_id}: {caption}" if caption else item_id)
        if image is None:
            label.clear()
            label.setText(html.escape(caption[:60] or item_id))
            return
        label.setPixmap(QPixmap.fromImage(image).scaled(
            PICTURE_PX - 4, PICTURE_PX - 4, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def _on_thumbnails_ready(self, row: int) -> None:
        r = self.suspicion
        if r is not None and self.row >= 0 and row in (self.row, int(r.rather[self.row])):
            self.show_row(r, self.row)

    def _on_heading_link_activated(self, link: str) -> None:
        if link.startswith("row:"):
            row = int(link[4:])
            self.state.selection = (row,)
            self.state.current = row

    # -- audio --------------------------------------------------------------------------------
    def _load_audio(self, row: int) -> None:
        self._audio_row = row
        item = self.model.item(row)
        ref = item.media.get("audio") if item is not None else None
        if ref is None or ref.path is None:
            self.player.set_source(None, "Audio — no audio for this item")
            return
        self.player.set_source(ref.path, f"Audio · {ref.label} · decoding…")
        self.model.jobs.submit(("suspects-audio", id(self)), guarded, (row, ref.label), read_audio,
                               ref, on_result=self._on_audio_decoded)

    def _on_audio_decoded(self, value) -> None:
        (row, name), waveform, error = value
        if row != self._audio_row:
            return
        if error:
            self.player.set_error(f"Audio — cannot show {name}: {error}")
            return
        self.player.caption.setText(f"Audio · {name} · {waveform.duration:.2f} s")
        self.player.set_waveform(waveform)
        if self._autoplay == row:
            self._autoplay = -1
            self.player.play()
