"""Gather what the HTML report shows: a cancellable generator job, no Qt.

:func:`report_job` yields :class:`Step` progress and returns one JSON-ready dict (the page's
data; :mod:`mmviewer.core.report.page` embeds it). Big tables are sampled so the file stays a
few megabytes whatever N is: at most ``max_points`` points on the map (a seeded random sample
that always keeps the featured items), thumbnails for at most ``max_thumbs`` of them within a
byte budget, and
``sample_items`` items with their cross-modal matches. The page states each cut.
"""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmviewer.core.app import colours as mc
from mmviewer.core.app.jobs import metrics_job
from mmviewer.core.evaluate.evaluation import _jsonable
from mmviewer.core.match.lists import cross_pairs
from mmviewer.core.match.workspace import Workspace
from mmviewer.core.report.matches import featured_rows, item_lists, match_labels, match_states
from mmviewer.core.report.media import ItemLookup, audio_name, caption_of, thumbnail_uris
from mmviewer.core.runtime.cancel import check_cancelled

#: Metadata columns with more distinct values than this are not offered as colourings
#: (free text, file names) unless they are numbers (binned).
MAX_CATEGORIES = 60


@dataclass
class ReportOptions:
    """How much the report holds (the file's size grows with each)."""

    max_points: int = 20_000
    max_thumbs: int = 5_000
    thumb_bytes: int = 3_000_000  # the thumbnails' share of the file (base64 included)
    thumb_px: int = 64
    sample_items: int = 12
    matches_per_list: int = 5
    caption_chars: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("max_points", "sample_items", "matches_per_list"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_thumbs < 0 or not 16 <= self.thumb_px <= 512:
            raise ValueError("max_thumbs must be >= 0 and thumb_px within 16..512")


@dataclass
class ReportInput:
    """The analysis to report: a table, its items, the map and the current choices."""

    table: object  # EmbeddingTable
    positions: np.ndarray  # (N, 2) map positions
    dataset: object | None = None  # the Dataset (media for thumbnails and captions), if any
    title: str = ""
    source: str = ""
    layout_kind: str = ""
    weights: dict = field(default_factory=dict)
    method: str = "auto"
    label_column: str | None = None
    metrics: dict | None = None  # the app's last metrics; computed when None
    colour_by: str = ""  # the colouring shown first ("modalities", "match", "meta:<col>")
    match_pair: tuple[str, str] | None = None
    featured: tuple[int, ...] = ()  # rows shown as sample items first (the app's selection)
    suspects: list | None = None  # issue-14 shape: [{"id", "score", "modality", "pairs"}]
    store_root: Path | None = None
    workspace: Workspace | None = None


@dataclass
class Step:
    """Progress: what is being done and the share of the whole job done so far."""

    text: str
    fraction: float


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(255 * float(v))):02x}" for v in rgb[:3])


def choose_points(n: int, max_points: int, keep, seed: int) -> np.ndarray:
    """Sorted rows shown on the map: all of them, or a seeded sample that contains ``keep``."""
    if n <= max_points:
        return np.arange(n)
    keep = np.unique(np.asarray(keep, np.int64))
    keep = keep[(keep >= 0) & (keep < n)][:max_points]
    order = np.random.default_rng(seed).permutation(n)
    rest = order[~np.isin(order, keep)][: max_points - len(keep)]
    return np.sort(np.concatenate([keep, rest]))


def map_section(positions: np.ndarray, rows: np.ndarray, kind: str, n_total: int) -> dict:
    """Positions quantised to 16 bits over their bounding box (plenty for a screen)."""
    xy = np.asarray(positions, np.float64)[rows]
    finite = np.isfinite(xy).all(axis=1)
    lo = xy[finite].min(axis=0) if finite.any() else np.zeros(2)
    hi = xy[finite].max(axis=0) if finite.any() else np.ones(2)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    q = np.clip(np.rint((np.nan_to_num(xy, nan=0.0) - lo) / span * 65535), 0, 65535)
    return {"n_total": int(n_total), "n_points": len(rows), "layout": kind,
            "bounds": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
            "xy": _b64(q.astype("<u2").ravel())}


def _colouring(c: mc.Colouring, rows: np.ndarray, key: str) -> dict:
    return {"key": key, "title": c.title, "labels": list(c.labels),
            "colours": [_hex(rgb) for rgb in c.colours], "counts": [int(v) for v in c.counts],
            "note": c.note, "index": _b64(np.asarray(c.index)[rows].astype(np.uint8))}


def colourings(inp: ReportInput, ws: Workspace, rows: np.ndarray) -> list[dict]:
    """The map's colourings, the app's current one first: modalities present, each usable
    metadata column, and match correctness of a modality pair (for the points shown)."""
    t = ws.table
    out = [_colouring(mc.availability(t), rows, "modalities")]
    for col, values in t.metadata.items():
        check_cancelled()
        values = np.asarray(values)
        distinct = len(np.unique(values.astype(str)))
        if distinct > MAX_CATEGORIES and values.dtype.kind not in "iuf":
            continue
        out.append(_colouring(mc.metadata(values, col), rows, f"meta:{col}"))
    pairs = mc.modality_pairs(t)
    pair = inp.match_pair if inp.match_pair in pairs else (pairs[0] if pairs else None)
    if pair is not None:
        try:
            state, resolved = match_states(ws, pair[0], pair[1], inp.method, rows)
        except ValueError:
            state = None
        if state is not None:
            counts = np.bincount(state, minlength=3)
            scored = counts[0] + counts[1]
            note = f"{100.0 * counts[0] / scored:.1f}% correct (method: {resolved})" if scored else ""
            if len(rows) < t.n_items:
                note += f"; scored for the {len(rows):,} points shown"
            c = mc.Colouring(state, mc.MATCH_COLOURS[:3], match_labels(*pair), counts,
                             f"Match {pair[0]} → {pair[1]}", note=note)
            out.append(_colouring(c, np.arange(len(rows)), "match"))
    first = inp.colour_by if inp.colour_by.startswith("meta:") or inp.colour_by == "match" else ""
    if not first and inp.label_column:
        first = f"meta:{inp.label_column}"
    out.sort(key=lambda e: e["key"] != first)
    return out


def report_job(inp: ReportInput, options: ReportOptions | None = None):
    """Generator: yields :class:`Step`, returns the report's data (JSON-ready dict)."""
    opt = options or ReportOptions()
    t = inp.table
    n = t.n_items
    if n == 0:
        raise ValueError("the table has no items to report")
    positions = np.asarray(inp.positions, np.float32)
    if positions.shape != (n, 2):
        raise ValueError(f"map positions have shape {positions.shape}, expected ({n}, 2)")
    ws = inp.workspace or Workspace(t)
    lookup = ItemLookup(t, inp.dataset)
    weights = dict(inp.weights) or {m: 1.0 for m in t.modalities}

    yield Step("Choosing the items", 0.02)
    featured = featured_rows(t, inp.featured, opt.sample_items, opt.seed)
    suspect_rows = _suspect_rows(t, inp.suspects)
    rows = choose_points(n, opt.max_points, [*featured, *suspect_rows], opt.seed)
    check_cancelled()

    yield Step("Colouring the map", 0.08)
    colour_list = colourings(inp, ws, rows)

    metrics = inp.metrics
    if metrics is None:
        yield Step("Measuring alignment", 0.2)
        metrics = metrics_job(ws, inp.method, weights, inp.label_column)

    yield Step("Finding matches", 0.45)
    samples, wanted = item_lists(ws, featured, inp.method, opt.matches_per_list)

    yield Step("Reading captions", 0.55)
    captions = []
    for i, row in enumerate(rows):
        if i % 512 == 0:
            check_cancelled()
        captions.append(caption_of(lookup(int(row)), opt.caption_chars))
    caption_at = dict(zip(rows.tolist(), captions, strict=True))

    yield Step("Making thumbnails", 0.65)
    thumb_rows, n_first = _thumbnail_rows(rows, featured, wanted, suspect_rows, opt)
    thumbs, thumb_of, spent = [], {}, 0
    made = thumbnail_uris(lookup, thumb_rows, opt.thumb_px, inp.store_root)
    for k, (row, uri) in enumerate(made):
        if k >= n_first and spent > opt.thumb_bytes:
            made.close()  # the byte budget is spent: the map's other points show captions
            break
        if uri is not None:
            thumb_of[row] = len(thumbs)
            thumbs.append(uri)
            spent += len(uri)
        if k % 50 == 0:
            yield Step("Making thumbnails", 0.65 + 0.3 * k / max(len(thumb_rows), 1))

    def describe(row: int) -> dict:
        item = lookup(row)
        cap = caption_at.get(row)
        return {"id": str(t.ids[row]), "thumb": thumb_of.get(row, -1),
                "caption": caption_of(item, opt.caption_chars) if cap is None else cap,
                "audio": audio_name(item),
                "has": [m for m in t.modalities if t.present[m][row]]}

    for sample in samples:
        sample.update(describe(sample["row"]))
        for lst in sample["lists"]:
            for match in lst["matches"]:
                match.update(describe(match["row"]))
    suspects = _suspects_section(t, inp.suspects, describe)
    yield Step("Writing", 0.97)
    n_thumbable = sum(1 for r in rows if "image" in getattr(lookup(int(r)), "media", {}))
    n_map_thumbs = sum(1 for r in rows.tolist() if r in thumb_of)
    return _jsonable({
        "header": _header(inp, ws, weights, len(rows), n_map_thumbs, n_thumbable, opt),
        "map": map_section(positions, rows, inp.layout_kind, n),
        "points": {"ids": [str(t.ids[r]) for r in rows], "captions": captions,
                   "thumb": [thumb_of.get(int(r), -1) for r in rows]},
        "colourings": colour_list,
        "thumbs": thumbs,
        "metrics": metrics,
        "samples": samples,
        "suspects": suspects,
    })


def _thumbnail_rows(rows, featured, wanted, suspect_rows, opt: ReportOptions):
    """``(rows, n_first)``: featured items, their matches and suspects first (always embedded),
    then an even (random) share of the map's points, up to ``max_thumbs`` of them (and
    ``thumb_bytes`` in all)."""
    first = list(dict.fromkeys([*featured, *wanted, *suspect_rows]))
    order = np.random.default_rng(opt.seed + 1).permutation(rows)
    extra = [int(r) for r in order[: opt.max_thumbs]]
    return list(dict.fromkeys([*first, *extra])), len(first)


def _suspect_rows(table, suspects) -> list[int]:
    out = []
    for entry in (suspects or [])[:50]:
        try:
            out.append(table.index_of(str(entry["id"])))
        except (KeyError, TypeError):
            continue
    return out


def _suspects_section(table, suspects, describe) -> list[dict] | None:
    if suspects is None:
        return None
    out = []
    for entry in suspects[:50]:
        try:
            row = table.index_of(str(entry["id"]))
        except (KeyError, TypeError):
            continue
        out.append({**describe(row), "score": entry.get("score"),
                    "modality": entry.get("modality"), "pairs": entry.get("pairs") or {}})
    return out


def _header(inp: ReportInput, ws: Workspace, weights, n_points, n_thumbs, n_thumbable, opt) -> dict:
    t = ws.table
    n = t.n_items
    from mmviewer import __version__

    sampling = []
    if n_points < n:
        sampling.append(f"The map shows {n_points:,} of {n:,} items (a seeded random sample that "
                        "keeps the featured items).")
    if n_thumbable > n_thumbs:
        sampling.append(f"Thumbnails are embedded for {n_thumbs:,} of the {n_thumbable:,} map "
                        "points that have an image (featured items, their matches and a random "
                        "share); hovering another point shows its caption only.")
    return {
        "title": inp.title or Path(str(inp.source or "dataset")).name,
        "source": str(inp.source),
        "created": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "version": __version__,
        "n_items": n,
        "modalities": {m: int(t.present[m].sum()) for m in t.modalities},
        "encoders": dict(t.encoders),
        "method": inp.method,
        "weights": weights,
        "layout": inp.layout_kind,
        "pairs": [f"{q}→{tgt}" for q, tgt in cross_pairs(t.modalities)],
        "sampling": sampling,
        "limits": {"max_points": opt.max_points, "max_thumbs": opt.max_thumbs,
                   "thumb_bytes": opt.thumb_bytes,
                   "thumb_px": opt.thumb_px, "sample_items": opt.sample_items},
    }
