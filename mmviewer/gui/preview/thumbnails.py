"""Item thumbnails and captions, decoded off the UI thread and cached.

``ThumbnailCache.get(row)`` returns a ``QImage`` at once when cached, else ``None`` and starts a
background decode; ``ready(row)`` fires when it lands. Decoding goes through the core's safe
loader, so a broken or huge file costs one failed thumbnail, never a freeze.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage
from superqt.utils import create_worker

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
    """LRU cache of item thumbnails for one controller (cleared when the table changes)."""

    ready = Signal(int)  # row

    def __init__(self, controller, size: int = THUMB_SIZE, capacity: int = 512, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.size = size
        self.capacity = capacity
        self._images: OrderedDict[int, QImage | None] = OrderedDict()
        self._loading: set[int] = set()
        self._captions: dict[int, str] = {}
        controller.table_ready.connect(self._on_controller_table_ready)

    def _on_controller_table_ready(self) -> None:
        self._images.clear()
        self._loading.clear()
        self._captions.clear()

    def get(self, row: int) -> QImage | None:
        """The thumbnail if decoded; otherwise ``None`` (and a decode is started)."""
        if row in self._images:
            self._images.move_to_end(row)
            return self._images[row]
        item = self.controller.item(row)
        if item is None or "image" not in item.media or row in self._loading:
            return None
        self._loading.add(row)
        worker = create_worker(_decode, item.media["image"], self.size, _start_thread=False,
                               _ignore_errors=True)
        worker.returned.connect(lambda img, r=row: self._store(r, img))
        worker.errored.connect(lambda _err, r=row: self._store(r, None))
        worker.start()
        return None

    def _store(self, row: int, image: QImage | None) -> None:
        if row not in self._loading:
            return  # the table changed meanwhile
        self._loading.discard(row)
        self._images[row] = image
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)
        self.ready.emit(row)

    def caption(self, row: int) -> str:
        """A short caption: the item's text (first characters) or its id."""
        if row in self._captions:
            return self._captions[row]
        item = self.controller.item(row)
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
