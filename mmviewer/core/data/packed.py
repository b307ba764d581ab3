"""Packed files (NPZ, Parquet) read as hostile: sizes and types come from their headers, and are
checked, before a byte is decompressed.

A 3 MB NPZ of zeros decompresses to 3 GB; ``np.load`` would hold all of it before the caller
could see that the ids do not even match. :func:`inspect_npz` reads only the headers (a few
hundred bytes a member): object arrays (pickles), damaged members and decompression bombs are
refused from there, and callers check shapes before they load anything.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass

import numpy as np

#: A whole file may decompress to this many times its size (embeddings barely compress; a
#: table of zeros is what a bomb is made of) ...
MAX_RATIO = 50
#: ... unless it stays under this, which any file may.
RATIO_FLOOR = 256 * 1024**2


class NpzError(ValueError):
    """The file is refused; the message says why (without the path: callers add it)."""


@dataclass(frozen=True)
class Member:
    """One array of an NPZ file, as its headers describe it."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    stored: int  # bytes in the zip (compressed)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)


def inspect_npz(fh, max_ratio: float = MAX_RATIO, floor: int = RATIO_FLOOR) -> dict[str, Member]:
    """The arrays of the NPZ open as ``fh`` (binary, seekable), by key, from headers alone.

    Members that are not ``.npy`` arrays are ignored. Raises :class:`NpzError` for an object
    array, a member whose headers disagree about its size, or a file that would decompress to
    more than ``max_ratio`` times its size (and more than ``floor`` bytes).
    """
    try:
        zf = zipfile.ZipFile(fh)
        infos = [i for i in zf.infolist() if i.filename.endswith(".npy") and not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise NpzError(f"not a valid NPZ file ({err})") from None
    members: dict[str, Member] = {}
    for info in infos:
        key = info.filename[:-4]
        member = _member(zf, info, key)
        if member.dtype.hasobject:
            raise NpzError(f"array '{key}' holds Python objects (pickle), which is refused; save "
                           "ids as a string array (e.g. np.array(ids, dtype=str))")
        members[key] = member
    check_expansion(sum(i.file_size for i in infos), sum(i.compress_size for i in infos),
                    max_ratio, floor)
    return members


def check_expansion(expanded: int, stored: int, max_ratio: float = MAX_RATIO,
                    floor: int = RATIO_FLOOR) -> None:
    """Refuse (:class:`NpzError`) ``stored`` bytes that would decompress to ``expanded``, when
    that is over ``floor`` and over ``max_ratio`` times as much."""
    if expanded > floor and expanded > max_ratio * max(stored, 1):
        raise NpzError(f"decompresses to {expanded / 1024**2:,.0f} MiB from {stored / 1024**2:,.1f} MiB "
                       f"(over {max_ratio:g} times): refused as a decompression bomb")


def parquet_expansion(metadata) -> tuple[int, int]:
    """``(uncompressed, compressed)`` bytes of every column chunk of a Parquet file's metadata."""
    expanded = stored = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            expanded += column.total_uncompressed_size
            stored += column.total_compressed_size
    return expanded, stored


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> Member:
    from numpy.lib import format as npy

    try:
        with zf.open(info) as m:
            version = npy.read_magic(m)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(m)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npy.read_array_header_2_0(m)
            else:
                raise ValueError(f"unknown .npy version {version}")
            header = m.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError) as err:
        raise NpzError(f"array '{key}' is damaged ({err})") from None
    member = Member(key, np.dtype(dtype), tuple(int(n) for n in shape), info.compress_size)
    if not member.dtype.hasobject and header + member.nbytes != info.file_size:
        raise NpzError(f"array '{key}' is damaged (its header says {member.nbytes:,} bytes, "
                       f"the archive holds {info.file_size - header:,})")
    return member


def load_npz(fh, keys) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an NPZ already checked by :func:`inspect_npz` (no pickles)."""
    fh.seek(0)
    with np.load(fh, allow_pickle=False) as npz:
        return {k: npz[k] for k in keys}
