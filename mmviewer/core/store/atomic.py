"""Crash-safe file writes: write a temporary file beside the target, fsync, rename.

A reader sees either the old file or the complete new one, never a torn write, whatever moment
the process is killed at. Leftover temporaries end in ``.tmp`` and are removed by their owners.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

TMP_SUFFIX = ".tmp"


class StoreWriteError(OSError):
    """The store could not be written (disk full, permission, read-only); nothing was corrupted."""


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data`` (raises :class:`StoreWriteError`)."""
    path = Path(path)
    fd, tmp = -1, ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
        tmp = ""
        _fsync_dir(path.parent)
    except OSError as err:
        raise StoreWriteError(
            err.errno or errno.EIO, f"could not write {path}: {err.strerror or err}"
        ) from err
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported on every platform; the rename itself is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: Path, min_age_s: float = 300.0) -> int:
    """Delete temporaries a killed writer left in ``folder``; returns how many.

    Only temporaries untouched for ``min_age_s`` go, so a writer in another process (a second
    window, a Dask worker) never loses the file it is writing.
    """
    import time

    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    now = time.time()
    for name in names:
        if name.endswith(TMP_SUFFIX):
            try:
                if now - os.stat(folder / name).st_mtime < min_age_s:
                    continue
                os.unlink(folder / name)
                removed += 1
            except OSError:
                pass
    return removed
