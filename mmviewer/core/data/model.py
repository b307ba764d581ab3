"""The dataset model: items and their media references, the caps on loading, and the names
the scanners share (junk files, manifest names, precomputed suffixes).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mmviewer.core.data.modalities import MODALITIES
from mmviewer.core.data.report import ImportReport

# Operating-system clutter that is ignored without a report line.


@dataclass(frozen=True)
class MediaRef:
    """One modality of one item: a file inside the dataset, or inline text from a manifest."""

    modality: str
    path: Path | None = None
    text: str | None = None
    # Cap on decoded audio duration (seconds); None means the loader's default.
    max_seconds: float | None = None
    # The path as the user sees it, relative to the dataset folder (for messages).
    rel: str | None = None

    @property
    def label(self) -> str:
        """How to name this media in a message."""
        if self.rel is not None:
            return self.rel
        if self.path is not None:
            return str(self.path)
        snippet = (self.text or "")[:40]
        return f"inline text {snippet!r}"


@dataclass(frozen=True)
class LoadLimits:
    """Caps that keep one bad file from exhausting memory or time."""

    #: Largest image decoded at full size. JPEGs above it (or above ``max_image_bytes``) are
    #: decoded at 1/2, 1/4 or 1/8 scale; other formats above it are refused.
    max_image_pixels: int = 64_000_000
    #: Most memory one decoded image may take as Pillow holds it (RGB and RGBA take 4 bytes a
    #: pixel, 16-bit grey 2): converting it to RGB costs about as much again.
    max_image_bytes: int = 192 * 1024**2
    #: Longer text is kept up to this many bytes (and the rest noted as dropped).
    max_text_bytes: int = 8 * 1024 * 1024
    #: Audio is decoded up to this duration; the rest is noted as dropped.
    max_audio_seconds: float = 60.0
    #: Most memory the decoded samples of one clip may take (duration x rate x channels x 4):
    #: 60 s of 48 kHz stereo takes 22 MiB, so only an absurd header reaches it.
    max_audio_bytes: int = 256 * 1024**2
    #: Sample rate every clip is resampled to.
    audio_sample_rate: int = 16_000
    #: Any file larger than this is refused outright.
    max_file_bytes: int = 2 * 1024**3


DEFAULT_LIMITS = LoadLimits()


# Operating-system clutter that is ignored without a report line.
JUNK_NAMES = frozenset(
    {"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx", "$recycle.bin",
     "system volume information", "icon\r"}
)


MANIFEST_NAMES = ("data.csv",)


HF_METADATA_NAMES = ("metadata.csv", "metadata.jsonl")


PRECOMPUTED_SUFFIXES = (".parquet", ".npz")


@dataclass
class Item:
    """One item: up to one media reference per modality, plus metadata columns."""

    id: str
    media: dict[str, MediaRef] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Dataset:
    """The result of a scan: items, the import report, and where they came from."""

    root: Path
    items: Sequence[Item]  # a list, or precomputed.TableItems (made on demand)
    report: ImportReport
    layout: str
    source: Path
    precomputed: object | None = None  # an EmbeddingTable for precomputed tables

    @property
    def metadata_columns(self) -> list[str]:
        if self.precomputed is not None:
            return list(self.precomputed.metadata)
        seen: dict[str, None] = {}
        for item in self.items:
            seen.update(dict.fromkeys(item.metadata))
        return list(seen)

    def counts(self) -> dict[str, int]:
        """Number of items per modality."""
        return {m: sum(m in it.media for it in self.items) for m in MODALITIES}


def is_junk(name: str) -> bool:
    return name.startswith(".") or name.lower() in JUNK_NAMES


def check_file(real: str, rel: str, limits: LoadLimits, report: ImportReport,
               entry: os.DirEntry | None = None) -> bool:
    """Refuse empty, oversized and unreadable files at scan time (cheap ``stat`` + access)."""
    try:
        size = (entry.stat() if entry is not None else os.stat(real)).st_size
    except OSError as err:
        report.skip(rel, f"unreadable ({err.strerror or err})")
        return False
    if size == 0:
        report.skip(rel, "empty file (0 bytes)")
        return False
    if size > limits.max_file_bytes:
        report.skip(rel, f"too large ({size / 1024**3:.1f} GiB; limit {limits.max_file_bytes / 1024**3:.1f} GiB)")
        return False
    if not os.access(real, os.R_OK):
        report.skip(rel, "unreadable (permission denied)")
        return False
    return True
