"""Image thumbnails cached on disk by content hash: the map's picture mode and the HTML report.

A :class:`ThumbnailShelf` holds the WebP thumbnails of one size in pack files under
``<store>/thumbnails/<size>px/``. A pack is written whole and atomically (a killed run leaves
the old packs and no torn file) and memory-mapped when read, so a shelf of 100k thumbnails
costs its index in memory, not its bytes. Keys are content hashes, so renaming or moving a
file keeps its thumbnail and editing a file makes a new one.

:func:`make_thumbnails` is the generator job both users run: for each image reference it yields
the thumbnail bytes (from the shelf, or decoded through the safe loader and added to it), checks
for cancellation between images, and saves what it made when it ends or is cancelled.
"""

from __future__ import annotations

import io
import json
import mmap
import os
import re
import stat
import struct
import time
from pathlib import Path

from mmviewer.core.data.media import MediaError, load_image
from mmviewer.core.runtime.cancel import check_cancelled
from mmviewer.core.store.atomic import StoreWriteError, remove_stale_temporaries, write_bytes_atomic
from mmviewer.core.store.entries import folder_problem
from mmviewer.core.store.hashing import HashCache

MAGIC = b"MMTHUMB1"
PACK_RE = re.compile(r"^pack-(\d+)\.bin$")
COMPACT_AT = 24  # more packs than this are merged when a shelf is opened
FLUSH_EVERY = 256  # new thumbnails written per pack while a job runs
WEBP_QUALITY = 72


def encode_thumbnail(image, size: int, quality: int = WEBP_QUALITY) -> bytes:
    """WebP bytes of a PIL image shrunk to fit ``size`` x ``size`` (aspect kept)."""
    im = image.convert("RGB")
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="WEBP", quality=quality, method=4)
    return buf.getvalue()


def thumbnail_of(ref, size: int) -> bytes:
    """Decode ``ref`` with the safe loader and encode its thumbnail (raises MediaError)."""
    return encode_thumbnail(load_image(ref).value, size)


class ThumbnailShelf:
    """Thumbnails of one size, keyed by content hash; ``folder=None`` keeps them in memory."""

    def __init__(self, folder: Path | None, size: int):
        self.size = int(size)
        self.folder = None if folder is None else Path(folder) / f"{self.size}px"
        self.persist = self.folder is not None
        self.problems: list[str] = []
        self._maps: list[mmap.mmap] = []
        self._index: dict[str, tuple[int, int, int]] = {}  # key -> (pack, offset, length)
        self._memory: dict[str, bytes] = {}  # added but not (or not yet) in a pack
        self._packs: list[Path] = []
        self._load()

    @classmethod
    def for_store(cls, store_root: Path | None, size: int) -> ThumbnailShelf:
        return cls(None if store_root is None else Path(store_root) / "thumbnails", size)

    def __len__(self) -> int:
        return len(self._index) + len(self._memory)

    def __contains__(self, key: str) -> bool:
        return key in self._memory or key in self._index

    def get(self, key: str) -> bytes | None:
        data = self._memory.get(key)
        if data is not None:
            return data
        where = self._index.get(key)
        if where is None:
            return None
        pack, offset, length = where
        return bytes(self._maps[pack][offset:offset + length])

    def put(self, key: str, data: bytes) -> None:
        """Keep ``data`` in memory; :meth:`flush` writes what was put since the last flush."""
        if key not in self._index:
            self._memory[key] = bytes(data)

    def flush(self) -> None:
        """Write the thumbnails put since the last flush as one new pack (atomic).

        On a write failure the shelf stays in memory from then on and the reason is kept in
        :attr:`problems` (a read-only dataset still gets thumbnails, just not cached)."""
        if not self._memory or not self.persist:
            return
        fresh = dict(self._memory)
        try:
            path = self._write_pack(fresh)
        except StoreWriteError as err:
            self.persist = False
            self.problems.append(str(err))
            return
        self._open_pack(path)
        for key in fresh:
            self._memory.pop(key, None)

    def close(self) -> None:
        for m in self._maps:
            try:
                m.close()
            except (BufferError, ValueError):
                pass  # a view of it is still alive; the map closes with the process
        self._maps, self._index, self._packs = [], {}, []

    # -- packs ------------------------------------------------------------------------------
    def _load(self) -> None:
        if self.folder is None:
            return
        problem = _folder_problem(self.folder)
        if problem is not None:  # not written by us: never follow it, never write through it
            self.persist = False
            self.problems.append(f"{self.folder}: {problem}; thumbnails are kept in memory only")
            return
        if not self.folder.is_dir():
            return
        remove_stale_temporaries(self.folder)
        names = sorted((n for n in os.listdir(self.folder) if PACK_RE.match(n)),
                       key=lambda n: int(PACK_RE.match(n).group(1)))
        for name in names:
            self._open_pack(self.folder / name)
        if len(self._packs) > COMPACT_AT and self.persist:
            self._compact()

    def _open_pack(self, path: Path) -> None:
        try:
            mapped = _map_regular(path)
            if mapped[:8] != MAGIC:
                raise ValueError("not a thumbnail pack")
            (header_len,) = struct.unpack("<I", mapped[8:12])
            header = json.loads(mapped[12:12 + header_len])
            keys, offsets, lengths = header["keys"], header["offsets"], header["lengths"]
            base = 12 + header_len
            if not len(keys) == len(offsets) == len(lengths):
                raise ValueError("index lengths differ")
            if keys and base + offsets[-1] + lengths[-1] > len(mapped):
                raise ValueError("truncated")
        except (OSError, ValueError, KeyError, TypeError, struct.error) as err:
            self.problems.append(f"{path}: corrupt thumbnail pack dropped ({err})")
            try:
                path.unlink()
            except OSError:
                pass
            return
        number = len(self._maps)
        self._maps.append(mapped)
        self._packs.append(path)
        for key, off, length in zip(keys, offsets, lengths, strict=True):
            self._index[key] = (number, base + off, length)

    def _write_pack(self, items: dict[str, bytes]) -> Path:
        keys = list(items)
        offsets, lengths, pos = [], [], 0
        for key in keys:
            offsets.append(pos)
            lengths.append(len(items[key]))
            pos += len(items[key])
        header = json.dumps({"keys": keys, "offsets": offsets, "lengths": lengths}).encode()
        blob = b"".join([MAGIC, struct.pack("<I", len(header)), header, *items.values()])
        path = self.folder / f"pack-{time.time_ns()}.bin"
        write_bytes_atomic(path, blob)
        return path

    def _compact(self) -> None:
        """Merge every pack into one (write the new one, then delete the old ones)."""
        everything = {key: self.get(key) for key in self._index}
        old = list(self._packs)
        try:
            path = self._write_pack(everything)
        except StoreWriteError as err:
            self.problems.append(str(err))
            return
        self.close()
        for p in old:
            try:
                p.unlink()
            except OSError:
                pass
        self._open_pack(path)


def _folder_problem(folder: Path) -> str | None:
    """Why a folder on the way to the packs is not ours (a link, a file), or None."""
    for path in (folder.parent, folder):
        problem = folder_problem(path)
        if problem is not None:
            return problem
    return None


def _map_regular(path: Path) -> mmap.mmap:
    """Memory-map a pack that is a regular file: a link is not followed, a pipe never blocks."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


def make_thumbnails(shelf: ThumbnailShelf, hashes: HashCache | None, refs):
    """Generator job: for each ``(key, MediaRef)`` of ``refs`` yield ``(key, webp bytes, "")``
    or ``(key, None, reason)``. Thumbnails already on the shelf are read from it; new ones are
    decoded, added, and written to disk every :data:`FLUSH_EVERY` and at the end (also when
    the job is cancelled or closed, so nothing made is lost)."""
    made = 0
    try:
        for key, ref in refs:
            check_cancelled()
            try:
                digest = hashes.hash_of(ref) if hashes is not None else _path_key(ref)
            except OSError as err:
                yield key, None, f"unreadable: {err.strerror or err}"
                continue
            data = shelf.get(digest)
            if data is None:
                try:
                    data = thumbnail_of(ref, shelf.size)
                except MediaError as err:
                    yield key, None, str(err)
                    continue
                except Exception as err:  # noqa: BLE001 - one bad image costs one thumbnail
                    yield key, None, f"{type(err).__name__}: {err}"
                    continue
                shelf.put(digest, data)
                made += 1
                if made % FLUSH_EVERY == 0:
                    shelf.flush()
            yield key, data, ""
    finally:
        shelf.flush()


def _path_key(ref) -> str:
    """A key when no hash cache is at hand: the path, its size and its modification time."""
    st = os.stat(ref.path)
    return f"{os.fspath(ref.path)}:{st.st_size}:{st.st_mtime_ns}"
