"""Item images for the map, made off the UI thread and cached in the dataset's store.

:func:`load_images` is a generator job of the model's runner: for each ``(row, MediaRef)`` it
yields ``(row, QImage or None, reason)``, reading the thumbnail from the store's
:class:`~mmviewer.core.store.thumbnails.ThumbnailShelf` (content-hash keys) or decoding the file
through the core's safe loader and adding it. A :class:`ImageSource` holds the shelf and the
hash cache of one table; only the job thread of one slot touches it, one job at a time.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from mmviewer.core.store.hashing import HashCache
from mmviewer.core.store.thumbnails import ThumbnailShelf, make_thumbnails

THUMB_PX = 128  # sharp at 64 px on a 2x screen, and the hover card's size


class ImageSource:
    """Where one table's item images come from: its store (or memory when it has none)."""

    def __init__(self, store_root: Path | None, size: int = THUMB_PX):
        self.store_root = None if store_root is None else Path(store_root)
        self.size = size
        self.shelf: ThumbnailShelf | None = None
        self.hashes: HashCache | None = None

    def open(self) -> None:
        """Open the shelf and the hash cache (in the job thread: reading them takes a moment)."""
        if self.shelf is None:
            self.shelf = ThumbnailShelf.for_store(self.store_root, self.size)
            files = self.store_root / "files.parquet" if self.store_root is not None else None
            self.hashes = HashCache(files)


def load_images(source: ImageSource, refs):
    """Generator job: ``(row, QImage | None, reason)`` for each ``(row, MediaRef)``."""
    source.open()
    made = make_thumbnails(source.shelf, source.hashes, refs)
    try:
        for row, data, reason in made:
            image = None
            if data is not None:
                image = QImage.fromData(data)
                if image.isNull():
                    image, reason = None, "the cached thumbnail could not be decoded"
            yield row, image, reason
    finally:
        made.close()  # a superseded job still writes what it made to the store
