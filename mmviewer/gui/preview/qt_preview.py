"""The Preview panel: the current item's image, full text, audio player and metadata.

Files are decoded by jobs of the model's runner through the core's safe loaders (image, text
and audio each in a slot of its own, so a fast one shows first); a newer item supersedes the
decodes of the last one, whose results are never shown. A missing modality says so ("no audio for this item"); a broken file shows the
loader's reason. Switching items stops playback.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from mmviewer.core.data.preview import guarded, read_audio, read_image, read_text
from mmviewer.gui.preview.audio import AudioPlayer
from mmviewer.gui.preview.thumbnails import pil_to_qimage

MODALITY_TITLES = {"image": "Image", "text": "Text", "audio": "Audio"}


def _decode_image(ref):
    """Worker: a QImage (QImage, unlike QPixmap, may be built off the UI thread)."""
    im, size, notes = read_image(ref)
    return pil_to_qimage(im), size, notes


class ScaledImage(QLabel):
    """A label that shows an image scaled to fit, aspect ratio kept, rescaled on resize."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image: QImage | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)  # for messages ("cannot show …: reason")
        self.setMinimumSize(80, 60)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setToolTip("The item's image, scaled to fit (aspect ratio kept)")

    def set_image(self, image: QImage | None, message: str = "") -> None:
        self._image = image
        if image is None:
            self.clear()
            self.setText(message)
        else:
            self._rescale()

    def _rescale(self) -> None:
        if self._image is not None:
            pixmap = QPixmap.fromImage(self._image)
            self.setPixmap(pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._rescale()


class QtPreview(QWidget):
    """Preview of ``state.current``; see the module docstring."""

    loaded = Signal(str)  # "image" | "text" | "audio": that modality of the current item is shown

    def __init__(self, state, model, thumbnails=None, parent=None):
        super().__init__(parent)
        self.state = state
        self.model = model
        self.thumbnails = thumbnails
        self.row = -1

        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta.setToolTip("Item id, metadata columns and the files it was built from")
        self.image_caption = QLabel("Image")
        self.image_caption.setWordWrap(True)
        self.image_caption.setToolTip("The item's image file and its size in pixels")
        self.image = ScaledImage()
        self.text_caption = QLabel("Text")
        self.text_caption.setToolTip("The item's text: a file, or inline text from a manifest")
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setToolTip("The item's full text (select and copy freely)")
        self.audio = AudioPlayer()

        image_box = self._section(self.image_caption, self.image)
        text_box = self._section(self.text_caption, self.text)
        splitter = QSplitter(Qt.Orientation.Vertical)
        for box, stretch in ((image_box, 3), (text_box, 1), (self.audio, 2)):
            splitter.addWidget(box)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([300, 100, 200])  # the image label has no size hint to go by
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.meta)
        layout.addWidget(splitter, 1)

        state.events.current.connect(self._on_state_current)
        model.table_ready.connect(self._on_model_table_ready)
        self._show(state.current)

    @staticmethod
    def _section(caption: QLabel, body: QWidget) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(caption)
        layout.addWidget(body, 1)
        return box

    # -- showing an item ------------------------------------------------------------------------
    def _on_state_current(self, row: int) -> None:
        self._show(row)

    def _on_model_table_ready(self) -> None:
        self._show(self.state.current)

    def _show(self, row: int) -> None:
        for modality in MODALITY_TITLES:  # whatever the last item was still decoding
            self.model.jobs.cancel(("preview", modality, id(self)))
        self.audio.stop()
        ws = self.model.workspace
        self.row = row if ws is not None and 0 <= row < ws.table.n_items else -1
        if self.row < 0:
            self.meta.setText("<i>Select an item to preview it.</i>")
            self.image_caption.setText("Image")
            self.image.set_image(None, "")
            self.text_caption.setText("Text")
            self.text.setPlainText("")
            self.audio.set_source(None, "Audio")
            return
        item = self.model.item(self.row)
        media = item.media if item is not None else {}
        self.meta.setText(self._describe(self.row, item))
        for modality in ("image", "text", "audio"):
            ref = media.get(modality)
            if ref is None:
                self._missing(modality, item is None)
            else:
                self._load(modality, ref)

    def _describe(self, row: int, item) -> str:
        table = self.model.workspace.table
        lines = [f"<b>{html.escape(str(table.ids[row]))}</b>  <span style='color:gray'>row {row}</span>"]
        meta = dict(item.metadata) if item is not None else {
            k: v[row] for k, v in table.metadata.items()}
        if meta:
            lines.append(" · ".join(f"{html.escape(str(k))}: <b>{html.escape(str(v))}</b>"
                                    for k, v in meta.items()))
        if item is None:
            lines.append("<i>no media files (precomputed embeddings)</i>")
        else:
            for modality, ref in item.media.items():
                where = ref.path if ref.path is not None else "inline text (manifest)"
                # a zero-width space after each "/" lets a long path wrap in a narrow dock
                where = html.escape(str(where)).replace("/", "/\u200b")
                lines.append(f"{modality}: <code>{where}</code>")
        return "<br>".join(lines)

    def _missing(self, modality: str, no_files: bool) -> None:
        message = ("no media files for this item" if no_files
                   else f"no {modality} for this item")
        title = MODALITY_TITLES[modality]
        if modality == "image":
            self.image_caption.setText(f"{title} — {message}")
            self.image.set_image(None, message)
        elif modality == "text":
            self.text_caption.setText(f"{title} — {message}")
            self.text.setPlainText("")
            self.text.setPlaceholderText(message)
        else:
            self.audio.set_source(None, f"{title} — {message}")

    def _load(self, modality: str, ref) -> None:
        name = ref.label
        title = MODALITY_TITLES[modality]
        func = {"image": _decode_image, "text": read_text, "audio": read_audio}[modality]
        if modality == "image":
            self.image_caption.setText(f"{title} · {name}")
            self.image.set_image(None, "decoding…")
        elif modality == "text":
            self.text_caption.setText(f"{title} · {name}")
            self.text.setPlainText("")
            self.text.setPlaceholderText("loading…")
        else:
            self.audio.set_source(ref.path, f"{title} · {name} · decoding waveform…")
        # One slot per modality: a newer item supersedes, so a late result is never shown.
        self.model.jobs.submit(("preview", modality, id(self)), guarded, (modality, name), func, ref,
                               on_result=self._on_decoded)

    def _on_decoded(self, value) -> None:
        (modality, name), result, error = value
        title = MODALITY_TITLES[modality]
        if error:
            reason = f"cannot show {name}: {error}"
            if modality == "image":
                self.image_caption.setText(f"{title} — {reason}")
                self.image.set_image(None, reason)
            elif modality == "text":
                self.text_caption.setText(f"{title} — {reason}")
                self.text.setPlaceholderText(reason)
            else:
                self.audio.set_error(f"{title} — {reason}")
        elif modality == "image":
            image, (w, h), notes = result
            self.image_caption.setText(f"{title} · {name} · {w}×{h}" + "".join(f" · {n}" for n in notes))
            self.image.set_image(image)
        elif modality == "text":
            text, notes = result
            self.text_caption.setText(f"{title} · {name} · {len(text):,} characters"
                                      + "".join(f" · {n}" for n in notes))
            self.text.setPlainText(text)
        else:
            self.audio.caption.setText(f"{title} · {name} · {result.duration:.2f} s"
                                       + "".join(f" · {n}" for n in result.notes))
            self.audio.set_waveform(result)
        self.loaded.emit(modality)
