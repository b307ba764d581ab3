"""Write items out: their ids (one per line), or the item table with its tags (CSV / Parquet).

Writes go through a temporary file renamed into place, so a cancelled or failed export never
leaves half a file under the chosen name.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from mmviewer.core.items.frame import ItemFrame
from mmviewer.core.runtime.cancel import check_cancelled

TABLE_SUFFIXES = (".csv", ".parquet")


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_ids(path, ids) -> Path:
    """One id per line (UTF-8)."""
    text = "".join(f"{i}\n" for i in ids)
    return _atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_table(path, frame: ItemFrame, rows, keys=None) -> Path:
    """The item table: ``rows`` (in that order) and the columns ``keys`` (default: all), tags
    included; CSV or Parquet by suffix. Numbers stay numbers; missing values are empty."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{path.name}: export the table as .csv or .parquet")
    rows = np.asarray(rows, np.int64)
    columns = [frame.by_key[k] for k in (keys or [c.key for c in frame.columns])]
    data = {}
    for column in columns:
        check_cancelled()
        values = np.asarray(frame.values_of(column.key))[rows]
        if column.kind == "rank":
            values = np.where(np.isfinite(values), values, np.nan)
        data[column.title] = values

    def write(tmp: Path) -> None:
        if suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrays = {name: (pa.array(v, pa.float64(), mask=~np.isfinite(v)) if v.dtype.kind == "f"
                             else pa.array([None if x is None else str(x) for x in v], pa.string()))
                      for name, v in data.items()}
            pq.write_table(pa.table(arrays), str(tmp))
            return
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(list(data))
            columns = list(data.values())
            for i in range(len(rows)):
                if i % 65536 == 0:
                    check_cancelled()
                out.writerow([_cell(values[i]) for values in columns])

    return _atomic(path, write)


def _cell(v) -> str:
    if isinstance(v, float | np.floating):
        return "" if not np.isfinite(v) else (f"{int(v)}" if float(v).is_integer() else f"{v:.6g}")
    return "" if v is None else str(v)
