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

The snapshot lives in the dataset's store, so it is as hostile as the dataset: it is used only
for the folder actually opened (a moved or copied dataset, or a crafted ``root``, gets no
snapshot, so nothing is written to another place), its media paths are rebuilt from that folder
and confined like the scan's, and every file is checked (type, shape, finite vectors) first.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmviewer.core.data.confine import open_regular, real_root, resolve_relative
from mmviewer.core.data.modalities import MODALITIES
from mmviewer.core.data.model import Dataset, Item, MediaRef
from mmviewer.core.data.report import ImportReport, Problem
from mmviewer.core.data.table import EmbeddingTable
from mmviewer.core.store.entries import folder_problem, read_bytes, read_json, read_parquet

FOLDER = "snapshot"
FORMAT = 1


def save_snapshot(store_root: Path, dataset: Dataset, table: EmbeddingTable, options: dict) -> None:
    """Write the snapshot atomically (raises OSError; the previous one stays on failure)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    store_root = Path(store_root)
    tmp = store_root / f".{FOLDER}.tmp-{os.getpid()}"
    _remove(tmp)
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
            "layout": dataset.layout, "source": os.path.realpath(dataset.source),
            "root": real_root(dataset.root),
        }
        (tmp / "meta.json").write_text(json.dumps(meta))
        _swap_in(tmp, store_root / FOLDER)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(tmp: Path, final: Path) -> None:
    old = final.with_name(f".{FOLDER}.old-{os.getpid()}")
    _remove(old)
    if os.path.lexists(final):
        os.replace(final, old)
    os.replace(tmp, final)
    _remove(old)


def _remove(path: Path) -> None:
    """A folder of ours, or a link or file in its place (the entry itself, never a target)."""
    if folder_problem(path) is not None:
        try:
            os.unlink(path)
        except OSError:
            pass
    else:
        shutil.rmtree(path, ignore_errors=True)


def _path_of(item: Item | None, modality: str) -> str | None:
    ref = item.media.get(modality) if item is not None else None
    return str(ref.path) if ref is not None and ref.path is not None else None


def _rel_of(item: Item | None, modality: str) -> str | None:
    ref = item.media.get(modality) if item is not None else None
    return ref.rel if ref is not None else None


def load_snapshot(store_root: Path, options: dict, opened: Path) -> tuple[Dataset, EmbeddingTable] | None:
    """The saved dataset and table when they were made with ``options`` from ``opened`` (the
    folder or manifest being opened now); else None.

    Any damage (missing, unreadable, linked or crafted file, wrong format, shapes that do not
    agree, a vector that is not finite) means no snapshot: the normal open path runs, and it
    writes a fresh one.
    """
    folder = Path(store_root) / FOLDER
    opened = Path(opened)
    root = real_root(opened if opened.is_dir() else opened.parent)
    try:
        if folder_problem(folder) is not None:
            return None
        meta = read_json(folder / "meta.json", max_bytes=1024**2)
        if meta.get("format") != FORMAT or meta.get("options") != options:
            return None
        source = os.path.realpath(meta["source"])
        if meta["root"] != root or source not in (os.path.realpath(opened), os.path.join(root, os.path.basename(source))):
            return None  # made for another folder (moved, copied, or crafted)
        encoders = {str(m): str(e) for m, e in meta["encoders"].items() if m in MODALITIES}
        if len(encoders) != len(meta["encoders"]) or not encoders:
            return None
        ids = _array(folder / "ids.npy", "U", 1)
        n = len(ids)
        vectors, present = {}, {}
        for m in encoders:
            vectors[m] = _array(folder / f"{m}.npy", "f", 2, rows=n, mmap=True)
            present[m] = _array(folder / f"{m}.present.npy", "b", 1, rows=n)
        columns = _columns(folder / "items.parquet", n, [f"meta:{c}" for c in meta["metadata"]])
        metadata = {c: np.asarray(columns[f"meta:{c}"], dtype=object) for c in meta["metadata"]}
        table = EmbeddingTable(ids.astype(object), vectors, present, encoders,
                               metadata, content_digest=str(meta["digest"]))
        items = SnapshotItems(ids, columns, list(meta["metadata"]), root)
        report = _report(read_json(folder / "report.json"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    dataset = Dataset(Path(root), items, report, str(meta["layout"]), Path(source))
    return dataset, table


def _array(path: Path, kind: str, ndim: int, rows: int | None = None, mmap: bool = False) -> np.ndarray:
    """A ``.npy`` file of the store, checked (type ``kind``, ``ndim``, ``rows``; vectors finite)
    from a descriptor opened without following links; vectors are memory-mapped."""
    from numpy.lib import format as npy

    with open_regular(path) as fh:
        version = npy.read_magic(fh)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        if dtype.hasobject or dtype.kind != kind or len(shape) != ndim or (rows is not None and shape[0] != rows):
            raise ValueError(f"{path.name}: {dtype} {shape}, expected {kind} with {ndim} dims")
        if kind == "f" and dtype != np.float32:
            raise ValueError(f"{path.name}: {dtype}, expected float32")
        if mmap:
            arr = np.memmap(fh, dtype=dtype, mode="r", shape=shape, offset=fh.tell(),
                            order="F" if fortran else "C")
            for start in range(0, shape[0], 65_536):  # a NaN would spread through every score
                if not np.isfinite(arr[start : start + 65_536]).all():
                    raise ValueError(f"{path.name}: vectors hold NaN or infinite values")
            return arr
        fh.seek(0)
        return np.load(fh, allow_pickle=False)


def _columns(path: Path, n: int, extra: list[str]) -> dict:
    columns = read_parquet(read_bytes(path)).to_pydict()
    needed = [f"{m}_{k}" for m in MODALITIES for k in ("path", "rel")] + ["text_inline", *extra]
    for name in needed:
        values = columns.get(name)
        if values is None or len(values) != n or not all(v is None or isinstance(v, str) for v in values):
            raise ValueError(f"items.parquet: column {name!r} missing or not {n} strings")
    return columns


class SnapshotItems(Sequence):
    """The snapshot's items, made on demand from its columns: building 100k items with their
    paths up front took 1.6 s, most of a reopen's budget."""

    def __init__(self, ids, columns: dict, metadata_columns: list[str], root: str) -> None:
        self.ids, self.columns, self.metadata_columns = ids, columns, metadata_columns
        self.root = root

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[j] for j in range(*n.indices(len(self)))]
        columns = self.columns
        media = {}
        for m in MODALITIES:
            path, rel = columns[f"{m}_path"][n], columns[f"{m}_rel"][n]
            if path is not None:  # a file: found again from the folder opened, as the scan would
                real = self._confined(rel)
                if real is not None:
                    media[m] = MediaRef(m, path=real, rel=rel)
            elif m == "text" and columns["text_inline"][n] is not None:
                media[m] = MediaRef(m, text=columns["text_inline"][n], rel=rel)
        meta = {c: columns[f"meta:{c}"][n] for c in self.metadata_columns
                if columns[f"meta:{c}"][n] is not None}
        return Item(str(self.ids[n]), media, meta)


    def _confined(self, rel: str | None) -> Path | None:
        """``rel`` inside the folder opened, or None when it leaves it (``..``, an absolute
        path, a link out): a crafted row must not make the preview open any file on disk."""
        try:
            return resolve_relative(self.root, self.root, rel or "")
        except ValueError:
            return None


def _report(data: dict) -> ImportReport:
    return ImportReport([Problem(str(p["path"]), str(p["reason"])) for p in data.get("skipped", [])],
                        [Problem(str(p["path"]), str(p["reason"])) for p in data.get("notes", [])])
