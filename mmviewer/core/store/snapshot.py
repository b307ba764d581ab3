"""A snapshot of the last opened table, so reopening a big dataset shows it at once.

Opening a folder normally means a scan, a stat of every file, store lookups and table assembly:
seconds at 100k items even when nothing changed. After each completed embedding the app saves
the assembled table and the items' media references here; the next open shows the snapshot
immediately while the usual job re-checks the folder in the background, and the table is
replaced only if its content digest differs (a file added, changed, removed).

Layout under the store folder, written to a temporary folder and swapped in by rename::

    snapshot/meta.json           format, options, encoder ids, digest, dataset layout and source
    snapshot/ids.npy             item ids (unicode array; no pickle anywhere)
    snapshot/<modality>.npy      unit vectors, float32 (memory-mapped when read)
    snapshot/<modality>.present.npy
    snapshot/items.parquet       per item: media paths (relative), inline text, metadata
    snapshot/report.json         the import report of that run
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmviewer.core.data.modalities import MODALITIES
from mmviewer.core.data.model import Dataset, Item, MediaRef
from mmviewer.core.data.report import ImportReport, Problem
from mmviewer.core.data.table import EmbeddingTable

FOLDER = "snapshot"
FORMAT = 1


def save_snapshot(store_root: Path, dataset: Dataset, table: EmbeddingTable, options: dict) -> None:
    """Write the snapshot atomically (raises OSError; the previous one stays on failure)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    store_root = Path(store_root)
    tmp = store_root / f".{FOLDER}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        np.save(tmp / "ids.npy", np.asarray([str(i) for i in table.ids], dtype=str))
        for m, mat in table.vectors.items():
            np.save(tmp / f"{m}.npy", np.ascontiguousarray(mat, dtype=np.float32))
            np.save(tmp / f"{m}.present.npy", np.asarray(table.present[m], dtype=bool))
        by_id = {it.id: it for it in dataset.items}
        items = [by_id.get(str(i)) for i in table.ids]
        columns = {}
        for m in MODALITIES:
            columns[f"{m}_path"] = [_path_of(it, m) for it in items]
            columns[f"{m}_rel"] = [_rel_of(it, m) for it in items]
        columns["text_inline"] = [
            it.media["text"].text if it is not None and "text" in it.media else None for it in items
        ]
        for name, values in table.metadata.items():
            columns[f"meta:{name}"] = [None if v is None else str(v) for v in values]
        pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}),
                       tmp / "items.parquet")
        report = dataset.report
        (tmp / "report.json").write_text(json.dumps(report.to_dict()))
        meta = {
            "format": FORMAT, "options": options, "encoders": table.encoders,
            "digest": table.content_digest, "metadata": list(table.metadata),
            "layout": dataset.layout, "source": str(dataset.source), "root": str(dataset.root),
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
        _swap_in(tmp, store_root / FOLDER)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(tmp: Path, final: Path) -> None:
    old = final.with_name(f".{FOLDER}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _path_of(item: Item | None, modality: str) -> str | None:
    ref = item.media.get(modality) if item is not None else None
    return str(ref.path) if ref is not None and ref.path is not None else None


def _rel_of(item: Item | None, modality: str) -> str | None:
    ref = item.media.get(modality) if item is not None else None
    return ref.rel if ref is not None else None


def load_snapshot(store_root: Path, options: dict) -> tuple[Dataset, EmbeddingTable] | None:
    """The saved dataset and table when they were made with ``options``; else None.

    Any damage (missing or unreadable file, wrong format) means no snapshot: the normal open
    path runs, and it writes a fresh one.
    """
    folder = Path(store_root) / FOLDER
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT or meta.get("options") != options:
            return None
        import pyarrow.parquet as pq

        ids = np.load(folder / "ids.npy", allow_pickle=False)
        vectors, present = {}, {}
        for m in meta["encoders"]:
            vectors[m] = np.load(folder / f"{m}.npy", mmap_mode="r", allow_pickle=False)
            present[m] = np.load(folder / f"{m}.present.npy", allow_pickle=False)
        columns = pq.read_table(folder / "items.parquet").to_pydict()
        metadata = {c: np.asarray(columns[f"meta:{c}"], dtype=object) for c in meta["metadata"]}
        table = EmbeddingTable(ids.astype(object), vectors, present, dict(meta["encoders"]),
                               metadata, content_digest=meta["digest"])
        items = SnapshotItems(ids, columns, meta["metadata"])
        report = _report(json.loads((folder / "report.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    dataset = Dataset(Path(meta["root"]), items, report, meta["layout"], Path(meta["source"]))
    return dataset, table


class SnapshotItems(Sequence):
    """The snapshot's items, made on demand from its columns: building 100k items with their
    paths up front took 1.6 s, most of a reopen's budget."""

    def __init__(self, ids, columns: dict, metadata_columns: list[str]) -> None:
        self.ids, self.columns, self.metadata_columns = ids, columns, metadata_columns

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[j] for j in range(*n.indices(len(self)))]
        columns = self.columns
        media = {}
        for m in MODALITIES:
            path, rel = columns[f"{m}_path"][n], columns[f"{m}_rel"][n]
            if path is not None:
                media[m] = MediaRef(m, path=Path(path), rel=rel)
            elif m == "text" and columns["text_inline"][n] is not None:
                media[m] = MediaRef(m, text=columns["text_inline"][n], rel=rel)
        meta = {c: columns[f"meta:{c}"][n] for c in self.metadata_columns
                if columns[f"meta:{c}"][n] is not None}
        return Item(str(self.ids[n]), media, meta)


def _report(data: dict) -> ImportReport:
    return ImportReport([Problem(**p) for p in data.get("skipped", [])],
                        [Problem(**p) for p in data.get("notes", [])])
