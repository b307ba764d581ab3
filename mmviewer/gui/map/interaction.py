"""The map panel's mouse and keyboard side: hover card, click, selections, current-item markers.

A mixin of :class:`~mmviewer.gui.map.qt_map.QtMap` (kept apart so each module stays small); it uses
the panel's ``state``, ``model``, layers, markers, card and jobs.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent, Qt

from mmviewer.core.app.state import MAP_MODALITIES
from mmviewer.gui.map.viewbox import ADD, SUBTRACT

META_IN_CARD = 4  # metadata columns shown on the hover card


def _top_matches(ws, row, query, target, method, k):
    return row, ws.cross_matches(row, query, target, method, k=k)


class MapInteractionMixin:
    """Hover, click, rectangle/lasso selection, Escape and the current item's markers."""

    # -- selection -------------------------------------------------------------------------------
    def _combine(self, rows, op: str):
        rows = np.asarray(rows, np.int64)
        if op == ADD:
            rows = np.union1d(np.asarray(self.state.selection, np.int64), rows)
        elif op == SUBTRACT:
            rows = np.setdiff1d(np.asarray(self.state.selection, np.int64), rows)
        selection = tuple(int(r) for r in np.unique(rows))
        self.state.selection = selection
        return selection

    def _on_view_box_rect_drawn(self, rect, op: str) -> None:
        self.select_in_rect(rect.left(), rect.top(), rect.right(), rect.bottom(), op)

    def _on_view_box_lasso_drawn(self, polygon, op: str) -> None:
        self.select_in_polygon(polygon, op)

    def _on_view_box_clicked(self, x: float, y: float, modifiers) -> None:
        row = self.row_at(x, y)
        if row < 0:
            return
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            op = "subtract" if row in set(self.state.selection) else "add"
            self._combine([row], op)
        else:
            self.state.current = row

    def _on_legend_entry_clicked(self, k: int) -> None:
        c = self.colouring_for_legend()
        if c is None:
            return
        points = c.rows_of(k)
        if c is not self.colouring:  # per-point colouring of the line mode
            points = self.modality_points.rows_of(points)
        self._combine(points, "replace")

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self.clear_selection()
            self._clear_hover()
            return True
        if kind == QEvent.Type.Leave and obj is self.plot.viewport():
            self._clear_hover()
        elif kind == QEvent.Type.Resize and obj is self.plot:
            self.place_legend()
        return False

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.clear_selection()
            self._clear_hover()
            event.accept()
        else:
            super().keyPressEvent(event)

    # -- hover -----------------------------------------------------------------------------------
    def _on_scene_mouse_moved(self, scene_pos) -> None:
        self._hover_scene_pos = scene_pos
        if not self._hover_timer.isActive():
            self._hover_timer.start()  # throttled: at most one hit test per 15 ms

    def _on_hover_timer_timeout(self) -> None:
        pos = self._hover_scene_pos
        if pos is None or not self.view_box.sceneBoundingRect().contains(pos):
            self._clear_hover()
            return
        p = self.view_box.mapSceneToView(pos)
        self.hover_at(p.x(), p.y(), self.plot.mapFromScene(pos))

    def _clear_hover(self) -> None:
        self.card.clear()
        self.markers.set_hover(np.empty((0, 2)))
        if self.hovered_row != -1:
            self.hovered_row = -1
            self.hovered.emit(-1)

    def _on_thumbnails_ready(self, row: int) -> None:
        if self.card.isVisible() and self.card.row == row:
            self.card.set_image(self.thumbnails.get(row))

    def _card_html(self, row: int) -> str:
        t = self.model.workspace.table
        parts = [f"<b>{html.escape(str(t.ids[row]))}</b>"]
        for col in list(t.metadata)[:META_IN_CARD]:
            value = t.metadata[col][row]
            text = f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
            parts.append(f"{html.escape(col)}: {html.escape(text)}")
        have = [m for m in t.modalities if t.present[m][row]]
        parts.append("has " + ", ".join(have))
        caption = self.thumbnails.caption(row)
        if caption:
            parts.append(f"<i>{html.escape(caption)}</i>")
        c = self.colouring
        if c is not None and c.labels and c.title not in t.metadata:
            k = int(self.colouring.index[row])
            parts.append(f"{html.escape(self.colouring.title)}: "
                         f"{html.escape(self.colouring.labels[k])}")
        return "<br>".join(parts)

    # -- the current item ------------------------------------------------------------------------
    def _request_top_matches(self) -> None:
        self._top_job.cancel()
        self._top = None
        ws, row = self.model.workspace, self.state.current
        if ws is None or self.match_pair is None or not 0 <= row < ws.table.n_items:
            return
        q, t = self.match_pair
        self._top_job.submit(_top_matches, ws, row, q, t, self.state.method, self.top_k,
                             on_result=self._on_top_job_returned, on_error=self._on_job_failed,
                             urgent=True)

    def _on_top_job_returned(self, value) -> None:
        row, matches = value
        if row != self.state.current or self.match_pair is None:
            return
        q, t = self.match_pair
        if matches.note:
            note = f"Current: {matches.note}"
        elif matches.partner_rank is not None:
            note = (f"Current: its own {t} is #{matches.partner_rank} of its {q} → {t} "
                    f"matches (◇ top {len(matches.rows)})")
        else:
            note = ""
        self._top = (row, np.asarray(matches.rows, np.int64), note)
        self._update_markers()
        self._show_colouring()

    def _update_markers(self, *_args) -> None:
        ws, row, layer = self.model.workspace, self.state.current, self.layer
        empty = np.empty((0, 2))
        if ws is None or not layer.n_points or not 0 <= row < ws.table.n_items:
            self.markers.set_current(empty, empty, np.empty((0, 2, 2)))
            return
        rings = layer.xy(layer.points_of([row]))
        partners, links = empty, np.empty((0, 2, 2))
        if self.state.map_mode == MAP_MODALITIES:
            if len(rings) > 1:
                a, b = np.triu_indices(len(rings), 1)
                links = np.stack([rings[a], rings[b]], axis=1)
        elif self._top is not None and self._top[0] == row and len(rings):
            others = self._top[1][self._top[1] != row]
            partners = layer.xy(others)
            links = np.stack([np.repeat(rings[:1], len(partners), 0), partners], axis=1)
        self.markers.set_current(rings, partners, links)
