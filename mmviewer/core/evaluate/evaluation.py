"""Headless evaluation jobs: how well does modality A retrieve modality B, and does fusion help?

Both functions return JSON-ready dicts (plain ``str`` / ``int`` / ``float`` / ``list`` /
``None``), so ``json.dumps`` works on them directly for the CLI and for saved reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mmviewer.core.align.registry import ALIGNERS, make_aligner, paired_split, sample_rows
from mmviewer.core.data.table import EmbeddingTable
from mmviewer.core.evaluate.metrics import (
    chance_label_precision,
    chance_scores,
    gaussian_mutual_information,
    infonce_mutual_information,
    label_codes,
    label_precision,
    label_precision_at_k,
    modality_gap,
    pair_mse,
    ranks_from_vectors,
    retrieval_scores,
    top1_accuracy,
)
from mmviewer.core.match.fusion import validate_weights
from mmviewer.core.match.topk import fused_top_k

MIN_PAIRS = 4
#: Held-out pairs the app scores per modality pair, at most (queries and gallery alike): ranks
#: are a (test x test) computation, minutes at 300k test pairs, seconds at 10k.
MAX_TEST_PAIRS = 10_000
TIE_CONVENTION = "expected value under uniformly random tie-breaking"


def _jsonable(value: Any) -> Any:
    """Plain-Python copy of ``value`` (numpy scalars and arrays, tuples, nested dicts)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return repr(value)


def _labels(table: EmbeddingTable, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The label column and a mask of items that have a label (not None, NaN or empty)."""
    if column not in table.metadata:
        raise ValueError(f"no metadata column {column!r}; the table has {sorted(table.metadata)}")
    values = np.asarray(table.metadata[column], dtype=object)
    has = np.array(
        [not (v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "") for v in values],
        dtype=bool,
    )
    return values, has


def _check_modality(table: EmbeddingTable, modality: str, role: str) -> None:
    if modality not in table.vectors:
        raise ValueError(f"{role} modality {modality!r} not in the table; it has {table.modalities}")


def evaluate(
    table: EmbeddingTable,
    query: str,
    target: str,
    method: str = "none",
    label_column: str | None = None,
    test_size: float | int = 0.3,
    random_state: int | None = 0,
    max_dense: int = 2000,
    fitted_aligner: Any = None,
    max_fit: int | None = None,
    max_test: int | None = None,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    **aligner_params: Any,
) -> dict[str, Any]:
    """Fit an alignment on training pairs and score cross-modal retrieval on held-out pairs.

    Items having both modalities are split (seeded) into train and test pairs; the aligner
    sees only the training pairs; every test query is ranked against all test targets.

    Parameters
    ----------
    table : EmbeddingTable
    query, target : str
        Modalities A (queries) and B (targets).
    method : {'none', 'procrustes', 'ridge', 'cca', 'contrastive'}
    label_column : str, optional
        Metadata column for ``label_precision@1`` / ``@5`` (a retrieved test target counts when
        its label equals the query's; the query item's own target is excluded, so this
        measures semantic neighbours beyond the exact pair).
    test_size : float or int
        Held-out share (or count) of the pairs.
    random_state : int or None
        Seeds the split, the dense subsample and (when it takes one) the aligner.
    max_dense : int
        ``top1_accuracy`` (one-to-one assignment, cubic) and ``mutual_information`` need a
        dense test x test matrix; they use a seeded subsample of at most this many test pairs
        (``n_dense``). Ranks always use every test pair, blockwise.
    fitted_aligner : Aligner, optional
        An aligner already fitted on exactly this split's (sampled) training pairs (the app's
        Workspace caches them), used instead of fitting a new one.
    max_fit, max_test : int, optional
        Fit on a seeded sample of at most ``max_fit`` training pairs and score a seeded sample
        of at most ``max_test`` test pairs (queries and gallery alike), so a million items cost
        what fifty thousand do; ``n_train``/``n_test`` say how many were used, beside
        ``n_train_available``/``n_test_available``.
    split : (train rows, test rows), optional
        The split of this table's pairs by ``test_size`` and ``random_state``, already made
        (the Workspace caches it: finding a million items' pairs takes a third of a second).
    **aligner_params
        Passed to the aligner (see :func:`mmviewer.core.align.registry.make_aligner`).

    Returns
    -------
    dict
        ``method``, ``query``, ``target``, ``n_train``, ``n_test``, ``n_dense``, ``recall@1``,
        ``recall@5``, ``recall@10``, ``mrr``, ``median_rank``, ``mean_rank``, their
        ``chance_*`` levels, ``top1_accuracy``, ``mse`` (mean squared distance of aligned test
        pairs), ``mutual_information`` (InfoNCE bound, nats; ``mutual_information_max`` is
        ``log n_dense``), ``modality_gap`` (aligned test vectors), ``modality_gap_raw`` (raw
        vectors, ``None`` when the dims differ), ``params``, ``ties``; with a label column also
        ``label_precision@1``, ``label_precision@5``, ``chance_label_precision``,
        ``n_labelled``; per method extras (e.g. ``gaussian_mi_train`` for ``cca``).

    Raises
    ------
    ValueError
        Unknown modality or method, too few pairs, or ``method='none'`` across different dims.
    """
    _check_modality(table, query, "query")
    _check_modality(table, target, "target")
    if query == target:
        raise ValueError(f"query and target must be different modalities, got {query!r} twice")
    if method not in ALIGNERS:
        raise ValueError(f"unknown alignment method {method!r}; choose from {sorted(ALIGNERS)}")
    da, db = table.dim(query), table.dim(target)
    if method == "none" and da != db:
        raise ValueError(
            f"method 'none' compares {query} and {target} directly, but {query} vectors have "
            f"{da} dims and {target} vectors have {db}; choose a learned method such as "
            "'procrustes', 'ridge', 'cca' or 'contrastive'"
        )
    pairs = table.paired(query, target)
    if len(pairs) < MIN_PAIRS:
        raise ValueError(
            f"only {len(pairs)} items have both {query} and {target}; need at least {MIN_PAIRS}"
        )
    all_train, all_test = split if split is not None else paired_split(pairs, test_size, random_state)
    train = sample_rows(all_train, max_fit, random_state)
    test = sample_rows(all_test, max_test, None if random_state is None else random_state + 1)
    xa, xb = table.vectors[query], table.vectors[target]
    if fitted_aligner is not None:
        aligner = fitted_aligner
    else:
        if "random_state" in ALIGNERS[method]._param_names():
            aligner_params.setdefault("random_state", random_state)
        aligner = make_aligner(method, **aligner_params)
        aligner.fit(xa[train], xb[train])
    za, zb = aligner.transform_a(xa[test]), aligner.transform_b(xb[test])

    result: dict[str, Any] = {
        "method": method, "query": query, "target": target,
        "n_train": len(train), "n_test": len(test),
        "n_train_available": len(all_train), "n_test_available": len(all_test),
    }
    result.update(retrieval_scores(ranks_from_vectors(za, zb), ks=(1, 5, 10)))
    result.update(chance_scores(len(test), ks=(1, 5, 10)))
    rng = np.random.default_rng(random_state)
    dense = np.sort(rng.choice(len(test), size=min(len(test), int(max_dense)), replace=False))
    sim = za[dense] @ zb[dense].T
    result["n_dense"] = len(dense)
    result["top1_accuracy"] = top1_accuracy(sim)
    result["mse"] = pair_mse(za, zb)
    result["mutual_information"] = infonce_mutual_information(sim) if len(dense) > 1 else 0.0
    result["mutual_information_estimator"] = "infonce lower bound log(N) - L, nats"
    result["mutual_information_max"] = math.log(len(dense))
    result["modality_gap"] = modality_gap(za, zb)
    result["modality_gap_raw"] = modality_gap(xa[test], xb[test]) if da == db else None
    result["ties"] = TIE_CONVENTION
    if hasattr(aligner, "correlations_"):
        result["gaussian_mi_train"] = gaussian_mutual_information(aligner.correlations_)
    for attr in ("alpha_", "temperature_", "n_epochs_", "best_epoch_"):
        if hasattr(aligner, attr):
            result[attr.rstrip("_")] = getattr(aligner, attr)
    if label_column is not None:
        labels, has = _labels(table, label_column)
        keep = has[test]
        result["n_labelled"] = int(keep.sum())
        if keep.sum() >= 2:
            lab = labels[test][keep]
            result.update(label_precision(za[keep], zb[keep], lab, lab, (1, 5), exclude_self=True))
            result["chance_label_precision"] = chance_label_precision(lab, lab, exclude_self=True)
        else:
            result.update({"label_precision@1": None, "label_precision@5": None})
    result["params"] = aligner.get_params()
    return _jsonable(result)


def pair_metrics(ws, query: str, target: str, method: str, label_column: str | None = None) -> dict:
    """Held-out figures of one pair (:func:`evaluate`) for a
    :class:`~mmviewer.core.match.workspace.Workspace`, reusing its cached fit, so the metrics
    panel and the match lists never fit the same aligner twice. Cached on the workspace: no
    weight change alters them."""
    resolved = ws.resolve_method(query, target, method)

    def compute() -> dict:
        model = ws.aligner(query, target, resolved)[0]
        return evaluate(ws.table, query, target, method=resolved, label_column=label_column,
                        test_size=ws.test_size, random_state=ws.random_state,
                        fitted_aligner=model, max_fit=ws.fit_max_pairs, max_test=MAX_TEST_PAIRS,
                        split=ws.split(query, target))

    figures = dict(ws.cached(("pair-metrics", query, target, resolved, label_column), compute))
    figures["method_reason"] = ws.method_reason(query, target, method)
    return figures


def evaluate_fusion(
    table: EmbeddingTable,
    weights: Mapping[str, float],
    label_column: str,
    k: int | Sequence[int] = (1, 5, 10),
    max_queries: int = 2000,
    random_state: int | None = 0,
    max_candidates: int | None = 50_000,
    cache: Callable[[tuple, Callable[[], Any]], Any] | None = None,
) -> dict[str, Any]:
    """Label precision@k of "similar items" per single modality versus the fused similarity.

    The gallery is the labelled items (a seeded sample of at most ``max_candidates``); the
    queries are those of them that have every positively weighted modality (a seeded sample of
    at most ``max_queries``), the same for every row. Candidates are the other gallery items
    comparable under that row's similarity (for a single modality: items that have it). The
    query item itself is never retrieved.

    Parameters
    ----------
    table : EmbeddingTable
    weights : mapping of str to float
    label_column : str
    k : int or sequence of int
    max_queries : int
    random_state : int or None
    max_candidates : int, optional
    cache : callable, optional
        ``cache(key, compute)`` returning ``compute()`` once per key (e.g.
        :meth:`~mmviewer.core.match.workspace.Workspace.cached`): the single-modality rows do
        not change with the weights, only with which modalities are weighted.

    Returns
    -------
    dict
        ``label_column``, ``weights``, ``k``, ``n_queries``, ``n_candidates``,
        ``chance_label_precision``, ``single`` (modality -> {``label_precision@k``: float}) and
        ``fused`` ({``label_precision@k``: float}).
    """
    w = validate_weights(weights, table.vectors.keys())
    active = [m for m in table.modalities if w.get(m, 0.0) > 0]
    if not active:
        raise ValueError("evaluate_fusion needs at least one modality with a positive weight")
    ks = [int(k)] if isinstance(k, (int, np.integer)) else [int(x) for x in k]
    if not ks or min(ks) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    labels, has = _labels(table, label_column)
    # Everything below runs on the gallery's rows of the weighted modalities, gathered once: at a
    # million items, gathering them again for every block of queries cost as much as the products.
    gallery_rows = sample_rows(np.flatnonzero(has), max_candidates, random_state)
    gallery = table.subset(gallery_rows, modalities=active)
    queries = np.flatnonzero(np.logical_and.reduce([gallery.present[m] for m in active]))
    if len(queries) < 2:
        raise ValueError(
            f"need at least 2 labelled items with all of {active}, found {len(queries)}"
        )
    if len(queries) > max_queries:
        rng = np.random.default_rng(random_state)
        queries = np.sort(rng.choice(queries, size=int(max_queries), replace=False))
    (codes,) = label_codes(labels[gallery_rows])

    weighted = {m: w[m] for m in active}

    def precision(idx: np.ndarray) -> dict[str, float]:
        return {f"label_precision@{x}": label_precision_at_k(idx, codes[queries], codes, x) for x in ks}

    fused: dict = {}

    def singles() -> dict:
        """Each modality alone, from the products of one fused ranking (kept as ``fused``)."""
        found: dict = {}
        fused.update(precision(fused_top_k(gallery, weighted, max(ks), rows=queries, single=found)[0]))
        return {m: precision(found[m][0]) for m in active}

    key = ("fusion-single", tuple(active), label_column, tuple(ks), max_queries, random_state,
           max_candidates)
    single = singles() if cache is None else cache(key, singles)
    if not fused:  # the single rows came from the cache: rank by these weights alone
        fused = precision(fused_top_k(gallery, weighted, max(ks), rows=queries)[0])
    result = {
        "label_column": label_column,
        "weights": {m: w[m] for m in active},
        "k": ks,
        "n_queries": len(queries),
        "n_candidates": len(gallery_rows),
        "chance_label_precision": chance_label_precision(codes, codes, exclude_self=True),
        "single": single,
        "fused": fused,
    }
    return _jsonable(result)
