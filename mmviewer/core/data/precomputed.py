"""Open embeddings computed elsewhere (Parquet or NPZ) without re-encoding.

Parquet: an ``id`` column, one list/fixed-size-list float column per modality (named ``image``,
``text``, ``audio``, optionally with a suffix ``_embedding``, ``_embeddings``, ``_vector``,
``_emb``), any other scalar columns as metadata. Null vectors mean the item lacks the modality.

NPZ: an ``ids`` (or ``id``) string array, 2-D float arrays named like the Parquet columns,
optional boolean ``<modality>_present`` masks, other 1-D arrays of length N as metadata. Object
arrays are refused: NPZ files are opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mmviewer.core.data.confine import open_regular
from mmviewer.core.data.modalities import MODALITIES
from mmviewer.core.data.model import Dataset, Item
from mmviewer.core.data.packed import (
    NpzError,
    check_expansion,
    inspect_npz,
    load_npz,
    parquet_expansion,
)
from mmviewer.core.data.report import ImportReport
from mmviewer.core.data.table import EmbeddingTable, l2_normalise_inplace

SUFFIXES = ("_embeddings", "_embedding", "_vectors", "_vector", "_emb")


class PrecomputedError(ValueError):
    """The table cannot be used; the message names the file and the reason."""


def modality_for_column(name: str) -> str | None:
    low = name.lower()
    for suffix in SUFFIXES:
        if low.endswith(suffix):
            low = low[: -len(suffix)]
            break
    return low if low in MODALITIES else None


def open_precomputed(path: Path) -> Dataset:
    """Read a precomputed embedding table into a :class:`Dataset` whose ``precomputed`` is set."""
    try:
        if path.suffix.lower() == ".npz":
            table = _read_npz(path)
        else:
            table = _read_parquet(path)
    except PrecomputedError:
        raise
    except Exception as err:
        raise PrecomputedError(f"{path}: cannot read embeddings table ({err})") from None
    table.content_digest = _file_digest(path)
    if not table.modalities:
        raise PrecomputedError(
            f"{path}: no embedding columns found (expected columns named image/text/audio, "
            f"optionally with a suffix such as _embedding)"
        )
    return Dataset(path.parent.resolve(), TableItems(table), ImportReport(), "precomputed", path,
                   precomputed=table)


def _file_digest(path: Path) -> str:
    """Identifies the file's vectors (path, size, modification time) without reading it again,
    so fits and maps saved for it are found on the next open and ignored once it changes."""
    import hashlib

    st = path.stat()
    key = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


class TableItems(Sequence):
    """The items of a precomputed table, made on demand: a million :class:`Item` objects with
    their metadata dicts would cost about as much memory as the vectors."""

    def __init__(self, table: EmbeddingTable) -> None:
        self.table = table

    def __len__(self) -> int:
        return self.table.n_items

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        t = self.table
        return Item(str(t.ids[i]), {}, {k: str(v[i]) for k, v in t.metadata.items()})


def _read_parquet(path: Path) -> EmbeddingTable:
    """Column by column, row group by row group, into preallocated arrays normalised in place:
    the peak stays near the vectors' own size (no whole-table Arrow copy beside them)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    # Buffered page-by-page reads: whole column chunks (plus their list levels) held at once
    # cost ~3x a column's size, and were 4x slower here.
    pf = pq.ParquetFile(path, buffer_size=1 << 22, pre_buffer=False)
    try:
        check_expansion(*parquet_expansion(pf.metadata))
    except NpzError as err:
        raise PrecomputedError(f"{path}: {err}") from None
    schema = pf.schema_arrow
    names = schema.names
    id_col = next((c for c in names if c.lower() in ("id", "ids", "item_id")), None)
    n = pf.metadata.num_rows
    if id_col:
        col = pf.read(columns=[id_col]).column(0)
        if pc.count_distinct(col, mode="all").as_py() != n:
            raise PrecomputedError(f"{path}: ids are not unique")
        ids = _strings(col)
    else:
        ids = np.asarray([str(i) for i in range(n)], dtype=object)
    schema_meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    vectors, present, encoders, metadata = {}, {}, {}, {}

    def read_vectors(name: str, typ) -> tuple[np.ndarray, np.ndarray]:
        # Its own file handle: columns are read on parallel threads (Arrow and numpy's copies
        # release the GIL), as pyarrow's read_table does, while this thread reads metadata.
        own = pq.ParquetFile(path, buffer_size=1 << 22, pre_buffer=False)
        if pa.types.is_fixed_size_list(typ):
            mat, mask = _fixed_size_column(own, name, typ.list_size, n, path)
        else:
            col = own.read(columns=[name]).column(0).combine_chunks()
            mat, mask = _list_column_to_matrix(col, name, path)
            del col
        return _normalised(mat, name, path), mask

    jobs = {}
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for name in names:
            if name == id_col:
                continue
            typ = schema.field(name).type
            modality = modality_for_column(name)
            is_list = pa.types.is_list(typ) or pa.types.is_fixed_size_list(typ) or pa.types.is_large_list(typ)
            if is_list and modality and pa.types.is_floating(typ.value_type):
                jobs[modality] = pool.submit(read_vectors, name, typ)
                encoders[modality] = schema_meta.get(f"mmviewer.encoder.{modality}", f"precomputed:{name}")
            elif not is_list:
                metadata[name] = _strings(pf.read(columns=[name]).column(0), null="")
        for modality, job in jobs.items():
            vectors[modality], present[modality] = job.result()
    return EmbeddingTable(ids, vectors, present, encoders, metadata)


def _strings(col, null: str = "None") -> np.ndarray:
    """An Arrow column as an object array of ``str`` (``null`` for missing values)."""
    import pyarrow as pa

    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return np.asarray(col.fill_null(null).to_numpy(zero_copy_only=False), dtype=object)
    return np.asarray([null if v is None else str(v) for v in col.to_pylist()], dtype=object)


def _fixed_size_column(pf, name: str, dim: int, n: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One fixed-size-list column into a preallocated float32 matrix, row group by row group,
    copying the values buffer straight in (``flatten`` filtered the null entries out first: two
    more copies of every row group). Rows of null entries are zeroed."""
    mat = np.empty((n, dim), dtype=np.float32)
    mask = np.ones(n, dtype=bool)
    row = 0
    for group in range(pf.num_row_groups):
        for chunk in pf.read_row_group(group, columns=[name]).column(0).chunks:
            rows = len(chunk)
            values = chunk.values
            start = chunk.offset * dim + values.offset  # in floats, into the child's buffer
            if not rows:
                continue
            if values.type.bit_width != 32:  # float16/float64 columns: let Arrow convert
                flat = np.asarray(values.slice(chunk.offset * dim, rows * dim).to_numpy(zero_copy_only=False))
            else:
                flat = np.frombuffer(values.buffers()[1], dtype=np.float32, count=rows * dim,
                                     offset=4 * start)
            mat[row : row + rows] = flat.reshape(rows, dim)
            if chunk.null_count:
                valid = ~np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), dtype=bool)
                mask[row : row + rows] = valid
                mat[row : row + rows][~valid] = 0
            row += rows
    if row != n:
        raise PrecomputedError(f"{path}: column '{name}' has {row} rows, the table {n}")
    return mat, mask


def _unique_ids(ids: list[str], path: Path) -> np.ndarray:
    if len(set(ids)) != len(ids):
        raise PrecomputedError(f"{path}: ids are not unique")
    return np.asarray(ids, dtype=object)


def _list_column_to_matrix(col, name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow as pa

    mask = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_fixed_size_list(col.type):
        dim = col.type.list_size
        flat = col.flatten().to_numpy(zero_copy_only=False)
        mat = np.zeros((len(col), dim), dtype=np.float32)
        flat = flat.reshape(-1, dim)
        # Older pyarrow keeps the child slots of null entries when flattening.
        mat[mask] = flat if len(flat) == mask.sum() else flat[mask]
        return _finite(mat, name, path), mask
    lengths = {len(v) for v in col.to_pylist() if v is not None}
    if len(lengths) > 1:
        raise PrecomputedError(f"{path}: column '{name}' has vectors of different lengths {sorted(lengths)[:5]}")
    dim = lengths.pop() if lengths else 0
    mat = np.zeros((len(col), dim), dtype=np.float32)
    for i, v in enumerate(col.to_pylist()):
        if v is not None:
            mat[i] = v
    return _finite(mat, name, path), mask


def _normalised(mat: np.ndarray, name: str, path: Path, block: int = 1 << 16) -> np.ndarray:
    """``mat`` with unit rows, in place, refusing NaN or infinite values: one pass for both (a
    non-finite value makes its row's norm non-finite)."""
    for start in range(0, len(mat), block):
        part = mat[start : start + block]
        norms = np.sqrt(np.einsum("ij,ij->i", part, part))
        if not np.isfinite(norms).all():
            raise PrecomputedError(f"{path}: column '{name}' contains NaN or infinite values")
        np.divide(part, norms[:, None], out=part, where=norms[:, None] > 1e-12)
        part[norms <= 1e-12] = 0
    return mat


def _finite(mat: np.ndarray, name: str, path: Path) -> np.ndarray:
    if not np.isfinite(mat).all():
        raise PrecomputedError(f"{path}: column '{name}' contains NaN or infinite values")
    return mat


def _check_npz(path: Path, members) -> None:
    """Refuse, from the headers alone, what would be refused after loading (a mask or an array
    of the wrong length): a small file must not cost gigabytes before it is refused."""
    id_key = next((k for k in ("ids", "id") if k in members), None)
    mats = {k: m for k, m in members.items() if m.ndim == 2 and modality_for_column(k)}
    if not mats:
        raise PrecomputedError(f"{path}: no 2-D arrays named image/text/audio found")
    n = members[id_key].shape[0] if id_key and members[id_key].ndim else next(iter(mats.values())).shape[0]
    for key, m in mats.items():
        if m.shape[0] != n:
            raise PrecomputedError(f"{path}: '{key}' has {m.shape[0]} rows but there are {n} ids")
        if m.dtype.kind not in "fiu":
            raise PrecomputedError(f"{path}: '{key}' holds {m.dtype} values, not numbers")
        mask = members.get(f"{modality_for_column(key)}_present")
        if mask is not None and mask.shape != (n,):
            raise PrecomputedError(f"{path}: '{mask.name}' has shape {mask.shape} but there are "
                                   f"{n} items (it needs one true/false per item)")


def _read_npz(path: Path) -> EmbeddingTable:
    with open_regular(path) as fh:
        try:
            members = inspect_npz(fh)
        except NpzError as err:
            raise PrecomputedError(f"{path}: {err}") from None
        _check_npz(path, members)
        arrays = load_npz(fh, members)
    id_key = next((k for k in ("ids", "id") if k in arrays), None)
    mats = {k: v for k, v in arrays.items() if v.ndim == 2 and modality_for_column(k)}
    if not mats:
        raise PrecomputedError(f"{path}: no 2-D arrays named image/text/audio found")
    n = next(iter(mats.values())).shape[0]
    ids = [str(x) for x in arrays[id_key]] if id_key else [str(i) for i in range(n)]
    vectors, present, encoders, metadata = {}, {}, {}, {}
    for key, mat in mats.items():
        modality = modality_for_column(key)
        if mat.shape[0] != len(ids):
            raise PrecomputedError(f"{path}: '{key}' has {mat.shape[0]} rows but there are {len(ids)} ids")
        mat = _finite(np.array(mat, dtype=np.float32), key, path)  # a copy we own: normalised in place
        mask = arrays.get(f"{modality}_present")
        mask = np.asarray(mask, dtype=bool) if mask is not None else np.linalg.norm(mat, axis=1) > 0
        vectors[modality], present[modality] = l2_normalise_inplace(mat), mask
        encoders[modality] = f"precomputed:{key}"
    for key, arr in arrays.items():
        if key == id_key or key in mats or key.endswith("_present") or arr.ndim != 1 or len(arr) != len(ids):
            continue
        metadata[key] = np.asarray([str(x) for x in arr], dtype=object)
    return EmbeddingTable(_unique_ids(ids, path), vectors, present, encoders, metadata)
