"""Open a dataset: a folder of files grouped by stem, a manifest, or a precomputed table.

``open_dataset(path)`` decides the layout:

* a ``.parquet`` / ``.npz`` file: precomputed embeddings (see :mod:`mmviewer.core.data.precomputed`);
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
from pathlib import Path

from mmviewer.core.data.model import (
    DEFAULT_LIMITS,
    HF_METADATA_NAMES,
    MANIFEST_NAMES,
    PRECOMPUTED_SUFFIXES,
    Dataset,
    LoadLimits,
)


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
            from mmviewer.core.data.precomputed import open_precomputed

            return open_precomputed(path)
        if suffix in (".csv", ".jsonl"):
            from mmviewer.core.data.manifest import scan_manifest

            return scan_manifest(path, limits)
        raise NotADirectoryError(
            f"{path}: not a dataset folder, manifest (.csv/.jsonl) or embeddings table (.parquet/.npz)"
        )
    for name in MANIFEST_NAMES + HF_METADATA_NAMES:
        if (path / name).is_file():
            from mmviewer.core.data.manifest import scan_manifest

            return scan_manifest(path / name, limits)
    from mmviewer.core.data.folder import scan_by_stem

    return scan_by_stem(path, limits)
