"""What every loader shares: the error and result types, and opening a media file safely."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmviewer.core.data.confine import NotRegularFile, open_regular
from mmviewer.core.data.model import LoadLimits


class MediaError(Exception):
    """A media file cannot be used; ``str(err)`` is the reason for the import report."""


@dataclass
class Loaded:
    """A decoded value and the non-fatal notes made while decoding it."""

    value: Any
    notes: list[str] = field(default_factory=list)


def open_media(path: Path, limits: LoadLimits):
    """The open file (binary) and its size: a regular file, not empty, not over the size limit.

    Size and type come from the open descriptor, so what is checked is what is read.
    """
    try:
        fh = open_regular(path)
    except NotRegularFile as err:
        raise MediaError(f"refused: {err.strerror}") from None
    except OSError as err:
        raise MediaError(f"unreadable: {err.strerror or err}") from None
    size = os.fstat(fh.fileno()).st_size
    if size == 0 or size > limits.max_file_bytes:
        fh.close()
        if size == 0:
            raise MediaError("empty file (0 bytes)")
        raise MediaError(f"too large ({size / 1024**3:.1f} GiB > {limits.max_file_bytes / 1024**3:.1f} GiB limit)")
    return fh, size


def short_reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]


def mib(n: float) -> str:
    return f"{n / 1024**2:.0f} MiB"
