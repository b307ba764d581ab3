"""What the report shows of each item's media: short captions and small thumbnails as data URIs.

Thumbnails come from the store's :class:`~mmviewer.core.store.thumbnails.ThumbnailShelf` (the
map's picture mode fills the same kind of shelf), so a second report of the same folder decodes
nothing. Audio is not embedded (a clip costs more than a hundred thumbnails): items name it.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

from mmviewer.core.data.media import MediaError, load_text
from mmviewer.core.data.model import DEFAULT_LIMITS
from mmviewer.core.store.hashing import HashCache
from mmviewer.core.store.thumbnails import ThumbnailShelf, make_thumbnails

CAPTION_LIMITS = replace(DEFAULT_LIMITS, max_text_bytes=2048)


class ItemLookup:
    """The dataset item behind each table row (rows usually follow the items one to one)."""

    def __init__(self, table, dataset):
        self.table = table
        self.items = dataset.items if dataset is not None else ()
        self._by_id: dict | None = None

    def __call__(self, row: int):
        if not self.items:
            return None
        item_id = str(self.table.ids[row])
        if len(self.items) == self.table.n_items:
            candidate = self.items[row]
            if candidate.id == item_id:
                return candidate
        if self._by_id is None:
            self._by_id = {it.id: it for it in self.items}
        return self._by_id.get(item_id)


def caption_of(item, chars: int) -> str:
    """The head of the item's text (inline or file), one line, at most ``chars`` characters."""
    if item is None or "text" not in item.media:
        return ""
    ref = item.media["text"]
    try:
        text = ref.text if ref.text is not None else load_text(ref, CAPTION_LIMITS).value
    except MediaError:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def thumbnail_uris(lookup: ItemLookup, rows, size: int, store_root: Path | None):
    """Generator: ``(row, "data:image/webp;base64,…" or None)`` for each row that has an image.

    Uses (and fills) the store's thumbnail shelf of ``size`` when ``store_root`` is given."""
    shelf = ThumbnailShelf.for_store(store_root, size)
    hashes = HashCache(Path(store_root) / "files.parquet") if store_root is not None else None
    refs = []
    for row in rows:
        item = lookup(int(row))
        if item is not None and "image" in item.media and item.media["image"].path is not None:
            refs.append((int(row), item.media["image"]))
    made = make_thumbnails(shelf, hashes, refs)
    try:
        for row, data, _reason in made:
            uri = None if data is None else "data:image/webp;base64," + base64.b64encode(data).decode()
            yield row, uri
    finally:
        made.close()  # writes what it made to the store, also when the caller stops early
        shelf.close()


def audio_name(item) -> str:
    """How an item's audio is named in the report (its file), or ""."""
    if item is None or "audio" not in item.media:
        return ""
    return item.media["audio"].label
