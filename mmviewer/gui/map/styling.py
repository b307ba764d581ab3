"""The map panel's colours and styles: colour-by, selection/highlight variants, the legend.

A mixin of :class:`~mmviewer.gui.map.qt_map.QtMap` (kept apart so each module stays small). Small
tables are coloured inline; bigger ones in a worker (``sync_limit``), and match correctness
streams partial colourings so a big map fills in progressively.
"""

from __future__ import annotations

import numpy as np

from mmviewer.core.app import colours as mc
from mmviewer.core.app.state import COLOUR_MATCH, COLOUR_MODALITIES, MAP_MODALITIES, META_PREFIX
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

    def _restyle(self) -> None:
        v = self._variants()
        for layer in (self.items, self.modality_points):
            if layer.n_points:
                layer.item.set_variants(None if v is None else layer.per_point(v))

    def _style_layer(self, layer: MapLayer) -> None:
        v = self._variants()
        layer.item.set_variants(None if v is None else layer.per_point(v))
        self._colour_layer(layer)
        self._update_markers()
        self._show_colouring()

    def _recolour(self) -> None:
        """Colour by ``state.colour_by``: from the cache, inline for small tables, else in a
        worker (match correctness streams partial colourings)."""
        self._colour_job.cancel()
        ws = self.model.workspace
        if ws is None:
            return
        t, spec = ws.table, self.state.colour_by
        col = spec[len(META_PREFIX):] if spec.startswith(META_PREFIX) else None
        streams = False
        if spec == COLOUR_MATCH and self.match_pair is not None:
            key = (spec, self.match_pair, self.state.method)
            job, args = mc.match_correctness, (ws, *self.match_pair, self.state.method)
            inline, streams = min(self.sync_limit, MATCH_SYNC_LIMIT), True
        elif col is not None and col in t.metadata:
            key, job, args, inline = spec, mc.metadata, (t.metadata[col], col), self.sync_limit
        else:  # also "match" when no modality pair has enough items to align
            key, job, args, inline = COLOUR_MODALITIES, mc.availability, (t,), self.sync_limit
        if key in self._colour_cache:
            self._set_colouring(self._colour_cache[key])
            return

        def done(colouring, key=key):
            self._colour_cache[key] = colouring
            self._set_colouring(colouring)

        if t.n_items <= inline:  # cost: O(N) (match: O(N^2)) for N below the limit
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
            self.view_box.reserve_right(0)
            return
        note = c.note if c.done else (c.note + " …computing").strip()
        if self.state.colour_by == COLOUR_MATCH and self.match_pair is None:
            note = "match correctness needs two modalities with 4+ paired items"
        self.legend.set_entries(c.title, c.labels, c.colours, c.counts, note)
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
        self.view_box.reserve_right(self.legend.width() + 2 * MARGIN)

