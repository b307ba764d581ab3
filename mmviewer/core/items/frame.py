"""The items as a table of columns over the arrays: no Python object per row.

:class:`ItemFrame` names the columns the item table shows and the filter language reads — id,
metadata, modalities present, tags, and per modality pair the partner's rank and the pair's score
(:mod:`mmviewer.core.items.pairs`) — and answers, for any of them, the values of all rows (for
filtering, sorting and colouring) or the text of one cell (for drawing only what is on screen).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mmviewer.core.items.expr import FilterError
from mmviewer.core.items.pairs import PairValues

#: Filter names that mean "the map's current pair" (``state.match_pair``).
ALIASES = {"partner_rank": "rank", "pair_score": "score"}
SUSPICION = "suspicion"


@dataclass(frozen=True)
class Column:
    key: str  # "id", "meta:label", "modalities", "tags", "rank:audio:image", "score:audio:image"
    title: str  # the header
    name: str  # what the filter language calls it
    kind: str  # "text", "number" or "rank"
    tip: str = ""


def pair_key(kind: str, pair) -> str:
    return f"{kind}:{pair[0]}:{pair[1]}"


def numeric(values) -> np.ndarray | None:
    """Float64 values (NaN for blanks), or None when some are not numbers."""
    a = np.asarray(values)
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    text = a.astype(str)
    blank = np.isin(text, ["", "None", "nan", "NaN", "<NA>"])
    try:
        return np.where(blank, "nan", text).astype(np.float64)
    except ValueError:
        return None


class ItemFrame:
    """Columns of one table. ``pairs`` are the ordered modality pairs with values;
    ``values`` a :class:`PairValues` filled in the background; ``tags`` maps a tag to its rows."""

    def __init__(self, table, pairs=(), values: PairValues | None = None, item=None):
        self.table = table
        self.n = table.n_items
        self.pairs = [tuple(p) for p in pairs]
        self.values = values if values is not None else PairValues(self.n)
        self.item = item  # row -> dataset Item (file names), or None
        self.tags: dict[str, np.ndarray] = {}
        self.selection = np.empty(0, np.int64)
        self.pair: tuple[str, str] | None = self.pairs[0] if self.pairs else None
        #: (N,) float32 suspicion per item (core.app.suspects), None until computed.
        self.suspicion: np.ndarray | None = None
        self._numeric: dict[str, np.ndarray | None] = {}
        self._patterns: tuple[np.ndarray, list[str]] | None = None
        self.columns = self._columns()
        self.by_key = {c.key: c for c in self.columns}
        self.by_name = {c.name: c for c in self.columns}

    def _columns(self) -> list[Column]:
        cols = [Column("id", "id", "id", "text", "The item's id (its file stem or manifest id)")]
        for name in self.table.metadata:
            kind = "number" if self._meta_numbers(name) is not None else "text"
            cols.append(Column(f"meta:{name}", name, name, kind, f"Metadata column {name!r}"))
        cols.append(Column("modalities", "modalities", "modalities", "text",
                           "The modalities this item has"))
        cols.append(Column("tags", "tags", "tags", "text", "Tags you gave this item"))
        if self.pairs:
            cols.append(Column(SUSPICION, "suspicion", SUSPICION, "number",
                               "How much this item's modalities disagree (higher: more suspect; "
                               "see the Suspects panel); empty until the suspects are computed"))
        for q, t in self.pairs:
            cols.append(Column(pair_key("rank", (q, t)), f"{q}→{t} rank", f"rank_{q}_{t}", "rank",
                               f"Rank of this item's own {t} among all {t} matches of its {q} "
                               "(1 = its nearest is its own; … = still computing; ≈ = estimated "
                               "from a sample of targets, on large tables)"))
            cols.append(Column(pair_key("score", (q, t)), f"{q}→{t} score", f"score_{q}_{t}",
                               "number", f"Similarity of this item's {q} to its own {t} "
                               "(through the pair's alignment)"))
        return cols

    def _meta_numbers(self, name: str) -> np.ndarray | None:
        if name not in self._numeric:
            nums = numeric(self.table.metadata[name])
            self._numeric[name] = nums if nums is not None and np.isfinite(nums).any() else None
        return self._numeric[name]

    # -- whole columns ------------------------------------------------------------------------
    def values_of(self, key: str) -> np.ndarray:
        """(N,) values of column ``key``: floats for number/rank columns (NaN: missing or not
        yet computed), text otherwise."""
        t = self.table
        if key == "id":
            return t.ids
        if key.startswith("meta:"):
            name = key[5:]
            nums = self._meta_numbers(name)
            return nums if nums is not None else t.metadata[name]
        if key == "modalities":
            codes, labels = self._modality_patterns()
            return np.asarray(labels, dtype=object)[codes]
        if key == "tags":
            out = np.full(self.n, "", dtype=object)
            for tag, rows in self.tags.items():
                out[rows] = np.where(out[rows] == "", tag, out[rows] + ", " + tag)
            return out
        if key == SUSPICION:
            got = self.suspicion
            return got if got is not None else np.full(self.n, np.nan, np.float32)
        kind, q, tgt = key.split(":")
        store = self.values.rank if kind == "rank" else self.values.score
        got = store.get((q, tgt))
        return got if got is not None else np.full(self.n, np.nan, np.float32)

    def _modality_patterns(self) -> tuple[np.ndarray, list[str]]:
        if self._patterns is None:
            mods = list(self.table.modalities)
            code = np.zeros(self.n, np.int64)
            for j, m in enumerate(mods):
                code |= self.table.present[m].astype(np.int64) << j
            labels = ["+".join(m for j, m in enumerate(mods) if c >> j & 1) or "(none)"
                      for c in range(1 << len(mods))]
            self._patterns = (code, labels)
        return self._patterns

    # -- one cell -----------------------------------------------------------------------------
    def text(self, key: str, row: int) -> str:
        """What the cell of ``row`` in column ``key`` shows."""
        if key == "id":
            return str(self.table.ids[row])
        if key.startswith("meta:"):
            value = self.table.metadata[key[5:]][row]
            return "" if value is None else str(value)
        if key == "modalities":
            codes, labels = self._modality_patterns()
            return labels[codes[row]]
        if key == "tags":
            return ", ".join(tag for tag, rows in self.tags.items() if _has(rows, row))
        if key == SUSPICION:
            value = float(self.values_of(key)[row])
            return "" if math.isnan(value) else f"{value:.2f}"
        kind, q, tgt = key.split(":")
        value = float(self.values_of(key)[row])
        if math.isnan(value):
            has = self.table.present[q][row] and self.table.present[tgt][row]
            waiting = (q, tgt) not in self.values.errors and self.values.todo.get((q, tgt), 1) > 0
            return "…" if has and waiting else ""
        if kind == "rank":
            return f"≈{int(value)}" if (q, tgt) in self.values.gallery else f"{int(value)}"
        return f"{value:.3f}"

    # -- the filter language's names ----------------------------------------------------------
    def resolve(self, kind: str, name, position=None):
        """Answers :func:`mmviewer.core.items.expr.evaluate`'s questions."""
        if kind == "has":
            if name not in self.table.present:
                known = ", ".join(self.table.modalities)
                raise FilterError(f"no modality {name!r} (have {known})", position)
            return self.table.present[name]
        if kind == "tagged":
            if name is None:
                out = np.zeros(self.n, bool)
                for rows in self.tags.values():
                    out[rows] = True
                return out
            if name not in self.tags:
                raise FilterError(f"no tag {name!r} (have {', '.join(self.tags) or 'none'})", position)
            out = np.zeros(self.n, bool)
            out[self.tags[name]] = True
            return out
        if kind == "selected":
            out = np.zeros(self.n, bool)
            out[self.selection] = True
            return out
        if name in ALIASES:
            if self.pair is None:
                raise FilterError(f"{name} needs a modality pair with 4+ paired items", position)
            return self.values_of(pair_key(ALIASES[name], self.pair))
        column = self.by_name.get(name) or self.by_key.get(name)
        if column is None:
            names = ", ".join([c.name for c in self.columns] + list(ALIASES))
            raise FilterError(f"no column {name!r}; columns: {names}", position)
        return self.values_of(column.key)

    def names(self) -> list[str]:
        """Every name a filter may use (completion, help)."""
        return [c.name for c in self.columns] + list(ALIASES)

    def number_columns(self) -> list[Column]:
        """Columns the map can colour continuously."""
        return [c for c in self.columns if c.kind in ("number", "rank")]


def _has(rows: np.ndarray, row: int) -> bool:
    i = np.searchsorted(rows, row)
    return bool(i < len(rows) and rows[i] == row)
