"""File → Export matches: the Matches panel's lists for every item, blockwise (no Qt).

:func:`iter_all_matches` is a plain generator (house rule 3): it yields progress fractions and
returns a ``pyarrow.Table`` with the columns of :meth:`QtMatches.rows_for_export` — ``query_id``,
``list``, ``rank``, ``match_id``, ``score``, ``is_partner`` — so a worker can run it and cancel it
at the next yield. Each list is computed for a block of query items at a time
(:func:`mmviewer.core.match.topk.iter_blocks`), so an N x N score matrix never exists. The ids
and list names are dictionary-encoded, which keeps 100k items x 10 lists x k rows compact.

:func:`save_matches` writes the table as CSV or Parquet (chosen by the file suffix).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from mmviewer.core.match.fusion import fused_similarity, validate_weights
from mmviewer.core.match.lists import FUSED, SIMILAR, cross_pairs, list_name
from mmviewer.core.match.topk import DEFAULT_BLOCK_BYTES, iter_blocks, top_k_rows
from mmviewer.core.match.workspace import Workspace

COLUMNS = ("query_id", "list", "rank", "match_id", "score", "is_partner")


def list_names(modalities) -> list[str]:
    """Every list the panel shows, in export order."""
    return ([SIMILAR] + [list_name(q, t) for q, t in cross_pairs(modalities)]
            + [list_name(FUSED, t) for t in modalities])


def _block_scores(ws: Workspace, name: str, rows: np.ndarray, weights, method: str):
    """Scores (b, N) of list ``name`` for query items ``rows`` (-inf excluded), and whether
    the list has a partner (the query item itself on the target side)."""
    t = ws.table
    b = np.arange(len(rows))
    if name == SIMILAR:
        s, support = fused_similarity(t, weights, rows)
        s[~support] = -np.inf
        s[b, rows] = -np.inf
        return s, False
    query, target = name.split("→")
    if query == FUSED:
        num = np.zeros((len(rows), t.n_items), np.float32)
        den = np.zeros(len(rows), np.float32)
        for m in t.modalities:
            wm = weights.get(m, 0.0)
            if wm <= 0:
                continue
            p = t.present[m][rows].astype(np.float32) * np.float32(wm)
            num += p[:, None] * ws.pair(m, target, method).score_rows(rows)
            den += p
        s = np.divide(num, den[:, None], out=np.full_like(num, -np.inf), where=den[:, None] > 0)
    else:
        s = ws.pair(query, target, method).score_rows(rows)
        s[~t.present[query][rows]] = -np.inf
    s[:, ~t.present[target]] = -np.inf
    return s, True


def iter_all_matches(ws: Workspace, weights: Mapping[str, float], method: str, k: int = 10,
                     lists: list[str] | None = None,
                     block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[float]:
    """Yield progress in [0, 1]; return a ``pyarrow.Table`` of every item's match lists.

    Parameters
    ----------
    ws : Workspace
    weights : mapping of str to float
        Fusion weights for the ``similar`` and ``fused→<target>`` lists.
    method : str
        Alignment method for the cross-modal and fused lists (as in the panel).
    k : int
        Entries per list.
    lists : list of str, optional
        Names from :func:`list_names` (default: all). A list whose modality pair cannot be
        aligned (too few pairs) is left out.
    """
    import pyarrow as pa

    t = ws.table
    w = validate_weights(weights, t.vectors.keys())
    names = list_names(t.modalities) if lists is None else list(lists)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in ("q", "l", "rank", "m", "s", "p")}
    steps = max(1, len(names) * len(list(iter_blocks(t.n_items, t.n_items, block_bytes))))
    done = 0
    for code, name in enumerate(names):
        for block in iter_blocks(t.n_items, t.n_items, block_bytes):
            rows = np.arange(block.start, block.stop)
            try:
                s, partner = _block_scores(ws, name, rows, w, method)
            except ValueError:
                break  # e.g. too few pairs to fit this pair's aligner
            idx, val = top_k_rows(s, k)
            keep = idx >= 0
            q = np.broadcast_to(rows[:, None], idx.shape)[keep]
            parts["q"].append(q.astype(np.int32))
            parts["l"].append(np.full(len(q), code, np.int32))
            parts["rank"].append(np.broadcast_to(np.arange(1, idx.shape[1] + 1), idx.shape)[keep].astype(np.int32))
            parts["m"].append(idx[keep].astype(np.int32))
            parts["s"].append(val[keep])
            parts["p"].append((idx[keep] == q) if partner else np.zeros(len(q), bool))
            done += 1
            yield done / steps
    cat = {c: (np.concatenate(v) if v else np.empty(0, np.int32)) for c, v in parts.items()}
    ids = pa.array([str(i) for i in t.ids], pa.string())
    return pa.table({
        "query_id": pa.DictionaryArray.from_arrays(pa.array(cat["q"], pa.int32()), ids),
        "list": pa.DictionaryArray.from_arrays(pa.array(cat["l"], pa.int32()), pa.array(names, pa.string())),
        "rank": pa.array(cat["rank"], pa.int32()),
        "match_id": pa.DictionaryArray.from_arrays(pa.array(cat["m"], pa.int32()), ids),
        "score": pa.array(cat["s"].astype(np.float32), pa.float32()),
        "is_partner": pa.array(cat["p"].astype(bool), pa.bool_()),
    })


def write_all_matches(ws: Workspace, weights: Mapping[str, float], method: str, k: int,
                      path: str | Path) -> Iterator[float]:
    """File → Export matches as a job: yield progress fractions, write ``path``, return
    ``(path, rows written)``."""
    table = yield from iter_all_matches(ws, weights, method, k)
    save_matches(table, path)
    return str(path), table.num_rows


def save_matches(table, path: str | Path) -> Path:
    """Write ``table`` to ``path``: Parquet for ``.parquet``, else CSV."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, str(path))
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, str(path))
    return path
