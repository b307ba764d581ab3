"""Open embeddings computed elsewhere (Parquet or NPZ) without re-encoding.

Parquet: an ``id`` column, one list/fixed-size-list float column per modality (named ``image``,
``text``, ``audio``, optionally with a suffix ``_embedding``, ``_embeddings``, ``_vector``,
``_emb``), any other scalar columns as metadata. Null vectors mean the item lacks the modality.

NPZ: an ``ids`` (or ``id``) string array, 2-D float arrays named like the Parquet columns,
optional boolean ``<modality>_present`` masks, other 1-D arrays of length N as metadata. Object
arrays are refused: NPZ files are opened with ``allow_pickle=False``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmviewer.core.dataset import Dataset, Item
from mmviewer.core.embeddings import EmbeddingTable, l2_normalise
from mmviewer.core.modalities import MODALITIES
from mmviewer.core.report import ImportReport

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
    if not table.modalities:
        raise PrecomputedError(
            f"{path}: no embedding columns found (expected columns named image/text/audio, "
            f"optionally with a suffix such as _embedding)"
        )
    items = [
        Item(str(i), {}, {k: str(v[n]) for k, v in table.metadata.items()})
        for n, i in enumerate(table.ids)
    ]
    return Dataset(path.parent.resolve(), items, ImportReport(), "precomputed", path, precomputed=table)


def _unique_ids(ids: list[str], path: Path) -> np.ndarray:
    if len(set(ids)) != len(ids):
        raise PrecomputedError(f"{path}: ids are not unique")
    return np.asarray(ids, dtype=object)


def _read_parquet(path: Path) -> EmbeddingTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = table.column_names
    id_col = next((c for c in names if c.lower() in ("id", "ids", "item_id")), None)
    n = table.num_rows
    ids = [str(x) for x in table.column(id_col).to_pylist()] if id_col else [str(i) for i in range(n)]
    schema_meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    vectors, present, encoders, metadata = {}, {}, {}, {}
    for name in names:
        if name == id_col:
            continue
        col = table.column(name).combine_chunks()
        modality = modality_for_column(name)
        is_list = pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type) or pa.types.is_large_list(col.type)
        if is_list and modality and pa.types.is_floating(col.type.value_type):
            mat, mask = _list_column_to_matrix(col, name, path)
            vectors[modality], present[modality] = l2_normalise(mat), mask
            encoders[modality] = schema_meta.get(f"mmviewer.encoder.{modality}", f"precomputed:{name}")
        elif not is_list:
            metadata[name] = np.asarray(["" if v is None else str(v) for v in col.to_pylist()], dtype=object)
    return EmbeddingTable(_unique_ids(ids, path), vectors, present, encoders, metadata)


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


def _finite(mat: np.ndarray, name: str, path: Path) -> np.ndarray:
    if not np.isfinite(mat).all():
        raise PrecomputedError(f"{path}: column '{name}' contains NaN or infinite values")
    return mat


def _read_npz(path: Path) -> EmbeddingTable:
    try:
        npz = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise PrecomputedError(f"{path}: not a valid NPZ file ({err})") from None
    with npz:
        arrays = {}
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except ValueError:
                raise PrecomputedError(
                    f"{path}: array '{key}' holds Python objects (pickle), which is refused; "
                    "save ids as a string array (e.g. np.array(ids, dtype=str))"
                ) from None
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
        mat = _finite(np.asarray(mat, dtype=np.float32), key, path)
        mask = arrays.get(f"{modality}_present")
        mask = np.asarray(mask, dtype=bool) if mask is not None else np.linalg.norm(mat, axis=1) > 0
        vectors[modality], present[modality] = l2_normalise(mat), mask
        encoders[modality] = f"precomputed:{key}"
    for key, arr in arrays.items():
        if key == id_key or key in mats or key.endswith("_present") or arr.ndim != 1 or len(arr) != len(ids):
            continue
        metadata[key] = np.asarray([str(x) for x in arr], dtype=object)
    return EmbeddingTable(_unique_ids(ids, path), vectors, present, encoders, metadata)
