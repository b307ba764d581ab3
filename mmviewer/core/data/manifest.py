"""Manifest layouts: mmviewer's ``data.csv`` and Hugging Face's ``metadata.csv/.jsonl``.

mmviewer manifest: columns ``text`` (inline text), ``image`` and ``audio`` (paths relative to the
manifest), optional ``id``; every other column is item metadata (e.g. ``label``).

Hugging Face convention (``imagefolder`` / ``audiofolder``): ``file_name`` (modality from its
extension) or ``<modality>_file_name`` columns, text in ``text`` or ``caption``; other columns
are metadata. Paths are confined to the manifest's folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

from mmviewer.core.data.confine import (
    OutsideRoot,
    has_bad_name,
    open_regular,
    printable_name,
    real_root,
    resolve_relative,
)
from mmviewer.core.data.media import MediaError, decode_text
from mmviewer.core.data.modalities import AUDIO, IMAGE, MODALITIES, TEXT, modality_of
from mmviewer.core.data.model import DEFAULT_LIMITS, Dataset, Item, LoadLimits, MediaRef, check_file
from mmviewer.core.data.report import ImportReport

TEXT_COLUMNS = ("text", "caption", "sentence", "transcription")
MAX_MANIFEST_BYTES = 512 * 1024**2


def scan_manifest(manifest: Path, limits: LoadLimits = DEFAULT_LIMITS) -> Dataset:
    """Read a manifest file into a :class:`Dataset` (bad rows reported, never raised)."""
    root = real_root(manifest.parent)
    report = ImportReport()
    rows = _read_rows(manifest, report, limits)
    hf = manifest.name.lower().startswith("metadata.")
    items: list[Item] = []
    seen: set[str] = set()
    for line, row in rows:
        where = f"{manifest.name}:{line}"
        item = _row_to_item(row, line, root, hf, where, limits, report)
        if item is None:
            continue
        if item.id in seen:
            report.skip(where, f"duplicate id '{item.id}' (row ignored)")
            continue
        seen.add(item.id)
        items.append(item)
    layout = "hf-metadata" if hf else "manifest"
    return Dataset(Path(root), items, report, layout, manifest)


def _read_rows(manifest: Path, report: ImportReport, limits: LoadLimits) -> list[tuple[int, dict[str, str]]]:
    try:
        with open_regular(manifest) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_MANIFEST_BYTES:
                report.skip(manifest.name, f"manifest too large ({size / 1024**2:.0f} MiB)")
                return []
            data = fh.read()
    except OSError as err:
        report.skip(manifest.name, f"unreadable manifest ({err.strerror or err})")
        return []
    notes: list[str] = []
    try:
        text = decode_text(data, notes)
    except MediaError as err:
        report.skip(manifest.name, f"unreadable manifest ({err})")
        return []
    for note in notes:
        report.note(manifest.name, note)
    if manifest.suffix.lower() == ".jsonl":
        return list(_jsonl_rows(text, manifest.name, report))
    return list(_csv_rows(text, manifest.name, report, limits.max_text_bytes))


def _csv_rows(text: str, name: str, report: ImportReport, max_cell: int) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows as dicts keyed by the lower-cased header; a row the csv module cannot read (a cell
    over ``max_cell`` characters, a stray quote) is reported, and reading goes on after it."""
    previous = csv.field_size_limit(max(max_cell, 131_072))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = None
        while header is None:
            try:
                header = [h.strip().lower() for h in next(reader)]
            except StopIteration:
                report.skip(name, "manifest has no header row")
                return
            except csv.Error as err:
                report.skip(f"{name}:{reader.line_num}", f"unreadable header row ({err})")
                return
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                report.skip(f"{name}:{reader.line_num}", f"unreadable row ({_csv_reason(err, max_cell)})")
                continue
            if not values:  # a blank line, as csv.DictReader skips it
                continue
            yield reader.line_num, {k: v.strip() for k, v in zip(header, values, strict=False) if k}
    finally:
        csv.field_size_limit(previous)


def _csv_reason(err: csv.Error, max_cell: int) -> str:
    if "field larger than field limit" in str(err):
        return f"a cell is longer than {max_cell:,} characters"
    return str(err)


def _jsonl_rows(text: str, name: str, report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            report.skip(f"{name}:{line_no}", f"not valid JSON ({err.msg})")
            continue
        except RecursionError:  # [[[[... a million deep: the parser's stack, not ours, gives up
            report.skip(f"{name}:{line_no}", "JSON nested too deeply")
            continue
        if not isinstance(obj, dict):
            report.skip(f"{name}:{line_no}", "line is not a JSON object")
            continue
        yield line_no, {
            str(k).strip().lower(): "" if v is None else str(v).strip() for k, v in obj.items()
        }


def _file_columns(row: dict[str, str], hf: bool) -> list[tuple[str | None, str]]:
    """``(declared modality or None, column)`` for every column holding a media path."""
    if not hf:
        return [(m, m) for m in (IMAGE, AUDIO) if m in row]
    cols = []
    for col in row:
        if col == "file_name":
            cols.append((None, col))
        elif col.endswith("_file_name"):
            prefix = col[: -len("_file_name")]
            cols.append((prefix if prefix in MODALITIES else None, col))
    return cols


def _row_to_item(
    row: dict[str, str], line: int, root: str, hf: bool, where: str,
    limits: LoadLimits, report: ImportReport,
) -> Item | None:
    media: dict[str, MediaRef] = {}
    used_columns = {"id"}
    for declared, col in _file_columns(row, hf):
        used_columns.add(col)
        value = row.get(col, "")
        if not value:
            continue
        label = f"{where} ({value})"
        try:
            real = resolve_relative(root, root, value)
        except OutsideRoot as err:
            report.skip(label, str(err))
            continue
        modality = declared or modality_of(os.path.splitext(value)[1])
        if modality is None:
            report.skip(label, f"unsupported file type '{os.path.splitext(value)[1] or '(none)'}'")
            continue
        if has_bad_name(str(real)):
            report.skip(printable_name(label), "file name is not valid UTF-8 (rename it to use it)")
            continue
        if not real.is_file():
            report.skip(label, "file not found" if not real.exists() else "not a regular file")
            continue
        if not check_file(str(real), label, limits, report):
            continue
        if modality in media:
            report.skip(label, f"row already has a {modality} file")
            continue
        rel = os.path.relpath(real, root).replace(os.sep, "/")
        media[modality] = MediaRef(modality, path=real, rel=rel)

    text_col = next((c for c in TEXT_COLUMNS if c in row), None)
    if text_col is not None:
        used_columns.add(text_col)
        if row[text_col]:
            media[TEXT] = MediaRef(TEXT, text=row[text_col], rel=f"{where} ({text_col})")
    if not media:
        report.skip(where, "row has no usable image, text or audio")
        return None

    item_id = row.get("id") or _derive_id(media, line)
    metadata = {k: v for k, v in row.items() if k not in used_columns and k}
    return Item(item_id, media, metadata)


def _derive_id(media: dict[str, MediaRef], line: int) -> str:
    for m in (IMAGE, AUDIO):
        if m in media and media[m].rel:
            return os.path.splitext(media[m].rel)[0]
    return f"row{line}"
