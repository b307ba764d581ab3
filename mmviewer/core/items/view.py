"""Which rows the item table shows, in which order: filter, exact search, sort.

:func:`item_view` is a plain function over arrays (a job for big tables): it evaluates the
filter expression to a mask, narrows it by the exact search (:func:`search_mask`: id, file names
and metadata values, case-insensitive) and by an optional fixed set of rows ("show the selection
in the table"), then orders the survivors by one column (:func:`sort_order`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmviewer.core.items.expr import evaluate
from mmviewer.core.items.frame import ItemFrame, numeric
from mmviewer.core.runtime.cancel import check_cancelled

BLANKS = ("", "None", "nan", "NaN", "<NA>")


@dataclass(frozen=True)
class ViewSpec:
    """What the table is asked to show."""

    tree: object = None  # a parsed filter (mmviewer.core.items.expr.parse), None: all
    search: str = ""
    restrict: tuple[int, ...] | None = None  # only these rows ("show selection in table")
    sort_key: str = ""  # a column key; "" keeps table order
    descending: bool = False


@dataclass
class ItemView:
    rows: np.ndarray  # (M,) int64 table rows, in display order
    matched: int  # rows passing filter and search (before the restriction)
    searched: int  # rows the search alone matched (-1: no search)


def sort_order(values, descending: bool = False) -> np.ndarray:
    """Every row ordered by ``values`` (stable; numbers numerically, text as text with
    numeric-looking text in number order); missing values last either way."""
    values = np.asarray(values)
    nums = numeric(values)
    if nums is not None:
        missing = ~np.isfinite(nums)
        key = np.where(missing, 0.0, -nums if descending else nums)
    else:
        text = values.astype(str)
        missing = np.isin(text, BLANKS)
        _, key = np.unique(text, return_inverse=True)
        key = key.ravel()
        if descending:
            key = key.max(initial=0) - key
    return np.lexsort((key, missing)).astype(np.int64)


def file_names(frame: ItemFrame) -> np.ndarray:
    """(N,) lower-case text of each item's media file names (cached on the frame)."""
    cached = getattr(frame, "_file_names", None)
    if cached is None:
        out = np.full(frame.n, "", dtype=object)
        if frame.item is not None:
            for row in range(frame.n):
                if row % 65536 == 0:
                    check_cancelled()
                item = frame.item(row)
                if item is not None:
                    out[row] = " ".join(ref.path.name for ref in item.media.values()
                                        if ref.path is not None)
        cached = np.strings.lower(out.astype(str))
        frame._file_names = cached
    return cached


def search_mask(frame: ItemFrame, text: str) -> np.ndarray:
    """(N,) bool: items whose id, a file name or a metadata value contains ``text``
    (case-insensitive; several words must all be found, in any of those fields)."""
    words = text.lower().split()
    out = np.ones(frame.n, bool)
    fields = getattr(frame, "_search_fields", None)
    if fields is None:  # lower-cased once per table
        fields = [np.strings.lower(np.asarray(frame.table.ids).astype(str))]
        fields += [np.strings.lower(np.asarray(v).astype(str)) for v in frame.table.metadata.values()]
        fields.append(file_names(frame))
        frame._search_fields = fields
    for word in words:
        check_cancelled()
        hit = np.zeros(frame.n, bool)
        for values in fields:
            hit |= np.strings.find(values, word) >= 0
        out &= hit
    return out


def item_view(frame: ItemFrame, spec: ViewSpec) -> ItemView:
    """The rows to show for ``spec`` (see the module docstring)."""
    mask = evaluate(spec.tree, frame.n, frame.resolve)
    searched = -1
    if spec.search.strip():
        hits = search_mask(frame, spec.search)
        searched = int(hits.sum())
        mask &= hits
    matched = int(mask.sum())
    if spec.restrict is not None:
        keep = np.zeros(frame.n, bool)
        keep[np.asarray(spec.restrict, np.int64)] = True
        mask &= keep
    check_cancelled()
    if spec.sort_key and spec.sort_key in frame.by_key:
        order = sort_order(frame.values_of(spec.sort_key), spec.descending)
        rows = order[mask[order]]
    else:
        rows = np.flatnonzero(mask)
    return ItemView(rows.astype(np.int64), matched, searched)
