"""Keep every read inside the dataset folder.

Manifest paths and symlinks are resolved to real paths and refused when they leave the root, so
a hostile or careless dataset cannot make mmviewer read ``/etc/passwd`` or a sibling folder.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath


class OutsideRoot(ValueError):
    """A path resolves outside the dataset folder."""


def real_root(root: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(root))


def is_inside(root_real: str, real: str) -> bool:
    """True when the real path ``real`` is ``root_real`` or below it."""
    try:
        return os.path.commonpath([root_real, real]) == root_real
    except ValueError:  # different drives on Windows
        return False


def resolve_relative(root_real: str, base_real: str, value: str) -> Path:
    """Resolve a manifest path (relative to ``base_real``) and confine it to ``root_real``.

    Absolute paths, drive letters and any path whose real location (after ``..`` and symlinks)
    leaves the root raise :class:`OutsideRoot`.
    """
    value = value.strip()
    if not value:
        raise ValueError("empty path")
    if (
        os.path.isabs(value)
        or PureWindowsPath(value).drive
        or PurePosixPath(value).is_absolute()
        or value.startswith("\\")
    ):
        raise OutsideRoot("absolute path refused (paths must be relative to the manifest)")
    # Manifests written on Windows use backslashes.
    parts = PureWindowsPath(value).parts if "\\" in value else PurePosixPath(value).parts
    real = os.path.realpath(os.path.join(base_real, *parts))
    if not is_inside(root_real, real):
        raise OutsideRoot("path leaves the dataset folder (refused)")
    return Path(real)


class NotRegularFile(OSError):
    """A path that should be a plain file is a link, a pipe, a device or a socket."""


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def open_regular(path: str | os.PathLike):
    """Open ``path`` for binary reading only if it is a regular file, and never block doing so.

    The final component is not followed when it is a symlink (``O_NOFOLLOW``: the scan already
    resolved the links it accepted, so a link here appeared since) and a FIFO opens without
    waiting for a writer (``O_NONBLOCK``), then is refused by ``fstat``: a pipe, a device or a
    link swapped in after the scan can neither hang a read nor lead outside the folder.
    Raises :class:`NotRegularFile` (an ``OSError``) for those, ``OSError`` otherwise.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise NotRegularFile(errno.ELOOP, "a symbolic link (not followed)", os.fspath(path)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a device, pipe or socket"
            raise NotRegularFile(errno.EINVAL, f"not a regular file ({kind})", os.fspath(path))
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def has_bad_name(text: str) -> bool:
    """True when a file name (as Python decoded it) was not valid UTF-8: its undecodable bytes
    come back as lone surrogates, which no JSON, Parquet or Qt string can carry."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def printable_name(text: str) -> str:
    """A bad name shown with its raw bytes escaped (``bad\\xff.txt``), for the import report."""
    return os.fsencode(text).decode("utf-8", "backslashreplace")
