"""What colour each map point gets: modality availability, a metadata column, match correctness.

Plain numpy (no Qt): the panel calls these inline for small tables and in a worker thread for big
ones. Each returns a :class:`Colouring` (per-point index into a short colour list, with legend
labels and counts). :func:`match_correctness` is a generator: it scores query blocks in a random
order and yields partial colourings, so a big map fills in progressively and can be cancelled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

TOP_N = 12  # categories shown by name; the rest are "other"
BINS = 8  # quantile bins for numeric columns with many values

#: Categorical palette (Tableau 10 + 2), readable on light and dark backgrounds.
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (23, 190, 207), (188, 189, 34), (127, 127, 127),
    (0, 90, 60), (250, 190, 190),
]) / 255.0
SEQUENTIAL = np.array([  # viridis at 8 steps
    (68, 1, 84), (70, 50, 127), (54, 92, 141), (39, 127, 142), (31, 161, 135),
    (74, 194, 109), (159, 218, 58), (253, 231, 37),
]) / 255.0
OTHER = (0.62, 0.62, 0.62)
NONE = (0.80, 0.80, 0.80)
CORRECT, WRONG, NOT_PAIRED, PENDING = range(4)
MATCH_COLOURS = np.array([(0.17, 0.63, 0.17), (0.84, 0.15, 0.16), (0.55, 0.55, 0.55),
                          (0.85, 0.85, 0.85)])
MODALITY_COLOURS = {"image": PALETTE[0], "text": PALETTE[1], "audio": PALETTE[2]}
MISSING = {"", "None", "nan", "NaN", "<NA>"}


@dataclass
class Colouring:
    """Per-point colours and their legend."""

    index: np.ndarray  # (N,) int32 into colours
    colours: np.ndarray  # (K, 3) RGB in [0, 1]
    labels: list[str]
    counts: np.ndarray  # (K,) points per colour
    title: str = ""
    done: bool = True  # False for a partial (progressive) result
    note: str = ""
    #: Continuous colourings: (low, high, log scale) of the colour bar; the first RAMP colours
    #: run from low to high, the last one is "no value".
    bar: tuple[float, float, bool] | None = None

    def rows_of(self, k: int) -> np.ndarray:
        """Rows coloured with colour ``k`` (a legend click selects them)."""
        return np.flatnonzero(self.index == k)


def _counted(index, colours, labels, title, **kw) -> Colouring:
    index = np.asarray(index, np.int32)
    counts = np.bincount(index, minlength=len(labels))[: len(labels)]
    return Colouring(index, np.asarray(colours, float).reshape(-1, 3), list(labels), counts,
                     title, **kw)


def availability(table) -> Colouring:
    """One colour per availability pattern (image + text + audio, image + text, ...)."""
    mods = list(table.modalities)
    code = np.zeros(table.n_items, np.int64)
    for j, m in enumerate(mods):
        code |= table.present[m].astype(np.int64) << j
    patterns, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
    # most complete first, then by size
    rank = sorted(range(len(patterns)), key=lambda i: (-bin(int(patterns[i])).count("1"), -counts[i]))
    remap = np.empty(len(patterns), np.int32)
    remap[rank] = np.arange(len(patterns))
    labels, colours = [], []
    for i in rank:
        names = [m for j, m in enumerate(mods) if int(patterns[i]) >> j & 1]
        labels.append(" + ".join(names) if names else "(nothing)")
        colours.append(PALETTE[len(colours) % len(PALETTE)])
    return _counted(remap[inverse.ravel()], colours, labels, "Modalities present")


def modality_points(which, modalities) -> Colouring:
    """Line mode, coloured by the modality of each point."""
    colours = [MODALITY_COLOURS.get(m, PALETTE[(3 + j) % len(PALETTE)])
               for j, m in enumerate(modalities)]
    return _counted(which, colours, list(modalities), "Modality")


def _numeric(values) -> np.ndarray | None:
    """Values as floats, or None when some are not numbers."""
    v = np.asarray(values)
    if v.dtype.kind in "iuf":
        return v.astype(float)
    try:
        return v.astype(float)
    except (TypeError, ValueError):
        return None


def metadata(values, name: str, top: int = TOP_N) -> Colouring:
    """Categorical palette for a metadata column: the ``top`` commonest values by name, the
    rest as "other", missing values as "(none)". Numeric columns with more distinct values than
    ``top`` get quantile bins on a sequential palette instead."""
    values = np.asarray(values)
    if values.dtype.kind in "iuf":
        nums = values.astype(float)
        if len(np.unique(nums[np.isfinite(nums)])) > top:
            return _binned(nums, name)
    text = values.astype(str)
    uniq, inverse, counts = np.unique(text, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    missing = np.array([u in MISSING for u in uniq], bool)
    if (~missing).sum() > top and values.dtype.kind not in "iuf":
        as_numbers = _numeric(uniq[~missing])  # converts the distinct strings only
        if as_numbers is not None:
            per_unique = np.full(len(uniq), np.nan)
            per_unique[~missing] = as_numbers
            return _binned(per_unique[inverse], name)
    by_size = [i for i in np.argsort(-counts, kind="stable") if not missing[i]]
    named, rest = by_size[:top], by_size[top:]
    remap = np.empty(len(uniq), np.int32)
    labels = [str(uniq[i]) for i in named]
    colours = [PALETTE[j % len(PALETTE)] for j in range(len(named))]
    remap[named] = np.arange(len(named))
    if rest:
        remap[rest] = len(labels)
        labels.append(f"other ({len(rest)} values)")
        colours.append(OTHER)
    if missing.any():
        remap[missing] = len(labels)
        labels.append("(none)")
        colours.append(NONE)
    return _counted(remap[inverse], colours, labels, name)


def _binned(nums: np.ndarray, name: str) -> Colouring:
    finite = np.isfinite(nums)
    edges = np.unique(np.quantile(nums[finite], np.linspace(0, 1, BINS + 1)))
    k = len(edges) - 1
    index = np.clip(np.searchsorted(edges, nums, side="right") - 1, 0, k - 1).astype(np.int32)
    labels = [f"{edges[i]:.4g} – {edges[i + 1]:.4g}" for i in range(k)]
    colours = list(SEQUENTIAL[np.linspace(0, len(SEQUENTIAL) - 1, k).round().astype(int)])
    if not finite.all():
        index[~finite] = k
        labels.append("(none)")
        colours.append(NONE)
    return _counted(index, colours, labels, name)


RAMP = 64
VIRIDIS_RAMP = np.array([np.interp(np.linspace(0, 1, RAMP), np.linspace(0, 1, len(SEQUENTIAL)),
                                   SEQUENTIAL[:, c]) for c in range(3)]).T


def continuous(values, title: str, log: bool = False, note: str = "",
               done: bool = True) -> Colouring:
    """A colour ramp over ``values`` (NaN: "no value", grey) with a colour bar from the 1st to
    the 99th percentile (beyond it the ends of the ramp); ``log`` for ranks and counts."""
    v = np.asarray(values, np.float64)
    finite = np.isfinite(v) & ((v > 0) if log else True)
    t = np.zeros(len(v))
    low = high = float("nan")
    if finite.any():
        x = np.log10(v[finite]) if log else v[finite]
        lo, hi = (x.min(), x.max()) if log else np.percentile(x, [1, 99])
        hi = hi if hi > lo else lo + 1.0
        t[finite] = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        low, high = (10 ** lo, 10 ** hi) if log else (lo, hi)
    index = np.where(finite, np.round(t * (RAMP - 1)), RAMP).astype(np.int32)
    labels = [""] * RAMP + ["no value"]
    c = _counted(index, np.vstack([VIRIDIS_RAMP, NONE]), labels, title, done=done, note=note)
    c.bar = (low, high, log)
    return c


def tagged(n: int, tags: dict, top: int = TOP_N) -> Colouring:
    """One colour per tag (the ``top`` biggest; the rest as "other tags"); items with several
    tags and untagged items get an entry each."""
    names = sorted(tags, key=lambda name: -len(tags[name]))
    named, rest = names[:top], names[top:]
    other, several, untagged = len(named), len(named) + 1, len(named) + 2
    count = np.zeros(n, np.int32)
    index = np.full(n, untagged, np.int32)
    for k, name in enumerate(names):
        rows = np.asarray(tags[name], np.int64)
        count[rows] += 1
        index[rows] = k if k < len(named) else other
    index[count > 1] = several
    colours = [PALETTE[k % len(PALETTE)] for k in range(len(named))] + [OTHER, (0.3, 0.3, 0.3), NONE]
    labels = [*named, f"other tags ({len(rest)})", "several tags", "untagged"]
    return _counted(index, colours, labels, "Tags")


def modality_pairs(table) -> list[tuple[str, str]]:
    """Ordered (query, target) modality pairs with at least 4 paired items."""
    mods = table.modalities
    return [(q, t) for q in mods for t in mods if q != t and len(table.paired(q, t)) >= 4]


def _match_colouring(state, query, target, method, done) -> Colouring:
    c = _counted(state, MATCH_COLOURS, [
        f"nearest {target} is its own", f"nearest {target} is another item",
        f"lacks {query} or {target}", "not yet computed"], f"Match {query} → {target}", done=done)
    scored = c.counts[CORRECT] + c.counts[WRONG]
    if scored:
        c.note = (f"{c.counts[CORRECT]:,} of {scored:,} correct "
                  f"({100.0 * c.counts[CORRECT] / scored:.1f}%) · {method}")
    return c


def match_correctness(workspace, query: str, target: str, method: str = "auto",
                      block_bytes: int = 32 * 2**20, seed: int = 0, every_s: float = 0.3):
    """Generator: for every item with both modalities, is its nearest ``target`` item (through
    the pair's alignment) its own? Yields partial :class:`Colouring` snapshots (rows scored in a
    random order, so a partial map is an even sample; ``None`` between snapshots, where the
    worker may stop) and returns the final one."""
    t = workspace.table
    resolved = workspace.resolve_method(query, target, method)
    pair = workspace.pair(query, target, resolved)
    n = t.n_items
    state = np.full(n, PENDING, np.int32)
    has = t.present[query] & t.present[target]
    state[~has] = NOT_PAIRED
    rows = np.random.default_rng(seed).permutation(np.flatnonzero(has))
    absent = ~t.present[target]
    step = max(1, block_bytes // (4 * max(n, 1)))
    last = time.monotonic()
    for start in range(0, len(rows), step):
        block = rows[start:start + step]
        scores = pair.score_rows(block)
        scores[:, absent] = -np.inf
        best = scores.argmax(axis=1)
        state[block] = np.where(best == block, CORRECT, WRONG)
        if time.monotonic() - last >= every_s and start + step < len(rows):
            last = time.monotonic()
            yield _match_colouring(state.copy(), query, target, resolved, done=False)
        else:
            yield None  # a cancellation point between blocks
    return _match_colouring(state, query, target, resolved, done=True)

