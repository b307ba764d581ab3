"""Everything the panels ask of one embedding table, Qt-free and cached.

A :class:`Workspace` wraps an :class:`EmbeddingTable` and answers: the cross-modal match list of
an item (query modality -> target modality, through the chosen alignment), the fused "similar
items" list, the fused -> target list, and the vectors a layout needs. ``auto`` decides per pair
from the data whether zero-shot matching works (:mod:`mmviewer.core.match.spaces`).

Learned aligners are fitted once per (query, target, method) on a seeded sample of at most
``fit_max_pairs`` training pairs (the rest of the split's training pairs are not needed: see
``benchmarks/bench_fit_sample.py``), so the held-out metrics stay honest, a match list can say
whether its item was used for fitting, and a million items cost no more to fit than fifty
thousand. Fits are saved in the dataset's store when one is given, so a reopen does not refit.
Pairs are scored without projected copies of the modalities (:class:`AlignedPair`).

Weight changes re-enter at fusion only: aligners, target norms and per-item scorers are cached
and reused, so a slider drag costs elementwise work over N (see :mod:`mmviewer.core.match.fusion`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mmviewer.core.align.base import Aligner
from mmviewer.core.align.registry import (
    SYMMETRIC,
    SwappedAligner,
    make_aligner,
    paired_split,
    sample_rows,
)
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
from mmviewer.core.match.pair import AlignedPair, row_scores
from mmviewer.core.match.saved_fits import fit_name, load_fit, load_norms, save_fit, save_norms
from mmviewer.core.match.spaces import SpaceCheck, check_space
from mmviewer.core.match.topk import top_k_rows
from mmviewer.core.runtime.cancel import check_cancelled

#: Learned method used by "auto" when two modalities do not share a space.
AUTO_LEARNED = "cca"  # best held-out figures on the emoji and digits sets (see README)
#: Training pairs a learned aligner is fitted on, at most (a seeded sample of the split's).
FIT_MAX_PAIRS = 50_000
#: How the line view maps a modality into the reference modality's space (see modality_points).
MODALITY_POINTS_METHOD = "ridge"


class Workspace:
    """Cached analysis of one table; safe to call from several job threads (one lock per fit).

    Parameters
    ----------
    table : EmbeddingTable
    test_size : float
        Share of each pair's items held out from fitting (for the metrics).
    random_state : int
    store : EmbeddingStore, optional
        Where fitted aligners are saved and found again (keyed by the table's content digest).
    fit_max_pairs : int
    """

    def __init__(self, table: EmbeddingTable, test_size: float = 0.3, random_state: int = 0,
                 store=None, fit_max_pairs: int = FIT_MAX_PAIRS):
        self.table = table
        self.test_size = test_size
        self.random_state = random_state
        self.store = store
        self.fit_max_pairs = int(fit_max_pairs)
        # One lock guards the caches' dicts; each (pair, method) fit has its own lock, so a slow
        # fit never blocks lists or queries that need other pairs.
        self._lock = threading.RLock()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self._aligners: dict[tuple[str, str, str], tuple[Aligner, np.ndarray, np.ndarray]] = {}
        self._pairs: dict[tuple[str, str, str], AlignedPair] = {}
        self._similar: OrderedDict[int, SimilarItems] = OrderedDict()
        self._cache: dict[tuple, object] = {}

    # -- spaces and methods -------------------------------------------------------------------
    def space(self, a: str, b: str) -> SpaceCheck:
        """Whether ``a`` and ``b`` share a space, decided once from the data."""
        key = ("space", *sorted((a, b)))
        return self.cached(key, lambda: check_space(self.table, a, b, random_state=self.random_state))

    def shares_space(self, a: str, b: str) -> bool:
        return self.space(a, b).shared

    def resolve_method(self, query: str, target: str, method: str) -> str:
        if method == "auto":
            return "none" if self.shares_space(query, target) else AUTO_LEARNED
        return method

    def known_method(self, query: str, target: str, method: str) -> str | None:
        """:meth:`resolve_method` when it needs no computation (for the UI thread), else None."""
        if method != "auto" or query == target:
            return "none" if query == target else method
        found = self._cache.get(("space", *sorted((query, target))))
        return None if found is None else ("none" if found.shared else AUTO_LEARNED)

    def method_reason(self, query: str, target: str, method: str, known_only: bool = False) -> str:
        """Why ``method`` resolves as it does for this pair, in words for a panel ("" with
        ``known_only`` when that would need the data sampled: the UI thread never waits)."""
        if method != "auto":
            return f"{method}: chosen by the user"
        if known_only and self.known_method(query, target, method) is None:
            return ""
        check = self.space(query, target)
        return (f"auto → zero-shot ({check.reason})" if check.shared
                else f"auto → {AUTO_LEARNED} ({check.reason})")

    def _key_lock(self, key: tuple) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def split(self, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        """``(train, test)`` item rows of the pair (seeded; the same for both directions)."""
        def compute():
            paired = self.table.paired(a, b)
            if len(paired) < 4:
                raise ValueError(f"only {len(paired)} items have both {a} and {b}; "
                                 "at least 4 are needed to align them")
            return paired_split(paired, self.test_size, self.random_state)
        return self.cached(("split", *sorted((a, b))), compute)

    def fit_rows(self, a: str, b: str) -> np.ndarray:
        """The training rows a learned aligner of the pair is fitted on (a seeded sample of at
        most ``fit_max_pairs`` of the split's training rows), sorted."""
        def compute():
            return sample_rows(self.split(a, b)[0], self.fit_max_pairs, self.random_state)
        return self.cached(("fit-rows", *sorted((a, b)), self.fit_max_pairs), compute)

    def aligner(self, query: str, target: str, method: str) -> tuple[Aligner, np.ndarray, np.ndarray]:
        """``(fitted aligner, rows it was fitted on, held-out test rows)`` for a pair (cached).

        Symmetric methods are fitted once per unordered pair; the other direction is a view.
        """
        method = self.resolve_method(query, target, method)
        key = (query, target, method)
        if key in self._aligners:
            return self._aligners[key]
        if method in SYMMETRIC and query > target:
            base, fitted, test = self.aligner(target, query, method)
            self._aligners[key] = (SwappedAligner(base), fitted, test)
            return self._aligners[key]
        with self._key_lock(key):
            if key not in self._aligners:
                test = self.split(query, target)[1]
                fitted = self.fit_rows(query, target)
                name = self._fit_name(query, target, method, len(fitted))
                model = load_fit(self.store, name)
                if model is None:
                    model = self._new_aligner(method)
                    model.fit(self.table.vectors[query][fitted], self.table.vectors[target][fitted])
                    save_fit(self.store, name, model)
                self._aligners[key] = (model, fitted, test)
        return self._aligners[key]

    def _new_aligner(self, method: str) -> Aligner:
        params = {"random_state": self.random_state} if method == "contrastive" else {}
        return make_aligner(method, **params)

    def _fit_name(self, query: str, target: str, method: str, n_fit: int) -> str | None:
        return fit_name(self.store, self.table, query, target, method, n_fit, self.test_size,
                        self.random_state, self._new_aligner(method).get_params())

    def pair(self, query: str, target: str, method: str) -> AlignedPair:
        """The pair's scorer (:class:`AlignedPair`), built once per (query, target, method),
        with its target norms from the store when they were saved."""
        method = self.resolve_method(query, target, method)
        key = (query, target, method)
        if key not in self._pairs:
            with self._key_lock(("pair", *key)):
                if key not in self._pairs:
                    model, norms = None, None
                    if query != target and method != "none":
                        model, fitted, _ = self.aligner(query, target, method)
                        norms = load_norms(self.store, self._fit_name(query, target, method, len(fitted)))
                    self._pairs[key] = AlignedPair(self.table, query, target, model, method, norms)
        return self._pairs[key]

    def warm_up(self, method: str) -> None:
        """Everything the first match list of any item needs for ``method``, done ahead (a job
        right after opening): the space checks, the fits and every pair's target norms, saved
        in the store. A pair that cannot be aligned (too few items have both) is skipped."""
        mods = self.table.modalities
        for query, target in cross_pairs(mods):
            check_cancelled()
            try:
                pair = self.pair(query, target, method)
            except ValueError:
                continue
            if pair.needs_norms:
                n_fit = len(self.aligner(query, target, method)[1])
                save_norms(self.store, self._fit_name(query, target, pair.method, n_fit), pair.target_norms())

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

    # -- match lists (computed by :mod:`mmviewer.core.match.lists`) ---------------------------
    def cross_matches(self, row: int, query: str, target: str, method: str, k: int = 10,
                      scores: np.ndarray | None = None) -> MatchList:
        """The ``k`` items whose ``target`` media best match item ``row``'s ``query`` media
        (``scores``: that row's scores against every item, when already computed; copied)."""
        t = self.table
        resolved = self.resolve_method(query, target, method)
        if not t.present[query][row]:
            return empty_list(row, resolved, f"this item has no {query}")
        if scores is None:
            scores = self.pair(query, target, resolved).score_rows([row])[0]
        else:
            scores = np.array(scores, np.float32)
        scores[~t.present[target]] = -np.inf
        if query == target:
            scores[row] = -np.inf
        in_training = False
        if query != target and resolved != "none":
            fitted = self.aligner(query, target, resolved)[1]
            at = np.searchsorted(fitted, row)
            in_training = bool(at < len(fitted) and fitted[at] == row)
        return ranked(row, scores, k, resolved, partner=query != target, in_training=in_training)

    def pair_scores(self, row: int, target: str, method: str,
                    errors: dict | None = None) -> dict[str, np.ndarray]:
        """``{m: S[m -> target]}`` (N,) for each modality ``m`` item ``row`` has: its similarity
        to every item's ``target`` media through the pair's alignment. A pair that cannot be
        aligned is left out (its reason in ``errors[(m, target)]`` when given)."""
        t, pairs = self.table, {}
        for m in t.modalities:
            if t.present[m][row]:
                try:
                    pairs[m] = self.pair(m, target, method)
                except ValueError as err:
                    if errors is None:
                        raise
                    errors[(m, target)] = str(err)
        return dict(zip(pairs, row_scores(list(pairs.values()), row), strict=True))

    def item_matches(self, row: int, method: str, k: int) -> ItemMatches:
        """Every weight-independent list of item ``row`` (fits aligners on first use of a method;
        run it in a worker)."""
        t = self.table
        mods = list(t.modalities)
        cross, errors = {}, {}
        check_cancelled()
        # Two targets at a time: each is one pass over a million vectors, and a click waits.
        with ThreadPoolExecutor(2, thread_name_prefix="mmviewer-lists") as pool:
            found = pool.map(lambda tgt: self.pair_scores(row, tgt, method, errors), mods)
            pair_scores = dict(zip(mods, found, strict=True))
        for tgt in mods:
            for q in mods:
                if q == tgt:
                    continue
                if (q, tgt) in errors:
                    cross[(q, tgt)] = empty_list(row, self.resolve_method(q, tgt, method), errors[(q, tgt)])
                else:
                    cross[(q, tgt)] = self.cross_matches(row, q, tgt, method, k, pair_scores[tgt].get(q))
        cross = {pair: cross[pair] for pair in cross_pairs(mods)}  # the order panels list them in
        return ItemMatches(row, method, int(k), mods, cross, pair_scores,
                           {m: np.asarray(t.present[m], bool) for m in mods}, errors)

    def item_lists(self, row: int, method: str, k: int):
        """A generator job: yields item ``row``'s :class:`SimilarItems`, returns its
        :meth:`item_matches`. The same-modality scores of the latter are the cosines the former
        needs, so a click reads each modality's vectors once (at 1M items the similar items
        alone took ~0.4 s more); only while a fit is still to come are they computed first, so
        the similar list does not wait for it."""
        early = None if self.fits_ready(method) else self.similar_items(row)
        if early is not None:
            yield early
        matches = self.item_matches(row, method, k)
        if early is None:
            yield self.similar_items(row, {m: s[m] for m, s in matches.pair_scores.items() if m in s})
        return matches

    def fits_ready(self, method: str) -> bool:
        """Every cross pair's aligner for ``method`` is fitted (or needs none)."""
        for query, target in cross_pairs(self.table.modalities):
            resolved = self.known_method(query, target, method)
            if resolved is None or (resolved != "none" and (query, target, resolved) not in self._aligners):
                return False
        return True

    def similar_items(self, row: int, cosines: dict | None = None) -> SimilarItems:
        """The fused similar-items scorer of item ``row`` (a few cached per workspace;
        ``cosines``: see :class:`~mmviewer.core.match.fusion.FusedScorer`)."""
        with self._lock:
            found = self._similar.pop(row, None) or SimilarItems(self.table, row, cosines)
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
            try:
                pair = self.pair(source, m, method)
            except ValueError:
                continue  # too few pairs to map the query into this modality
            z = q if pair.identity else l2_normalise(np.asarray(pair.aligner.transform_a(q), np.float32))
            num += wm * pair.scores(z)[0]
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
                v = self.pair(m, ref, pair_method).query_vectors(present)
            vecs.append(v)
            rows.append(present)
            which.append(np.full(len(present), j, np.int8))
        return l2_normalise(np.concatenate(vecs)), np.concatenate(rows), np.concatenate(which)
