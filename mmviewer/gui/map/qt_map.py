"""The map panel: every item as a point on the fused 2-D layout, linked to the view state.

``QtMap(state, model, thumbnails=None)`` draws ``model.layout_ready`` (PCA at once,
then UMAP gliding in) and, in line mode, ``model.modality_layout_ready`` (each item's
modalities as separate points joined by lines). Points are rasterised with numpy at screen
resolution (:mod:`mmviewer.gui.map.renderer`), so 1M points stay interactive. Hover shows the
item's thumbnail and caption; click sets ``state.current``; rectangle and lasso set
``state.selection``; Escape clears it. ``state.highlight`` lights its rows and dims the rest.
Colour by modality availability, a metadata column or nearest-match correctness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QVBoxLayout, QWidget

from mmviewer.core.app import colours as mc
from mmviewer.core.app.state import (
    COLOUR_MATCH,
    COLOUR_TAGS,
    MAP_MODALITIES,
    VALUE_PREFIX,
    Notice,
)
from mmviewer.core.items.frame import SUSPICION
from mmviewer.gui.map.export import export_plot
from mmviewer.gui.map.interaction import MapInteractionMixin
from mmviewer.gui.map.layer import MapLayer
from mmviewer.gui.map.overlays import HoverCard, MapLegend, Markers
from mmviewer.gui.map.styling import MapStylingMixin
from mmviewer.gui.map.toolbar import MapControlsMixin, MapToolbar
from mmviewer.gui.map.viewbox import MapViewBox
from mmviewer.gui.preview.thumbnails import ThumbnailCache
from mmviewer.gui.showcase.map_images import MapImages
from mmviewer.gui.table.selection import SelectionActions, count_text

HIT_PX = 10  # hover/click reach in screen pixels
SYNC_LIMIT = 20_000  # colourings of bigger tables run in a worker
SELECT_SYNC_LIMIT = 200_000  # lasso over bigger layers runs in a worker
TOP_MATCHES = 5
#: Colourings that show one modality pair (the pair combo is enabled for them).
PAIR_COLOURINGS = (COLOUR_MATCH, VALUE_PREFIX + "rank", VALUE_PREFIX + "score")


class QtMap(MapInteractionMixin, MapStylingMixin, MapControlsMixin, QWidget):
    """The map panel. Public API: signals below, :meth:`row_at`, :meth:`hover_at`,
    :meth:`select_in_rect`, :meth:`select_in_polygon`, :meth:`clear_selection`,
    :meth:`set_tool`, :meth:`set_match_pair`, :meth:`set_point_scale`, :meth:`reset_view`,
    :meth:`export_image`; attributes ``colouring``, ``hovered_row``, ``layer``."""

    points_changed = Signal(str)  # "items" | "modalities": a new set of points is drawn
    glide_finished = Signal(str)  # that layer's points reached their new positions
    colours_changed = Signal()  # a colouring (maybe partial, see .colouring.done) is shown
    hovered = Signal(int)  # row under the cursor, -1 when none

    def __init__(self, state, model, thumbnails: ThumbnailCache | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.thumbnails = thumbnails if thumbnails is not None else ThumbnailCache(model, parent=self)
        self.colouring: mc.Colouring | None = None
        self.hovered_row = -1
        self.sync_limit = SYNC_LIMIT
        self.top_k = TOP_MATCHES
        self._pairs: list[tuple[str, str]] = []
        self._top: tuple[int, np.ndarray, str] | None = None  # (row, match rows, note)
        self._colour_cache: dict = {}  # finished colourings of this table
        self._suspects_seen = ("", 0)  # (status, version) of the suspects last coloured by
        self._hover_scene_pos = None

        self.toolbar = MapToolbar(self)
        self.selection_actions = SelectionActions(state, model, self)
        self.toolbar.selection_button.setMenu(self.selection_actions.menu(self))
        self.toolbar.show_selection_count(count_text(len(state.selection)))
        self.view_box = MapViewBox(enableMenu=True)
        self.plot = pg.PlotWidget(viewBox=self.view_box)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)  # the plot's menu; the ViewBox keeps its own
        self.view_box.setAspectLocked(True)
        self.items = MapLayer(self.view_box, model.jobs, parent=self)
        self.modality_points = MapLayer(self.view_box, model.jobs, lines=True, parent=self)
        self.markers = Markers(self.view_box)
        self.legend = MapLegend(self.plot)
        self.card = HoverCard(self.plot)
        self.images = MapImages(self)  # item pictures at their places (the toolbar's Pictures)
        self._colour_job = model.jobs.slot("map-colour", id(self))
        self._top_job = model.jobs.slot("map-top-matches", id(self))
        self._select_job = model.jobs.slot("map-select", id(self))
        self._hover_timer = QTimer(self, singleShot=True, interval=15)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.plot)
        self._apply_theme()
        self._connect()
        if model.workspace is not None:
            self._on_model_table_ready()
            if model.positions is not None:
                self._on_model_layout_ready(model.positions, model.layout_kind)
            if state.map_mode == MAP_MODALITIES:
                model.request_modality_layout()
        self._apply_mode()

    def _connect(self) -> None:
        ev, c, tb, vb = self.state.events, self.model, self.toolbar, self.view_box
        ev.current.connect(self._on_state_current)
        ev.selection.connect(self._on_state_selection)
        ev.highlight.connect(self._on_state_highlight)
        ev.colour_by.connect(self._on_state_colour_by)
        ev.map_mode.connect(self._on_state_map_mode)
        ev.method.connect(self._on_state_method)
        ev.match_pair.connect(self._on_state_match_pair)
        c.table_ready.connect(self._on_model_table_ready)
        c.layout_ready.connect(self._on_model_layout_ready)
        c.modality_layout_ready.connect(self._on_model_modality_layout_ready)
        self.thumbnails.ready.connect(self._on_thumbnails_ready)
        for name, layer in (("items", self.items), ("modalities", self.modality_points)):
            layer.moved.connect(self._update_markers)
            layer.glide_finished.connect(lambda n=name: self.glide_finished.emit(n))
        vb.clicked.connect(self._on_view_box_clicked)
        vb.rect_drawn.connect(self._on_view_box_rect_drawn)
        vb.lasso_drawn.connect(self._on_view_box_lasso_drawn)
        self.plot.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self._hover_timer.timeout.connect(self._on_hover_timer_timeout)
        self.legend.entry_clicked.connect(self._on_legend_entry_clicked)
        tb.tools.triggered.connect(lambda a: self.set_tool(a.data()))
        tb.reset_action.triggered.connect(self.reset_view)
        tb.colour_combo.currentIndexChanged.connect(self._on_toolbar_colour_changed)
        tb.pair_combo.currentIndexChanged.connect(self._on_toolbar_pair_changed)
        tb.lines_action.toggled.connect(self._on_toolbar_lines_toggled)
        tb.export_action.triggered.connect(self._on_toolbar_export)
        tb.legend_action.toggled.connect(self._on_toolbar_legend_toggled)
        tb.size_spin.valueChanged.connect(self.set_point_scale)
        tb.source_combo.currentIndexChanged.connect(self._on_toolbar_layout_changed)
        tb.layout_combo.currentIndexChanged.connect(self._on_toolbar_layout_changed)
        tb.neighbours_spin.valueChanged.connect(self._on_toolbar_layout_changed)
        tb.min_dist_spin.valueChanged.connect(self._on_toolbar_layout_changed)
        ev.map_source.connect(self._on_state_layout)
        ev.layout.connect(self._on_state_layout)
        ev.tags.connect(self._on_state_tags)
        ev.hidden.connect(self._on_state_hidden)
        c.items.values_changed.connect(self._on_items_values_changed)
        c.items.frame_changed.connect(self._on_items_frame_changed)
        c.suspects.changed.connect(self._on_suspects_changed)
        for w in (self.plot, self.plot.viewport()):
            w.installEventFilter(self)

    def _apply_theme(self) -> None:
        pal = self.palette()
        bg, fg = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)
        self.plot.setBackground(bg)
        for layer in (self.items, self.modality_points):
            layer.item.set_theme(bg.getRgbF()[:3], fg.getRgbF()[:3])

    # -- public API ------------------------------------------------------------------------------
    @property
    def layer(self) -> MapLayer:
        """The layer on screen (items, or per-modality points in line mode)."""
        return self.modality_points if self.state.map_mode == MAP_MODALITIES else self.items

    def set_tool(self, tool: str) -> None:
        """"pan", "rect" or "lasso" for a plain left drag."""
        self.view_box.set_tool(tool)
        self.toolbar.tool_actions[tool].setChecked(True)

    def set_point_scale(self, scale: float) -> None:
        """Multiply the automatic point size (which shrinks as more points are in view)."""
        for layer in (self.items, self.modality_points):
            layer.item.point_scale = float(scale)
            layer.item.update()
        blocked = self.toolbar.size_spin.blockSignals(True)
        self.toolbar.size_spin.setValue(float(scale))
        self.toolbar.size_spin.blockSignals(blocked)

    def reset_view(self) -> None:
        """Fit every point and follow the map again (auto-range stays on until a pan/zoom)."""
        self.view_box.enableAutoRange()
        self.view_box.updateAutoRange()

    def row_at(self, x: float, y: float, radius_px: float | None = None) -> int:
        """Table row of the point nearest data position (x, y) within ``radius_px``, or -1."""
        return self.layer.row_of(self._point_at(x, y, radius_px))

    def _point_at(self, x: float, y: float, radius_px: float | None = None) -> int:
        if radius_px is None:  # a picture on the map is hit anywhere on it
            radius_px = max(HIT_PX, self.images.reach_px())
        px = self.view_box.viewPixelSize()[0]
        reach = radius_px * px if np.isfinite(px) and px > 0 else np.inf
        return self.layer.nearest(x, y, reach)

    def hover_at(self, x: float, y: float, at=None) -> int:
        """Show the hover card for the point at data position (x, y); returns its row or -1."""
        point = self._point_at(x, y)
        row = self.layer.row_of(point)
        if row < 0:
            self._clear_hover()
            return -1
        if at is None:
            at = self.plot.mapFromScene(self.view_box.mapViewToScene(pg.Point(x, y)))
        self.markers.set_hover(self.layer.xy([point]))
        self.card.show_row(row, self._card_html(row), self.thumbnails.get(row), at)
        if row != self.hovered_row:
            self.hovered_row = row
            self.hovered.emit(row)
        return row

    def select_in_rect(self, x0: float, y0: float, x1: float, y1: float, op: str = "replace"):
        """Select the items whose points lie in the rectangle (data coordinates)."""
        rows = self.layer.rows_of(self.layer.in_rect(x0, y0, x1, y1))
        return self._combine(rows, op)

    def select_in_polygon(self, polygon, op: str = "replace"):
        """Select the items whose points lie inside ``polygon`` ((K, 2) data coordinates)."""
        layer = self.layer
        if layer.n_points > SELECT_SYNC_LIMIT:
            self._select_job.submit(layer.in_polygon, np.asarray(polygon, float),
                                    on_result=lambda pts: self._combine(layer.rows_of(pts), op),
                                    on_error=self._on_job_failed)
            return None
        return self._combine(layer.rows_of(layer.in_polygon(polygon)), op)

    def clear_selection(self) -> None:
        self.view_box.cancel_drag()
        self.state.selection = ()

    @property
    def match_pair(self) -> tuple[str, str] | None:
        """``state.match_pair`` when this table can align it, else None."""
        pair = tuple(self.state.match_pair)
        return pair if pair in self._pairs else None

    def set_match_pair(self, query: str, target: str) -> None:
        """The modality pair of the match-correctness colouring and the current item's matches."""
        self.state.match_pair = (query, target)

    def export_image(self, path, width: int | None = None) -> Path:
        """Write the map as PNG (or another raster format by suffix) or SVG.

        SVG holds true vector symbols up to 50k points; above that the points are embedded as
        one raster ``<image>`` at the plot's resolution (markers and lines stay vector).
        """
        for layer in (self.items, self.modality_points):
            layer.finish_glide()
        return export_plot(self.plot.plotItem, Path(path), self.colouring_for_legend(), width)

    # -- model ------------------------------------------------------------------------------
    def _on_model_table_ready(self) -> None:
        for job in (self._colour_job, self._top_job, self._select_job):
            job.cancel()
        for layer in (self.items, self.modality_points):
            layer.clear()
        self.colouring, self._top = None, None
        self._colour_cache.clear()
        self._clear_hover()
        self.markers.clear()
        t = self.model.workspace.table
        self._pairs = mc.modality_pairs(t)
        self.toolbar.set_pairs(self._pairs, self.match_pair)
        self.toolbar.set_colour_options(self._colour_options(), self.state.colour_by)
        self.toolbar.pair_combo.setEnabled(self.state.colour_by in PAIR_COLOURINGS)
        self.toolbar.set_sources(t.modalities, self.state.map_source)
        self.toolbar.show_layout(self.state.layout)
        self._on_state_hidden(self.state.hidden)
        self.view_box.enableAutoRange()
        self._recolour()
        self._request_top_matches()  # a restored current item gets its partners drawn

    def _on_model_layout_ready(self, positions, kind: str) -> None:
        ws = self.model.workspace
        if ws is None or len(positions) != ws.table.n_items:
            return
        fresh = self.items.n_points != len(positions)
        self.items.show(positions)
        if fresh:
            self._style_layer(self.items)
            self.points_changed.emit("items")

    def _on_model_modality_layout_ready(self, value) -> None:
        positions, rows, which = value
        ws = self.model.workspace
        if ws is None or (len(rows) and int(np.max(rows)) >= ws.table.n_items):
            return
        layer = self.modality_points
        fresh = not layer.show(positions, rows, which, n_modalities=len(ws.table.modalities))
        layer.item.set_symbols(np.minimum(which, 3))
        if fresh:
            self._style_layer(layer)
            if self.state.map_mode == MAP_MODALITIES:
                self.reset_view()
            self.points_changed.emit("modalities")

    # -- state -----------------------------------------------------------------------------------
    def _on_state_current(self, _row) -> None:
        self._request_top_matches()
        self._update_markers()

    def _on_state_selection(self, rows) -> None:
        self._restyle()
        self.toolbar.show_selection_count(count_text(len(rows)))

    def _on_state_highlight(self, _rows) -> None:
        self._restyle()

    def _on_state_colour_by(self, value: str) -> None:
        self.toolbar.show_colour(value)
        self.toolbar.pair_combo.setEnabled(value in PAIR_COLOURINGS)
        if not self.model.applying_table:  # else table_ready recolours the new table
            self._recolour()

    def _on_state_match_pair(self, _pair) -> None:
        if self.model.applying_table:
            return
        self.toolbar.set_pairs(self._pairs, self.match_pair)
        self._request_top_matches()
        if self.state.colour_by == COLOUR_MATCH:
            self._recolour()

    def _on_state_map_mode(self, _mode) -> None:
        self._apply_mode()

    def _on_state_method(self, _method) -> None:
        if self.model.applying_table:
            return
        if self.state.colour_by in PAIR_COLOURINGS:
            self._recolour()
        self._request_top_matches()

    def _on_state_tags(self, _tags) -> None:
        if self.state.colour_by == COLOUR_TAGS and not self.model.applying_table:
            self._recolour()

    def _on_state_hidden(self, _rows) -> None:
        hidden = self._hidden_rows()
        for layer in (self.items, self.modality_points):
            layer.set_hidden(hidden)
        if hidden is not None and self.hovered_row >= 0 and hidden[self.hovered_row]:
            self._clear_hover()

    def _on_items_values_changed(self, _done: bool) -> None:
        if self.state.colour_by.startswith(VALUE_PREFIX):
            self._recolour()

    def _on_suspects_changed(self) -> None:
        s = self.model.suspects
        seen, self._suspects_seen = self._suspects_seen, (s.status, s.version)
        if (self.state.colour_by == VALUE_PREFIX + SUSPICION and seen != self._suspects_seen
                and not self.model.applying_table):
            self._recolour()  # a new status or result (not each progress step)

    def _apply_mode(self) -> None:
        lines = self.state.map_mode == MAP_MODALITIES
        self.items.setVisible(not lines)
        self.modality_points.setVisible(lines)
        blocked = self.toolbar.lines_action.blockSignals(True)
        self.toolbar.lines_action.setChecked(lines)
        self.toolbar.lines_action.blockSignals(blocked)
        self._clear_hover()
        self._show_colouring()
        self._update_markers()
        if self.layer.n_points:
            self.reset_view()

    # -- jobs ------------------------------------------------------------------------------------
    def _on_job_failed(self, err) -> None:
        self.model.notice.emit(Notice(f"Map: {err}", "warning"))
