"""Item thumbnails and captions, decoded off the UI thread and cached.

``ThumbnailCache.get(row)`` returns a ``QImage`` at once when cached, else ``None`` and starts a
background decode; ``ready(row)`` fires when it lands. Decoding goes through the core's safe
loader, so a broken or huge file costs one failed thumbnail, never a freeze.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from functools import partial

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from mmviewer.core.app.runner import each
from mmviewer.core.data.media import MediaError, load_image, load_text
from mmviewer.core.data.model import DEFAULT_LIMITS

THUMB_SIZE = 128
CAPTION_CHARS = 160
CAPTION_LIMITS = replace(DEFAULT_LIMITS, max_text_bytes=4096)


def pil_to_qimage(im) -> QImage:
    """An independent QImage copy of an RGB PIL image."""
    im = im.convert("RGB")
    data = im.tobytes("raw", "RGB")
    qimg = QImage(data, im.width, im.height, 3 * im.width, QImage.Format.Format_RGB888)
    return qimg.copy()  # detach from the Python buffer


def _decode(ref, size: int):
    im = load_image(ref).value
    im.thumbnail((size, size))
    return pil_to_qimage(im)


class ThumbnailCache(QObject):
    """LRU cache of item thumbnails for one model (cleared when the table changes)."""

    ready = Signal(int)  # row

    def __init__(self, model, size: int = THUMB_SIZE, capacity: int = 512, parent=None):
        super().__init__(parent)
        self.model = model
        self.size = size
        self.capacity = capacity
        self._images: OrderedDict[int, QImage | None] = OrderedDict()
        self._loading: dict[int, object] = {}  # row -> image ref, asked and not yet decoded
        self._captions: dict[int, str] = {}
        self._job = model.jobs.slot("thumbnails", id(self))
        model.table_ready.connect(self._on_model_table_ready)

    def _on_model_table_ready(self) -> None:
        self._job.cancel()
        self._images.clear()
        self._loading.clear()
        self._captions.clear()

    def get(self, row: int) -> QImage | None:
        """The thumbnail if decoded; otherwise ``None`` (and a decode is started)."""
        if row in self._images:
            self._images.move_to_end(row)
            return self._images[row]
        item = self.model.item(row)
        if item is None or "image" not in item.media or row in self._loading:
            return None
        self._loading[row] = item.media["image"]
        # Newest first: the rows asked last are the ones on screen now.
        todo = list(reversed(self._loading.items()))
        self._job.submit(each, partial(_decode, size=self.size), todo, on_progress=self._store)
        return None

    def _store(self, value) -> None:
        row, image, _error = value  # a broken file: no thumbnail for this row
        if self._loading.pop(row, None) is None:
            return  # the table changed meanwhile
        self._images[row] = image
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)
        self.ready.emit(row)

    def caption(self, row: int) -> str:
        """A short caption: the item's text (first characters) or its id."""
        if row in self._captions:
            return self._captions[row]
        item = self.model.item(row)
        text = ""
        if item is not None and "text" in item.media:
            ref = item.media["text"]
            try:
                # Only the head of a file: a caption needs 160 characters, and this runs on
                # the UI thread (hover cards, list rows), so its cost must not grow with the file.
                text = ref.text if ref.text is not None else load_text(ref, CAPTION_LIMITS).value
            except MediaError:
                text = ""
        if len(text) > CAPTION_CHARS:
            text = text[: CAPTION_CHARS - 1] + "…"
        self._captions[row] = text
        return text


class RowPixmaps:
    """Small pixmaps of items' thumbnails for table cells (the item table, the suspects list):
    scaled once, the most recently painted ``keep`` kept."""

    def __init__(self, size: int = 32, keep: int = 256) -> None:
        self.size, self.keep = size, keep
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()

    def clear(self) -> None:
        self._pixmaps.clear()

    def get(self, thumbnails: ThumbnailCache | None, row: int) -> QPixmap | None:
        pix = self._pixmaps.get(row)
        if pix is not None:
            self._pixmaps.move_to_end(row)
            return pix
        image = thumbnails.get(row) if thumbnails is not None else None
        if image is None:
            return None  # not decoded yet: the cache's ready signal repaints the cell
        pix = QPixmap.fromImage(image.scaled(self.size, self.size, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation))
        self._pixmaps[row] = pix
        while len(self._pixmaps) > self.keep:
            self._pixmaps.popitem(last=False)
        return pix
