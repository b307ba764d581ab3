"""Content hashes of media, with a cache so unchanged files are not read again.

The hash of a file is BLAKE2b-128 of its bytes; inline manifest text hashes its UTF-8 encoding.
The cache maps
(real path, size, mtime_ns) to the hash, like git's index, so reopening a 100k-item dataset costs
one ``stat`` per file instead of reading every byte.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from mmviewer.core.data.confine import has_bad_name, open_regular
from mmviewer.core.data.model import MediaRef
from mmviewer.core.store.atomic import StoreWriteError, write_bytes_atomic
from mmviewer.core.store.entries import read_bytes, read_parquet

DIGEST_SIZE = 16


def file_hash(path: str | os.PathLike) -> str:
    """Of a regular file only: a FIFO or a link swapped in since the scan raises, never hangs."""
    with open_regular(path) as fh:
        return hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=DIGEST_SIZE)).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=DIGEST_SIZE).hexdigest()


class HashCache:
    """Persistent (path, size, mtime_ns) -> hash map stored as ``files.parquet``."""

    def __init__(self, path: Path | None):
        self.path = path
        self._entries: dict[str, tuple[int, int, str]] = {}
        self.hits = 0
        self._dirty = False
        if path is not None and os.path.lexists(path):
            self._read()

    def _read(self) -> None:
        try:  # a link, a pipe or a crafted file here is treated as damage
            table = read_parquet(read_bytes(self.path))
            cols = [table.column(c).to_pylist() for c in ("path", "size", "mtime_ns", "hash")]
            entries = {p: (s, m, h) for p, s, m, h in zip(*cols, strict=True)
                       if isinstance(p, str) and isinstance(h, str) and len(h) == 2 * DIGEST_SIZE}
        except Exception:
            return  # a damaged cache only costs re-hashing
        self._entries = entries

    def hash_of(self, ref: MediaRef) -> str:
        """Content hash of a media reference (raises ``OSError`` when unreadable)."""
        if ref.path is None:
            return text_hash(ref.text or "")
        key = os.fspath(ref.path)
        st = os.stat(key)
        cached = self._entries.get(key)
        if cached is not None and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            self.hits += 1
            return cached[2]
        digest = file_hash(key)
        self._entries[key] = (st.st_size, st.st_mtime_ns, digest)
        self._dirty = True
        return digest

    def save(self) -> None:
        """Write the cache atomically; failures are ignored (it is only a cache)."""
        if self.path is None or not self._dirty:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        paths = [p for p in self._entries if not has_bad_name(p)]  # Parquet strings are UTF-8
        sizes, mtimes, hashes = zip(*map(self._entries.get, paths), strict=True) if paths else ((), (), ())
        table = pa.table({
            "path": pa.array(paths, pa.string()),
            "size": pa.array(sizes, pa.int64()),
            "mtime_ns": pa.array(mtimes, pa.int64()),
            "hash": pa.array(hashes, pa.string()),
        })
        buf = io.BytesIO()
        pq.write_table(table, buf)
        try:
            write_bytes_atomic(self.path, buf.getvalue())
            self._dirty = False
        except StoreWriteError:
            pass
