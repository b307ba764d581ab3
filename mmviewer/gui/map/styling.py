"""The map panel's colours and styles: colour-by, selection/highlight variants, the legend.

A mixin of :class:`~mmviewer.gui.map.qt_map.QtMap` (kept apart so each module stays small). Small
tables are coloured inline; bigger ones in a worker (``sync_limit``), and match correctness
streams partial colourings so a big map fills in progressively.
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.app import colours as mc
from mmviewer.core.app.state import (
    COLOUR_MATCH,
    COLOUR_MODALITIES,
    COLOUR_TAGS,
    MAP_MODALITIES,
    META_PREFIX,
    VALUE_PREFIX,
)
from mmviewer.core.items.frame import SUSPICION, pair_key
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.gui.map.layer import MapLayer
from mmviewer.gui.map.overlays import MARGIN
from mmviewer.gui.map.renderer import DIM, FADED, HIGHLIGHTED, NORMAL, SELECTED


def variants_for(n: int, selection, highlight) -> np.ndarray | None:
    """Per-row point variant: highlighted rows on top and the rest dimmed; selected rows
    outlined and the rest faded; None when nothing is selected or highlighted."""
    if not (len(selection) or len(highlight)):
        return None
    v = np.full(n, NORMAL, np.uint8)
    sel = np.asarray(selection, np.int64)
    sel = sel[(sel >= 0) & (sel < n)]
    hl = np.asarray(highlight, np.int64)
    hl = hl[(hl >= 0) & (hl < n)]
    if len(sel):
        v[:] = FADED
        v[sel] = SELECTED
    if len(hl):
        v[v != SELECTED] = DIM
        v[hl] = HIGHLIGHTED
    return v


MATCH_SYNC_LIMIT = 1_000  # match correctness of bigger tables runs in a worker


def value_colouring_args(items, what: str):
    """``((values, title, log, note, done), final)`` for a continuous colouring: "rank" or
    "score" of the frame's pair, or any column key; None when there is nothing to colour by."""
    frame = items.frame
    if what in ("rank", "score"):
        if frame.pair is None:
            return None
        key = pair_key(what, frame.pair)
    elif what in frame.by_key:
        key = what
    else:
        return None
    column = frame.by_key[key]
    values = np.array(frame.values_of(key), np.float64)  # a copy: workers may read it
    final = not key.startswith(("rank:", "score:")) or items.done
    title, note = column.title, ""
    if key == SUSPICION:
        suspects = items.model.suspects
        final = suspects.fresh and frame.suspicion is not None
        title, note = "Suspicion", suspects.legend_note()
    if key.startswith(("rank:", "score:")):
        q, t = key.split(":")[1:]
        title = "Partner rank" if key.startswith("rank:") else "Pair score"
        note = (f"{q} → {t}: rank of each item's own {t} among its {q} matches (1: nearest)"
                if key.startswith("rank:") else f"{q} → {t}: similarity of each item's own pair")
        todo = frame.values.todo.get((q, t), 0)
        if todo and not final:
            note += f" · {todo:,} still to rank…"
    return (values, title, column.kind == "rank", note, final), final


class MapStylingMixin:
    """Colour-by, variants and legend of the map panel."""

    def colouring_for_legend(self) -> mc.Colouring | None:
        layer = self.modality_points
        if self.state.map_mode == MAP_MODALITIES and self.state.colour_by == COLOUR_MODALITIES \
                and layer.which is not None:
            return mc.modality_points(layer.which, self.model.workspace.table.modalities)
        return self.colouring

    # -- styling ---------------------------------------------------------------------------------
    def _variants(self) -> np.ndarray | None:
        ws = self.model.workspace
        if ws is None:
            return None
        return variants_for(ws.table.n_items, self.state.selection, self.state.highlight)

    def _hidden_rows(self) -> np.ndarray | None:
        """(N,) bool of the rows ``state.hidden`` leaves off the map, or None."""
        ws = self.model.workspace
        if ws is None or not self.state.hidden:
            return None
        n = ws.table.n_items
        rows = np.asarray(self.state.hidden, np.int64)
        hidden = np.zeros(n, bool)
        hidden[rows[(rows >= 0) & (rows < n)]] = True
        return hidden

    def _restyle(self) -> None:
        v = self._variants()
        for layer in (self.items, self.modality_points):
            if layer.n_points:
                layer.item.set_variants(None if v is None else layer.per_point(v))

    def _style_layer(self, layer: MapLayer) -> None:
        v = self._variants()
        layer.item.set_variants(None if v is None else layer.per_point(v))
        layer.set_hidden(self._hidden_rows())
        self._colour_layer(layer)
        self._update_markers()
        self._show_colouring()

    def _colour_spec(self):
        """``(cache key or None, job, args, inline limit, streams)`` for ``state.colour_by``."""
        ws = self.model.workspace
        t, spec = ws.table, self.state.colour_by
        col = spec[len(META_PREFIX):] if spec.startswith(META_PREFIX) else None
        if spec == COLOUR_MATCH and self.match_pair is not None:
            return ((spec, self.match_pair, self.state.method), mc.match_correctness,
                    (ws, *self.match_pair, self.state.method),
                    min(self.sync_limit, MATCH_SYNC_LIMIT), True)
        if col is not None and col in t.metadata:
            return spec, mc.metadata, (t.metadata[col], col), self.sync_limit, False
        if spec == COLOUR_TAGS:
            return None, mc.tagged, (t.n_items, self.state.tag_map), self.sync_limit, False
        if spec == VALUE_PREFIX + SUSPICION:
            self.model.suspects.want()  # computed when first asked for
        if spec.startswith(VALUE_PREFIX) and self.model.items.frame is not None:
            found = value_colouring_args(self.model.items, spec[len(VALUE_PREFIX):])
            if found is not None:
                args, final = found
                key = (spec, self.state.method, tuple(self.state.match_pair),
                       self.model.suspects.version) if final else None
                return key, mc.continuous, args, self.sync_limit, False
        # also "match" when no modality pair has enough items to align
        return COLOUR_MODALITIES, mc.availability, (t,), self.sync_limit, False

    def _recolour(self) -> None:
        """Colour by ``state.colour_by``: from the cache, inline for small tables, else in a
        worker (match correctness streams partial colourings)."""
        self._colour_job.cancel()
        ws = self.model.workspace
        if ws is None:
            return
        key, job, args, inline, streams = self._colour_spec()
        if key is not None and key in self._colour_cache:
            self._set_colouring(self._colour_cache[key])
            return

        def done(colouring, key=key):
            if key is not None:
                self._colour_cache[key] = colouring
            self._set_colouring(colouring)

        if ws.table.n_items <= inline:  # cost: O(N) (match: O(N^2)) for N below the limit
            try:
                done(run_to_end(job(*args)) if streams else job(*args))
            except ValueError as err:  # e.g. too few pairs to fit an alignment
                self._on_job_failed(err)
        else:
            self._colour_job.submit(job, *args, on_result=done, on_error=self._on_job_failed,
                                    on_progress=self._set_colouring if streams else None)

    def _set_colouring(self, colouring: mc.Colouring | None) -> None:
        ws = self.model.workspace
        if colouring is None or ws is None or len(colouring.index) != ws.table.n_items:
            return
        self.colouring = colouring
        for layer in (self.items, self.modality_points):
            self._colour_layer(layer)
        self._show_colouring()
        self.colours_changed.emit()

    def _colour_layer(self, layer: MapLayer) -> None:
        c = self.colouring
        if not layer.n_points:
            return
        if layer is self.modality_points and self.state.colour_by == COLOUR_MODALITIES:
            mod = mc.modality_points(layer.which, self.model.workspace.table.modalities)
            layer.item.set_colours(mod.index, mod.colours)
        elif c is not None:
            layer.item.set_colours(layer.per_point(c.index), c.colours)

    def _show_colouring(self) -> None:
        c = self.colouring_for_legend()
        if c is None or not self.toolbar.legend_action.isChecked():
            self.legend.hide()
            self.view_box.reserve()
            return
        note = c.note if c.done else (c.note + " …computing").strip()
        if self.state.colour_by == COLOUR_MATCH and self.match_pair is None:
            note = "match correctness needs two modalities with 4+ paired items"
        self.legend.set_entries(c.title, c.labels, c.colours, c.counts, note, c.bar)
        extra = []
        if self.state.map_mode == MAP_MODALITIES and self.modality_points.which is not None:
            mods = self.model.workspace.table.modalities
            extra.append("Symbols: " + ", ".join(f"{s} {m}" for s, m in zip("●■▲◆", mods, strict=False)))
            if self.modality_points.lines_note:
                extra.append(self.modality_points.lines_note)
        if (self.state.map_mode != MAP_MODALITIES and self._top is not None
                and self._top[0] == self.state.current and self._top[2]):
            extra.append(self._top[2])
        self.legend.set_extra("\n".join(extra))
        self.legend.show()
        self.place_legend()

    def place_legend(self) -> None:
        """Keep points clear of the legend: beside a key that is narrow next to the map, under
        its folded title on a small map (where an unfolded key would cover a third of it; one
        the user unfolded there floats over the points)."""
        if self.legend.isHidden():
            return
        small = self.legend.unfolded_width() > 0.3 * self.plot.width()
        self.legend.fit(small)
        self.legend.reposition()
        if not small:
            self.view_box.reserve(right_px=self.legend.width() + 2 * MARGIN)
        elif self.legend.folded:
            self.view_box.reserve(top_px=self.legend.height() + MARGIN)
        else:
            self.view_box.reserve()

