"""The data behind the Matches panel for one item, split so a weight change is elementwise work.

:class:`SimilarItems` (a few matrix-vector products) and :class:`ItemMatches` (the
weight-independent cross-modal lists, fitting an aligner the first time a method is used, and the
per-modality score vectors ``S[m -> t] = tb @ qa[row]`` that the fused lists combine) run in
workers, separately, so the similar list never waits for a slow fit. On a weight change
:meth:`SimilarItems.matches` and :meth:`ItemMatches.fused` recombine the cached vectors with
O(N * M) elementwise work plus one ``argpartition`` per list, cheap enough for the UI thread
during a slider drag at 100k items.

No Qt here: the benchmark and the tests use it directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from mmviewer.core.match.fusion import FusedScorer, validate_weights
from mmviewer.core.match.topk import top_k_rows


@dataclass
class MatchList:
    """A ranked list for one query item."""

    query_row: int
    rows: np.ndarray  # (k,) item rows, best first
    scores: np.ndarray  # (k,)
    partner_rank: int | None  # 1-based rank of the query's own item among targets (None: n/a)
    method: str  # the method actually used ("none", "ridge", ... or "fused")
    in_training: bool = False  # the query item's pair was used to fit the aligner
    note: str = ""

    def is_partner(self, i: int) -> bool:
        return int(self.rows[i]) == self.query_row


SIMILAR = "similar"
FUSED = "fused"


def cross_pairs(modalities) -> list[tuple[str, str]]:
    """Every ordered pair of different modalities, in table order."""
    return [(q, t) for q in modalities for t in modalities if q != t]


def list_name(query: str, target: str | None = None) -> str:
    """The name of a list in exports and headers: ``similar``, ``text→image``, ``fused→audio``."""
    return SIMILAR if target is None else f"{query}→{target}"


def empty_list(row: int, method: str, note: str) -> MatchList:
    return MatchList(row, np.empty(0, np.int64), np.empty(0, np.float32), None, method, note=note)


def ranked(row: int, scores: np.ndarray, k: int, method: str, partner: bool,
           in_training: bool = False) -> MatchList:
    """Top ``k`` of ``scores`` (``-inf`` excluded) and, when ``partner``, the 1-based rank of
    ``row`` itself (the item's own media on the target side)."""
    idx, val = top_k_rows(scores, k)
    keep = idx >= 0
    rank = None
    if partner and np.isfinite(scores[row]):
        rank = int(np.count_nonzero(scores > scores[row])) + 1
    return MatchList(row, idx[keep], val[keep], rank, method, in_training)


def fused_target_list(row: int, per_modality: Mapping[str, np.ndarray], weights: Mapping[str, float],
                      target_present: np.ndarray, k: int) -> MatchList:
    """Fused -> target: rank items' target media by the weighted mean, over the query item's
    modalities ``m``, of the ``m -> target`` scores in ``per_modality`` (each (N,), through its
    pair's alignment)."""
    w = validate_weights(weights)
    total, weight_sum = None, 0.0
    for m, s in per_modality.items():
        wm = w.get(m, 0.0)
        if wm <= 0:
            continue
        total = np.float32(wm) * s if total is None else total + np.float32(wm) * s
        weight_sum += wm
    if total is None:
        return empty_list(row, FUSED, "no weighted modality on this item")
    scores = total / np.float32(weight_sum)
    scores[~target_present] = -np.inf
    return ranked(row, scores, k, FUSED, partner=True)


class SimilarItems:
    """Fused "items similar to ``row``" (the recommendation list) with cheap re-weighting: the
    per-modality cosines are computed once (a :class:`FusedScorer`), each weight change only
    recombines them."""

    def __init__(self, table, row: int, cosines: dict | None = None):
        self.row = int(row)
        self.scorer = FusedScorer(table, self.row, cosines)

    def matches(self, weights: Mapping[str, float], k: int) -> MatchList:
        w = validate_weights(weights)
        scores = self.scorer.scores(w)
        scores[~self.scorer.support(w)] = -np.inf
        scores[self.row] = -np.inf
        found = ranked(self.row, scores, k, FUSED, partner=False)
        if len(found.rows) == 0:
            found.note = "no item shares a positively weighted modality with this one"
        return found


@dataclass
class ItemMatches:
    """The cross-modal and fused -> target lists of item ``row`` (built by
    :meth:`mmviewer.core.match.workspace.Workspace.item_matches`).

    Attributes
    ----------
    row, method, k : the item, the alignment method asked for, the list length
    cross : dict (query, target) -> MatchList
        Weight-independent cross-modal lists (computed once per item, method and k).
    pair_scores : dict target -> dict modality -> (N,) float32
        ``S[m -> target]`` for each modality ``m`` the item has, through the pair's alignment.
    errors : dict (query, target) -> str
        Pairs that could not be aligned (e.g. too few items have both), with the reason.
    """

    row: int
    method: str
    k: int
    modalities: list[str]
    cross: dict[tuple[str, str], MatchList]
    pair_scores: dict[str, dict[str, np.ndarray]]
    target_present: dict[str, np.ndarray]
    errors: dict[tuple[str, str], str] = field(default_factory=dict)

    def fused(self, weights: Mapping[str, float], target: str) -> MatchList:
        """Fused -> ``target`` for ``weights`` (elementwise work: fine on the UI thread)."""
        return fused_target_list(self.row, self.pair_scores.get(target, {}), weights,
                                 self.target_present[target], self.k)

    def fused_all(self, weights: Mapping[str, float]) -> dict[str, MatchList]:
        """Every fused -> target list for ``weights``."""
        return {tgt: self.fused(weights, tgt) for tgt in self.modalities}


def export_rows(query_id: str, name: str, matches: MatchList, ids) -> list[dict]:
    """One dict per entry of ``matches`` (the rows of File → Export matches)."""
    return [
        {"query_id": query_id, "list": name, "rank": i + 1, "match_id": str(ids[int(r)]),
         "score": float(s), "is_partner": bool(name != SIMILAR and int(r) == matches.query_row)}
        for i, (r, s) in enumerate(zip(matches.rows, matches.scores, strict=True))
    ]
