"""Files and folders inside a store, handled as hostile: the store of a dataset someone else
made came with it, and may hold links, pipes and crafted files.

Like Git with a repository it did not write: never follow a link out of the store (a linked
``.mmviewer``, shard folder or shard would send writes and deletions into another folder, or
read ``/etc/passwd``), never block on a pipe, and trust an entry only after its content checks.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import numpy as np

from mmviewer.core.data.confine import NotRegularFile, open_regular
from mmviewer.core.data.packed import NpzError, check_expansion, parquet_expansion

#: Small JSON documents (session, encoder metadata, snapshot metadata) are never larger.
MAX_JSON_BYTES = 16 * 1024**2


class StoreEntryError(OSError):
    """A store entry is not what the store writes (a link, a pipe, crafted or damaged content)."""


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be used as a store folder (None: a real folder, or absent)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    if stat.S_ISLNK(mode):
        return "a symbolic link (not followed: writes would land outside the dataset)"
    if not stat.S_ISDIR(mode):
        return "not a folder"
    return None


def safe_folder(root: Path, rel: str, create: bool, problems: list | None = None) -> Path | None:
    """``root/rel`` when each folder on the way is a real folder, creating the missing ones if
    ``create``; None when one is missing (and ``create`` is False).

    An entry in the way that is a link or not a folder was not written by the store: it is
    removed (the link itself, never what it points to), noted in ``problems``, and replaced
    by a real folder when ``create``. ``root`` itself must already be checked by the caller.
    """
    path = Path(root)
    for part in Path(rel).parts:
        path = path / part
        problem = folder_problem(path)
        if problem is not None:
            try:
                os.unlink(path)  # a link or a file inside our own store: never followed
            except OSError as err:
                raise StoreEntryError(f"{path}: {problem}; could not remove it ({err.strerror})") from None
            if problems is not None:
                problems.append((str(path), f"store folder was {problem}; removed"))
        if not os.path.lexists(path):
            if not create:
                return None
            os.mkdir(path)
    return path


def read_bytes(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file in the store (raises :class:`StoreEntryError` / ``OSError``)."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if max_bytes is not None and size > max_bytes:
            raise StoreEntryError(f"{path}: {size:,} bytes, more than a store file of its kind holds")
        return fh.read()


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES):
    """A small JSON document; raises ``OSError`` or ``ValueError`` (a crafted nesting included)."""
    data = read_bytes(path, max_bytes)
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_parquet(data: bytes):
    """A Parquet table from bytes already read, after its expansion is checked (no bombs)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(io.BytesIO(data))
    try:
        check_expansion(*parquet_expansion(pf.metadata), floor=64 * 1024**2)
    except NpzError as err:
        raise ValueError(str(err)) from None
    return pf.read()

def verified_shard(table, dim: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Keys and vectors of a shard whose bytes matched their checksum, once their content is
    what the store writes: string keys, one finite float32 vector of the shelf's length each. A checksum proves the file is whole, not that the store wrote it."""
    import pyarrow as pa

    key_col, vec_col = table.column("key"), table.column("vector").combine_chunks()
    if not pa.types.is_string(key_col.type) or key_col.null_count:
        raise ValueError("keys are not content hashes")
    if not pa.types.is_fixed_size_list(vec_col.type) or not pa.types.is_float32(vec_col.type.value_type):
        raise ValueError(f"vectors are {vec_col.type}, not fixed-length float32")
    found = vec_col.type.list_size
    if dim is not None and found != dim:
        raise ValueError(f"vector length {found}, expected {dim}")
    vectors = vec_col.values.to_numpy(zero_copy_only=False).reshape(-1, found)
    if len(key_col) != len(vectors) or vec_col.null_count:
        raise ValueError("key and vector counts differ")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors hold NaN or infinite values")
    keys = np.asarray(key_col.to_numpy(zero_copy_only=False), dtype=object)
    return keys, np.asarray(vectors, dtype=np.float32), found


def reason(err: BaseException) -> str:
    """What went wrong with a store entry, without repeating its path."""
    if isinstance(err, NotRegularFile):
        return err.strerror
    return str(err).split(": ", 1)[-1] if isinstance(err, StoreEntryError) else str(err)


def drop(path: Path) -> None:
    """Remove a store entry that failed its checks: the entry itself, never a link's target."""
    try:
        os.unlink(path)
    except OSError:
        pass
