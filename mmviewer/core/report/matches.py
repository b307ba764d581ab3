"""The report's cross-modal content: featured items with their match lists, and the
nearest-match correctness of the points on the map (scored for the shown points only, so a
100k-item report costs a sample's queries, not N^2)."""

from __future__ import annotations

import numpy as np

from mmviewer.core.match.lists import cross_pairs
from mmviewer.core.match.workspace import Workspace
from mmviewer.core.runtime.cancel import check_cancelled

MAX_FEATURED = 48
CORRECT, WRONG, NOT_PAIRED = 0, 1, 2
BLOCK_BYTES = 32 * 2**20


def featured_rows(table, chosen, count: int, seed: int) -> list[int]:
    """The items shown with their matches: ``chosen`` (the app's selection) first, then a
    seeded random pick of items that have at least two modalities, ``count`` in all (more when
    more were chosen, at most :data:`MAX_FEATURED`)."""
    n = table.n_items
    rows = list(dict.fromkeys(int(r) for r in chosen if 0 <= int(r) < n))[:MAX_FEATURED]
    if len(rows) >= count:
        return rows
    have = sum(table.present[m].astype(np.int64) for m in table.modalities)
    pool = np.flatnonzero(have >= min(2, len(table.modalities)))
    order = np.random.default_rng(seed).permutation(pool)
    taken = set(rows)
    for r in order:
        if len(rows) >= count:
            break
        if int(r) not in taken:
            rows.append(int(r))
    return rows


def item_lists(ws: Workspace, rows, method: str, k: int) -> tuple[list[dict], list[int]]:
    """``(samples, image rows)``: per featured row its cross-modal lists (each query modality
    the item has, to every other modality) and the rows whose images the lists show."""
    t = ws.table
    samples, wanted = [], []
    for row in rows:
        check_cancelled()
        lists = []
        for q, tgt in cross_pairs(t.modalities):
            if not t.present[q][row]:
                continue
            try:
                found = ws.cross_matches(row, q, tgt, method, k)
            except ValueError as err:
                lists.append({"query": q, "target": tgt, "method": method, "note": str(err),
                              "partner_rank": None, "in_training": False, "matches": []})
                continue
            matches = [{"row": int(r), "score": round(float(s), 4), "partner": int(r) == row}
                       for r, s in zip(found.rows, found.scores, strict=True)]
            if tgt == "image":
                wanted.extend(m["row"] for m in matches)
            lists.append({"query": q, "target": tgt, "method": found.method, "note": found.note,
                          "partner_rank": found.partner_rank, "in_training": found.in_training,
                          "matches": matches})
        samples.append({"row": int(row), "lists": lists})
    return samples, wanted


def match_states(ws: Workspace, query: str, target: str, method: str, rows):
    """``(state per row of rows, resolved method)``: is the nearest ``target`` item of each
    row's ``query`` media (through the pair's alignment) its own? Raises ValueError when the
    pair cannot be aligned."""
    t = ws.table
    resolved = ws.resolve_method(query, target, method)
    pair = ws.pair(query, target, resolved)
    rows = np.asarray(rows, np.int64)
    state = np.full(len(rows), NOT_PAIRED, np.int32)
    has = np.flatnonzero(t.present[query][rows] & t.present[target][rows])
    absent = ~np.asarray(t.present[target], bool)
    step = max(1, BLOCK_BYTES // (4 * max(t.n_items, 1)))
    for start in range(0, len(has), step):
        check_cancelled()
        block = has[start:start + step]
        scores = pair.score_rows(rows[block])
        scores[:, absent] = -np.inf
        best = scores.argmax(axis=1)
        state[block] = np.where(best == rows[block], CORRECT, WRONG)
    return state, resolved


def match_labels(query: str, target: str) -> list[str]:
    return [f"nearest {target} is its own", f"nearest {target} is another item",
            f"lacks {query} or {target}"]
