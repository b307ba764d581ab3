"""Everything the panels ask of one embedding table, Qt-free and cached.

A :class:`Workspace` wraps an :class:`EmbeddingTable` and answers: the cross-modal match list of
an item (query modality -> target modality, through the chosen alignment), the fused "similar
items" list, the fused -> target list, the vectors a layout needs, and the metrics of the current
method and weights. Learned aligners are fitted once per (query, target, method) on a seeded
training split of the paired items, so the held-out metrics stay honest and a match list can say
whether the item it shows was used for fitting.

Weight changes re-enter at fusion only: aligners, projected matrices and per-item scorers are
cached and reused, so a slider drag costs elementwise work over N (see :mod:`mmviewer.core.match.fusion`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from mmviewer.core.align.base import Aligner
from mmviewer.core.align.registry import SYMMETRIC, SwappedAligner, make_aligner, paired_split
from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.match.fusion import fused_vectors, validate_weights
from mmviewer.core.match.lists import (
    ItemMatches,
    MatchList,
    SimilarItems,
    cross_pairs,
    empty_list,
    fused_target_list,
    ranked,
)
from mmviewer.core.match.topk import top_k_rows
from mmviewer.core.runtime.cancel import check_cancelled

#: Learned method used by "auto" when two modalities do not share a space.
AUTO_LEARNED = "cca"  # best held-out figures on the emoji and digits sets (see README)
TOWER_SUFFIXES = ("/image", "/text")
#: How the line view maps a modality into the reference modality's space (see modality_points).
MODALITY_POINTS_METHOD = "ridge"


def encoder_space(encoder_id: str) -> str:
    """Encoders whose ids differ only by the CLIP tower suffix share one embedding space."""
    for suffix in TOWER_SUFFIXES:
        if encoder_id.endswith(suffix):
            return encoder_id[: -len(suffix)]
    return encoder_id


class Workspace:
    """Cached analysis of one table; safe to call from one worker thread at a time per cache."""

    def __init__(self, table: EmbeddingTable, test_size: float = 0.3, random_state: int = 0):
        self.table = table
        self.test_size = test_size
        self.random_state = random_state
        # One lock guards the caches' dicts; each (pair, method) fit has its own lock, so a slow
        # fit (seconds at 100k items) never blocks lists or queries that need other pairs.
        self._lock = threading.RLock()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self._aligners: dict[tuple[str, str, str], tuple[Aligner, np.ndarray, np.ndarray]] = {}
        self._projected: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._similar: OrderedDict[int, SimilarItems] = OrderedDict()
        self._cache: dict[tuple, object] = {}

    # -- spaces and methods -------------------------------------------------------------------
    def shares_space(self, a: str, b: str) -> bool:
        t = self.table
        if a == b:
            return True
        if t.dim(a) != t.dim(b):
            return False
        ea, eb = t.encoders.get(a, ""), t.encoders.get(b, "")
        if ea.startswith("precomputed:") and eb.startswith("precomputed:"):
            return True  # equal dims in a precomputed table: assume one model made both
        return encoder_space(ea) == encoder_space(eb)

    def resolve_method(self, query: str, target: str, method: str) -> str:
        if method == "auto":
            return "none" if self.shares_space(query, target) else AUTO_LEARNED
        return method

    def _key_lock(self, key: tuple) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def aligner(self, query: str, target: str, method: str) -> tuple[Aligner, np.ndarray, np.ndarray]:
        """``(fitted aligner, train rows, test rows)`` for a modality pair (cached).

        Symmetric methods are fitted once per unordered pair; the other direction is a view.
        """
        method = self.resolve_method(query, target, method)
        key = (query, target, method)
        if key in self._aligners:
            return self._aligners[key]
        if method in SYMMETRIC and query > target:
            base, train, test = self.aligner(target, query, method)
            self._aligners[key] = (SwappedAligner(base), train, test)
            return self._aligners[key]
        with self._key_lock(key):
            if key not in self._aligners:
                paired = self.table.paired(query, target)
                if len(paired) < 4:
                    raise ValueError(
                        f"only {len(paired)} items have both {query} and {target}; "
                        "at least 4 are needed to align them"
                    )
                train, test = paired_split(paired, self.test_size, self.random_state)
                params = {"random_state": self.random_state} if method == "contrastive" else {}
                model = make_aligner(method, **params)
                model.fit(self.table.vectors[query][train], self.table.vectors[target][train])
                self._aligners[key] = (model, train, test)
        return self._aligners[key]

    def cached(self, key: tuple, compute):
        """``compute()`` once per ``key`` for values derived from this table alone (e.g. the
        held-out metrics of a pair, which no weight change alters)."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        with self._key_lock(("cached", *key)):
            if key not in self._cache:
                value = compute()
                with self._lock:
                    self._cache[key] = value
        return self._cache[key]

    def projected(self, query: str, target: str, method: str) -> tuple[np.ndarray, np.ndarray]:
        """All items' query-side and target-side vectors in the pair's shared space (unit rows;
        zero rows for items lacking the modality)."""
        method = self.resolve_method(query, target, method)
        key = (query, target, method)
        if key in self._projected:
            return self._projected[key]
        with self._key_lock(("projected", *key)):
            if key not in self._projected:
                if query == target:
                    v = self.table.vectors[query]
                    self._projected[key] = (v, v)
                else:
                    model, _, _ = self.aligner(query, target, method)
                    t = self.table
                    qa = _masked(model.transform_a, t.vectors[query], t.present[query])
                    tb = _masked(model.transform_b, t.vectors[target], t.present[target])
                    self._projected[key] = (qa, tb)
        return self._projected[key]

    # -- match lists (computed by :mod:`mmviewer.core.match.lists`) ---------------------------
    def cross_matches(self, row: int, query: str, target: str, method: str, k: int = 10) -> MatchList:
        """The ``k`` items whose ``target`` media best match item ``row``'s ``query`` media."""
        t = self.table
        resolved = self.resolve_method(query, target, method)
        if not t.present[query][row]:
            return empty_list(row, resolved, f"this item has no {query}")
        qa, tb = self.projected(query, target, resolved)
        scores = tb @ qa[row]
        scores[~t.present[target]] = -np.inf
        if query == target:
            scores[row] = -np.inf
        in_training = False
        if query != target and resolved != "none":
            in_training = bool(np.isin(row, self.aligner(query, target, resolved)[1]))
        return ranked(row, scores, k, resolved, partner=query != target, in_training=in_training)

    def pair_scores(self, row: int, target: str, method: str) -> dict[str, np.ndarray]:
        """``{m: S[m -> target]}`` (N,) for each modality ``m`` item ``row`` has: its similarity
        to every item's ``target`` media through the pair's alignment."""
        t, out = self.table, {}
        for m in t.modalities:
            if t.present[m][row]:
                qa, tb = self.projected(m, target, method)
                out[m] = np.asarray(tb @ qa[row], np.float32)
        return out

    def item_matches(self, row: int, method: str, k: int) -> ItemMatches:
        """Every weight-independent list of item ``row`` (fits aligners on first use of a method;
        run it in a worker)."""
        t = self.table
        mods = list(t.modalities)
        cross, errors = {}, {}
        for q, tgt in cross_pairs(mods):
            check_cancelled()
            try:
                cross[(q, tgt)] = self.cross_matches(row, q, tgt, method, k)
            except ValueError as err:
                errors[(q, tgt)] = str(err)
                cross[(q, tgt)] = empty_list(row, self.resolve_method(q, tgt, method), str(err))
        pair_scores = {}
        for tgt in mods:
            usable = [m for m in mods if (m, tgt) not in errors]
            pair_scores[tgt] = {m: s for m, s in self.pair_scores(row, tgt, method).items() if m in usable}
        return ItemMatches(row, method, int(k), mods, cross, pair_scores,
                           {m: np.asarray(t.present[m], bool) for m in mods}, errors)

    def similar_items(self, row: int) -> SimilarItems:
        """The fused similar-items scorer of item ``row`` (a few cached per workspace)."""
        with self._lock:
            found = self._similar.pop(row, None) or SimilarItems(self.table, row)
            self._similar[row] = found
            while len(self._similar) > 8:
                self._similar.popitem(last=False)
            return found

    def similar(self, row: int, weights: Mapping[str, float], k: int = 10) -> MatchList:
        """Fused "items similar to this one" (recommendation); excludes the item itself."""
        return self.similar_items(row).matches(weights, k)

    def fused_matches(self, row: int, weights: Mapping[str, float], target: str, method: str,
                      k: int = 10) -> MatchList:
        """Rank items' ``target`` media by the weighted mean, over the query item's modalities m,
        of the m -> target similarity (each through its own alignment)."""
        return fused_target_list(row, self.pair_scores(row, target, method), weights,
                                 self.table.present[target], k)

    def query_vector(self, vector: np.ndarray, source: str, weights: Mapping[str, float],
                     method: str, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Rank items against a free query embedded in ``source``'s space (e.g. typed text).

        Each weighted modality m of an item is compared with the query mapped source -> m, and
        the item's score is the weighted mean over the modalities it has.
        """
        t = self.table
        w = validate_weights(weights)
        q = l2_normalise(np.asarray(vector, np.float32)[None, :])
        num = np.zeros(t.n_items, np.float32)
        den = np.zeros(t.n_items, np.float32)
        for m in t.modalities:
            wm = w.get(m, 0.0)
            if wm <= 0:
                continue
            if m == source:
                qm, targets = q[0], t.vectors[m]
            else:
                try:
                    model, _, _ = self.aligner(source, m, method)
                except ValueError:
                    continue  # too few pairs to map the query into this modality
                qm = l2_normalise(np.asarray(model.transform_a(q), np.float32))[0]
                targets = self.projected(source, m, method)[1]
            num += wm * (targets @ qm)
            den += wm * t.present[m]
        scores = np.where(den > 0, num / np.maximum(den, 1e-12), -np.inf).astype(np.float32)
        idx, val = top_k_rows(scores, k)
        keep = idx >= 0
        return idx[keep], val[keep]

    # -- layouts ------------------------------------------------------------------------------
    def fused_vectors(self, weights: Mapping[str, float]) -> np.ndarray:
        return fused_vectors(self.table, weights)

    def modality_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (item, modality) as a point in one space, for the per-modality line view.

        The reference space is the first modality's (image when present); other modalities are
        mapped into it zero-shot where they share it, else by ridge regression. It is always
        ridge, whatever method the lists use: ridge lands in the reference space itself, while
        Procrustes, CCA and contrastive heads map both sides into a space of their own per pair,
        so three modalities would not meet in one (see :data:`MODALITY_POINTS_METHOD`).

        Returns ``(vectors (P, d), item rows (P,), modality index (P,))``.
        """
        t = self.table
        mods = t.modalities
        ref = mods[0]
        vecs, rows, which = [], [], []
        for j, m in enumerate(mods):
            present = np.flatnonzero(t.present[m])
            if m == ref:
                v = t.vectors[m][present]
            else:
                pair_method = "none" if self.shares_space(m, ref) else MODALITY_POINTS_METHOD
                qa, _ = self.projected(m, ref, pair_method)
                v = qa[present]
            vecs.append(v)
            rows.append(present)
            which.append(np.full(len(present), j, np.int8))
        return l2_normalise(np.concatenate(vecs)), np.concatenate(rows), np.concatenate(which)


def _masked(transform, x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Apply ``transform`` to present rows only; absent rows stay zero."""
    rows = np.flatnonzero(present)
    y = l2_normalise(np.asarray(transform(x[rows]), dtype=np.float32))
    out = np.zeros((len(x), y.shape[1]), np.float32)
    out[rows] = y
    return out
