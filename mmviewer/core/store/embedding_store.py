"""The on-disk embedding store: open formats, content-addressed, crash-safe.

Layout under the store folder (``<dataset>/.mmviewer/`` or a per-user cache folder when the
dataset is read-only)::

    files.parquet                       path, size, mtime_ns -> content hash (skips re-hashing)
    vectors/<encoder-slug>/encoder.json the encoder id and vector dimension
    vectors/<encoder-slug>/shard-<t>-<checksum>.parquet   columns: key (content hash), vector
    encoders/<encoder-slug>.npz         fitted state of corpus-fitted encoders (no pickle)

Vectors are keyed by (content hash, encoder id): a renamed file is not re-encoded, a changed one
is. Every shard is written atomically and named after the checksum of its bytes, so a torn,
truncated or overwritten shard is detected on open, reported and dropped (its items are simply
encoded again). No file in the store is ever a pickle.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmviewer.core.store.atomic import (
    TMP_SUFFIX,
    StoreWriteError,
    remove_stale_temporaries,
    write_bytes_atomic,
)
from mmviewer.core.store.entries import (
    drop,
    folder_problem,
    read_bytes,
    read_json,
    read_parquet,
    reason,
    safe_folder,
    verified_shard,
)

STORE_DIRNAME = ".mmviewer"
SHARD_RE = re.compile(r"^shard-(\d+)-([0-9a-f]{16})\.parquet$")
#: More shards than this are merged into one when a shelf is opened.
COMPACT_AT = 32


def checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def slug(encoder_id: str) -> str:
    """A file-system-safe, collision-free folder name for an encoder id."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_id).strip("_")[:60]
    return f"{readable}-{hashlib.blake2b(encoder_id.encode(), digest_size=4).hexdigest()}"


@dataclass
class StoreProblem:
    path: str
    reason: str


def _is_writable(folder: Path) -> bool:
    """Try to create ``folder`` and a file in it (``os.access`` lies for root and on NFS).

    The probe gets a unique name: threads of one process (the window opening a store while the
    embedding job opens the same one) must not delete each other's probe, or a writable
    folder would look read-only and the store would move to the user cache.
    """
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-", suffix=TMP_SUFFIX):
            pass
        return True
    except OSError:
        return False


def user_cache_store_dir(dataset_root: Path) -> Path:
    import platformdirs

    real = os.path.realpath(dataset_root)
    tag = hashlib.blake2b(real.encode(), digest_size=6).hexdigest()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(real) or "dataset")[:40]
    return Path(platformdirs.user_cache_dir("mmviewer")) / "stores" / f"{name}-{tag}"


def store_location(dataset_root: Path) -> tuple[Path, str | None]:
    """``(folder, why the dataset's own was refused or None)``: ``<dataset>/.mmviewer`` when it
    is a real, writable folder, else a per-user cache folder for this dataset. A ``.mmviewer``
    that is a link is never followed: it came with the dataset, and would send our writes (and
    deletions of what looks damaged) into whatever folder it names."""
    local = Path(dataset_root) / STORE_DIRNAME
    problem = folder_problem(local)
    if problem is None and _is_writable(local):
        return local, None
    why = f"the store folder is {problem}; the per-user cache is used instead" if problem else None
    return user_cache_store_dir(dataset_root), why


def store_dir_for(dataset_root: Path) -> Path:
    """``<dataset>/.mmviewer`` when usable, else a per-user cache folder for this dataset."""
    return store_location(dataset_root)[0]


class VectorShelf:
    """All vectors of one encoder: load once, look up by content hash, append atomically."""

    def __init__(self, folder: Path, encoder_id: str, dim: int | None = None):
        self.folder = folder
        self.encoder_id = encoder_id
        self.dim = dim
        self.problems: list[StoreProblem] = []
        #: False after a write failed: later batches stay in memory only (reported once).
        self.persist = True
        self._keys: list[np.ndarray] = []
        self._blocks: list[np.ndarray] = []
        self._index: dict[str, int] = {}
        self._starts: list[int] = []
        self._rows = 0
        self._shards: list[Path] = []
        self._load()

    # -- reading ------------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.folder.is_dir():
            return
        remove_stale_temporaries(self.folder)
        meta = self.folder / "encoder.json"
        if os.path.lexists(meta):
            try:
                info = read_json(meta, max_bytes=64 * 1024)
                if info.get("id") != self.encoder_id:
                    raise ValueError("encoder id mismatch")
                self.dim = self.dim or int(info["dim"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                self.problems.append(StoreProblem(str(meta), f"unreadable store metadata ({reason(err)}); rebuilt"))
                drop(meta)
        names = sorted(
            (n for n in os.listdir(self.folder) if n.startswith("shard-")),
            key=lambda n: (int(m.group(1)) if (m := SHARD_RE.match(n)) else 0, n),
        )
        for name in names:
            self._read_shard(self.folder / name)

    def _read_shard(self, path: Path) -> None:
        match = SHARD_RE.match(path.name)
        try:
            data = read_bytes(path)
            if match is None or checksum(data) != match.group(2):
                raise ValueError("checksum mismatch (truncated or overwritten)")
            keys, vectors, dim = verified_shard(read_parquet(data), self.dim)
        except Exception as err:  # any failure to read or verify means the shard is unusable
            self.problems.append(StoreProblem(str(path), f"corrupt store file dropped: {reason(err)}"))
            drop(path)
            return
        self.dim = dim
        self._add_block(keys, vectors, path)

    def _add_block(self, keys: np.ndarray, vectors: np.ndarray, path: Path | None) -> None:
        self._keys.append(keys)
        self._blocks.append(vectors)
        # key -> global row (rows numbered across blocks in order); later blocks win.
        self._index.update(zip(keys.tolist(), range(self._rows, self._rows + len(keys)), strict=True))
        self._starts.append(self._rows)
        self._rows += len(keys)
        if path is not None:
            self._shards.append(path)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def get_many(self, keys: list[str]) -> np.ndarray:
        """Vectors for ``keys`` (all must be present), stacked (len(keys), dim).

        One dict lookup per key, then a single gather (the usual case, one compacted shard,
        copies nothing else); was a Python loop copying one row at a time.
        """
        index = self._index
        rows = np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
        if not self._blocks:
            return np.empty((len(keys), self.dim or 0), dtype=np.float32)
        if len(self._blocks) == 1:
            return np.asarray(self._blocks[0][rows], dtype=np.float32)
        out = np.empty((len(keys), self.dim or self._blocks[0].shape[1]), dtype=np.float32)
        which = np.searchsorted(np.asarray(self._starts), rows, side="right") - 1
        for b in np.unique(which):
            sel = np.flatnonzero(which == b)
            out[sel] = self._blocks[b][rows[sel] - self._starts[b]]
        return out

    # -- writing ------------------------------------------------------------------------------
    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Persist a batch as one new shard (atomic), then make it visible to lookups.

        Raises :class:`~mmviewer.core.store.atomic.StoreWriteError`; the batch is then kept in memory
        only, and nothing on disk is damaged.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(keys) == 0:
            return
        if self.dim is None:
            self.dim = vectors.shape[1]
        keys_arr = np.asarray(keys, dtype=object)
        if not self.persist:
            self._add_block(keys_arr, vectors, None)
            return
        try:
            self._ensure_meta()
            path = self._write_shard(keys_arr, vectors)
        except StoreWriteError:
            self.persist = False
            self._add_block(keys_arr, vectors, None)
            raise
        self._add_block(keys_arr, vectors, path)

    def _ensure_meta(self) -> None:
        meta = self.folder / "encoder.json"
        if not meta.is_file():
            info = {"id": self.encoder_id, "dim": self.dim, "created": time.time()}
            write_bytes_atomic(meta, json.dumps(info).encode())

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        flat = pa.array(vectors.reshape(-1))
        table = pa.table({
            "key": pa.array(keys.tolist(), pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
        })
        buf = io.BytesIO()
        # Embeddings barely compress (zstd saved ~8% on CLIP-sized vectors) but decompressing
        # tripled the time to load a shard on reopen; keys are unique hashes (no dictionary).
        pq.write_table(table, buf, compression={"key": "zstd", "vector": "none"},
                       use_dictionary=False)
        data = buf.getvalue()
        path = self.folder / f"shard-{time.time_ns()}-{checksum(data)}.parquet"
        write_bytes_atomic(path, data)
        return path

    def compact(self, force: bool = False) -> None:
        """Merge all shards into one when there are many (crash-safe: write, then delete)."""
        if len(self._shards) <= (1 if force else COMPACT_AT) or not self._index:
            return
        keys = list(self._index)
        vectors = self.get_many(keys)
        old = list(self._shards)
        path = self._write_shard(np.asarray(keys, dtype=object), vectors)
        for p in old:
            try:
                p.unlink()
            except OSError:
                pass
        self._keys, self._blocks, self._index, self._shards = [], [], {}, []
        self._starts, self._rows = [], 0
        self._add_block(np.asarray(keys, dtype=object), vectors, path)


@dataclass
class EmbeddingStore:
    """All shelves and caches of one dataset's store folder."""

    root: Path
    problems: list[StoreProblem] = field(default_factory=list)

    @classmethod
    def for_dataset(cls, dataset_root: Path) -> EmbeddingStore:
        folder, why = store_location(dataset_root)
        store = cls(folder)
        if why:
            store.problems.append(StoreProblem(str(Path(dataset_root) / STORE_DIRNAME), why))
        return store

    def _folder(self, rel: str, create: bool) -> Path | None:
        """A folder of the store, links and non-folders in its way removed (and noted)."""
        found: list = []
        try:
            return safe_folder(self.root, rel, create, found)
        finally:
            self.problems.extend(StoreProblem(p, why) for p, why in found)

    @classmethod
    def for_table(cls, table_file: Path) -> EmbeddingStore:
        """The store of a precomputed embeddings file (its session, map and fitted aligners),
        in a folder of its own: several tables may share one folder."""
        table_file = Path(table_file)
        base = cls.for_dataset(table_file.parent)
        folder = base._folder(f"tables/{table_file.name}", create=True)  # links in the way removed
        return cls(folder, base.problems)

    def shelf(self, encoder_id: str, dim: int | None = None) -> VectorShelf:
        try:
            self._folder(f"vectors/{slug(encoder_id)}", create=False)
        except OSError as err:
            self.problems.append(StoreProblem(str(self.root), str(err)))
        shelf = VectorShelf(self.root / "vectors" / slug(encoder_id), encoder_id, dim)
        if len(shelf._shards) > COMPACT_AT:
            try:
                shelf.compact()
            except StoreWriteError as err:
                self.problems.append(StoreProblem(str(shelf.folder), str(err)))
        self.problems.extend(shelf.problems)
        return shelf

    # -- numpy documents (fitted encoder states, cached layouts); never pickles ---------------------
    def write_npz(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        self._write(name, buf.getvalue())

    def _write(self, name: str, data: bytes) -> None:
        """Atomically, into a real folder of the store (raises ``StoreWriteError``)."""
        parent = os.path.dirname(name)
        try:
            if parent:
                self._folder(parent, create=True)
        except OSError as err:
            raise StoreWriteError(err.errno or 0, f"could not write {self.root / name}: {err}") from err
        write_bytes_atomic(self.root / name, data)

    def read_npz(self, name: str) -> dict[str, np.ndarray] | None:
        """The arrays of ``name``, or None when absent; a damaged file is reported and removed."""
        from mmviewer.core.data.packed import inspect_npz, load_npz

        path = self.root / name
        try:
            if self._folder(os.path.dirname(name), create=False) is None or not os.path.lexists(path):
                return None
            with io.BytesIO(read_bytes(path)) as fh:
                return load_npz(fh, inspect_npz(fh))
        except Exception as err:
            self.problems.append(StoreProblem(str(path), f"corrupt store file dropped: {reason(err)}"))
            drop(path)
            return None

    def save_state(self, encoder_id: str, arrays: dict[str, np.ndarray]) -> None:
        self.write_npz(f"encoders/{slug(encoder_id)}.npz", arrays)

    def load_state(self, encoder_id: str) -> dict[str, np.ndarray] | None:
        return self.read_npz(f"encoders/{slug(encoder_id)}.npz")

    # -- small JSON documents (session, layout metadata) -------------------------------------------
    def write_json(self, name: str, obj) -> None:
        self._write(name, json.dumps(obj, indent=1).encode())

    def read_json(self, name: str):
        try:
            return read_json(self.root / name)
        except (OSError, ValueError):
            return None

