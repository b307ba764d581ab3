"""Open a dataset: a folder of files grouped by stem, a manifest, or a precomputed table.

``open_dataset(path)`` decides the layout:

* a ``.parquet`` / ``.npz`` file: precomputed embeddings (see :mod:`mmviewer.core.precomputed`);
* a ``.csv`` / ``.jsonl`` file, or a folder holding ``data.csv``: an mmviewer manifest with
  columns ``text`` (inline), ``image``, ``audio`` (paths), optional ``id`` and extra columns;
* a folder holding ``metadata.csv`` / ``metadata.jsonl``: the Hugging Face convention with
  ``file_name`` / ``<modality>_file_name`` columns;
* any other folder: files that share a relative path without extension form one item.

The scan reads directory entries and manifests only; media are decoded later by the embedding
job. Everything that is skipped lands in the :class:`ImportReport`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mmviewer.core.confine import is_inside, real_root
from mmviewer.core.encoders.base import MediaRef
from mmviewer.core.media import DEFAULT_LIMITS, LoadLimits
from mmviewer.core.modalities import MODALITIES, modality_of
from mmviewer.core.report import ImportReport

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


def open_dataset(path: str | os.PathLike, limits: LoadLimits = DEFAULT_LIMITS) -> Dataset:
    """Scan ``path`` (folder, manifest or precomputed table) into a :class:`Dataset`.

    Raises ``FileNotFoundError`` / ``NotADirectoryError`` only when nothing can be opened at all.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in PRECOMPUTED_SUFFIXES:
            from mmviewer.core.precomputed import open_precomputed

            return open_precomputed(path)
        if suffix in (".csv", ".jsonl"):
            from mmviewer.core.manifest import scan_manifest

            return scan_manifest(path, limits)
        raise NotADirectoryError(
            f"{path}: not a dataset folder, manifest (.csv/.jsonl) or embeddings table (.parquet/.npz)"
        )
    for name in MANIFEST_NAMES + HF_METADATA_NAMES:
        if (path / name).is_file():
            from mmviewer.core.manifest import scan_manifest

            return scan_manifest(path / name, limits)
    return scan_by_stem(path, limits)


# -- the by-stem layout -------------------------------------------------------------------------
def scan_by_stem(folder: Path, limits: LoadLimits = DEFAULT_LIMITS) -> Dataset:
    """Group files that share a relative path without extension into items."""
    root = real_root(folder)
    report = ImportReport()
    items: dict[str, Item] = {}
    folders: dict[str, Path] = {}
    for rel, real, entry in _walk(root, report):
        suffix = os.path.splitext(rel)[1]
        modality = modality_of(suffix)
        if modality is None:
            report.skip(rel, f"unsupported file type '{suffix or '(none)'}'")
            continue
        if not check_file(real, rel, limits, report, entry):
            continue
        item_id = rel[: -len(suffix)] if suffix else rel
        item = items.setdefault(item_id, Item(item_id))
        if modality in item.media:
            used = os.path.basename(str(item.media[modality].path))
            report.skip(rel, f"another {modality} file for item '{item_id}' ({used}) is used")
            continue
        item.media[modality] = MediaRef(modality, path=_path(real, folders), rel=rel)
    return Dataset(Path(root), list(items.values()), report, "stem", Path(folder))


def _path(real: str, folders: dict[str, Path]) -> Path:
    """``Path(real)``, built from a cached parent folder: parsing a full path string per file was
    half of a 200k-file scan (``pathlib`` in Python 3.11)."""
    head, name = os.path.split(real)
    parent = folders.get(head)
    if parent is None:
        parent = folders[head] = Path(head)
    child = getattr(parent, "_make_child_relpath", None)  # pathlib's own fast path (iterdir)
    if child is not None and name and "/" not in name and name not in (".", ".."):
        try:
            path = child(name)
        except Exception:
            return parent / name
        if os.path.normpath(real) == real:
            try:  # str() of a path is formatted lazily; this one's text is already known
                path._str = real
            except AttributeError:
                pass
        return path
    return parent / name


def walk_files(root_real: str, report: ImportReport) -> Iterator[tuple[str, str]]:
    """Yield ``(relative posix path, real path)`` of regular files below the root, sorted.

    Hidden files and OS junk are skipped quietly. Symlinks are followed only when their target
    stays inside the root; each real folder is visited once, so symlink loops end.
    """
    for rel, real, _entry in _walk(root_real, report):
        yield rel, real


def _walk(root_real: str, report: ImportReport) -> Iterator[tuple[str, str, os.DirEntry | None]]:
    """:func:`walk_files` plus the ``DirEntry`` of plain (non-symlink) files, whose type comes
    from the directory listing and whose ``stat`` is cached: 200k files cost one ``stat`` each
    instead of three."""
    visited = {root_real}
    stack: list[tuple[str, str]] = [(root_real, "")]
    while stack:
        dir_real, dir_rel = stack.pop()
        try:
            with os.scandir(dir_real) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            report.skip(dir_rel or ".", f"unreadable folder ({err.strerror or err})")
            continue
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            if is_junk(entry.name):
                continue
            rel = f"{dir_rel}/{entry.name}" if dir_rel else entry.name
            try:
                if not entry.is_symlink():
                    if entry.is_file(follow_symlinks=False):
                        yield rel, entry.path, entry
                        continue
                    real = entry.path
                else:
                    real = os.path.realpath(entry.path)
                    if not is_inside(root_real, real):
                        report.skip(rel, "symlink points outside the dataset folder (not followed)")
                        continue
                    if not os.path.exists(real):
                        report.skip(rel, "broken symlink or symlink loop")
                        continue
                if os.path.isdir(real):
                    if real in visited:
                        if entry.is_symlink():
                            report.note(rel, "symlink to a folder that is already scanned (not followed twice)")
                        continue
                    visited.add(real)
                    subdirs.append((real, rel))
                elif os.path.isfile(real):
                    yield rel, real, None
                else:
                    report.skip(rel, "not a regular file (device, pipe or socket)")
            except OSError as err:
                report.skip(rel, f"unreadable ({err.strerror or err})")
        stack.extend(reversed(subdirs))


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
