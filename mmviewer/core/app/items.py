"""The per-item data the item table, the filters and the map's continuous colourings share.

:class:`ItemData` belongs to the :class:`~mmviewer.core.app.model.AppModel` (``model.items``). For
each table it keeps one :class:`~mmviewer.core.items.frame.ItemFrame` and its policies:

* a new table: the frame at once (ids, metadata, modalities), then every item's partner ranks and
  pair scores in the background (slot ``item-values``, streamed; ``values_changed`` as batches
  land and once more when all are in);
* a method change: the pair values again (the alignment changed);
* tags, the selection and the map's pair are mirrored from the state into the frame;
* which modality drives the map: re-measured after the weights settle (slot ``map-drivers``,
  ``drivers_ready``).
"""

from __future__ import annotations

import numpy as np
from psygnal import Signal

from mmviewer.core.app.colours import modality_pairs
from mmviewer.core.app.jobs import figures_lane
from mmviewer.core.items.dominance import modality_shares
from mmviewer.core.items.frame import ItemFrame
from mmviewer.core.items.pairs import PairValues, pair_values

#: The pair values wait for the map and the first lists (all compete for the same cores).
VALUES_DELAY_S = 1.0
#: Which modality drives the map is measured once the weights have been still this long.
DRIVERS_DELAY_S = 1.5


class ItemData:
    """Per-item columns of the model's table; see the module docstring."""

    values_changed = Signal(bool)  # a batch of pair values landed (True: all are in)
    frame_changed = Signal()  # a new frame (new table), or its tags / selection changed
    drivers_ready = Signal(object)  # core.items.dominance.Shares for the current weights

    def __init__(self, model):
        self.model = model
        self.frame: ItemFrame | None = None
        self.drivers = None
        ev = model.state.events
        ev.method.connect(self._on_state_method)
        ev.tags.connect(self._on_state_tags)
        ev.selection.connect(self._on_state_selection)
        ev.match_pair.connect(self._on_state_match_pair)
        ev.weights.connect(self._on_state_weights)
        model.table_ready.connect(self._on_model_table_ready)

    @property
    def done(self) -> bool:
        """Every partner rank of this table is in."""
        return self.frame is not None and not self.model.jobs.is_active("item-values") \
            and self.frame.values.pending() == 0

    # -- the frame ------------------------------------------------------------------------------
    def _on_model_table_ready(self) -> None:
        ws = self.model.workspace
        dataset = self.model.dataset
        files = dataset is not None and dataset.precomputed is None  # a table has no file names
        self.frame = ItemFrame(ws.table, modality_pairs(ws.table), PairValues(ws.table.n_items),
                               item=self.model.item if files else None)
        self._sync_state()
        self.drivers = None
        self.frame_changed.emit()
        self.model.after_first_picture(lambda: self.request_values(delay_s=VALUES_DELAY_S))
        self.model.after_first_picture(lambda: self.request_drivers(delay_s=DRIVERS_DELAY_S))

    def _sync_state(self) -> None:
        state, frame = self.model.state, self.frame
        frame.tags = {name: np.asarray(rows, np.int64) for name, rows in state.tags}
        frame.selection = np.asarray(state.selection, np.int64)
        pair = tuple(state.match_pair)
        frame.pair = pair if pair in frame.pairs else (frame.pairs[0] if frame.pairs else None)

    def _on_state_tags(self, _tags) -> None:
        if self.frame is not None and not self.model.applying_table:
            self._sync_state()
            self.frame_changed.emit()

    def _on_state_selection(self, _rows) -> None:
        if self.frame is not None and not self.model.applying_table:
            self.frame.selection = np.asarray(self.model.state.selection, np.int64)

    def _on_state_match_pair(self, _pair) -> None:
        if self.frame is not None and not self.model.applying_table:
            self._sync_state()

    # -- partner ranks and pair scores ----------------------------------------------------------
    def request_values(self, delay_s: float = 0.0) -> None:
        """Every item's pair values for the current method (the map's pair first)."""
        ws, frame = self.model.workspace, self.frame
        if ws is None or frame is None or not frame.pairs:
            return
        method = self.model.state.method
        frame.values = PairValues(ws.table.n_items, method)
        pairs = list(frame.pairs)
        if frame.pair in pairs:
            pairs.remove(frame.pair)
            pairs.insert(0, frame.pair)
        values = frame.values
        self.model.jobs.submit("item-values", pair_values, ws, pairs, method,
                               on_progress=lambda m: self._on_values(values, m),
                               on_result=lambda _r: self._on_values(values, None),
                               on_error=lambda err: self.model._report_error("item values", err),
                               delay_s=delay_s, label="Ranking every item's partner",
                               **figures_lane("item-values"))

    def _on_values(self, values: PairValues, message) -> None:
        if self.frame is None or self.frame.values is not values:
            return  # for a table or method that is gone
        if message is None:
            self.values_changed.emit(True)
            return
        values.apply(message)
        if message[0] != "pairs":
            self.values_changed.emit(False)

    def _on_state_method(self, _method) -> None:
        if not self.model.applying_table:
            self.request_values()

    # -- which modality drives the map ----------------------------------------------------------
    def request_drivers(self, delay_s: float = 0.0) -> None:
        ws = self.model.workspace
        if ws is None:
            return
        self.model.jobs.submit("map-drivers", modality_shares, ws.table, self.model.state.weight_map,
                               on_result=self._on_drivers,
                               on_error=lambda err: self.model._report_error("map drivers", err),
                               delay_s=delay_s, label="Measuring what drives the map",
                               **figures_lane("map-drivers"))

    def _on_drivers(self, shares) -> None:
        self.drivers = shares
        self.drivers_ready.emit(shares)

    def _on_state_weights(self, _weights) -> None:
        if self.model.workspace is not None and not self.model.applying_table:
            self.request_drivers(delay_s=DRIVERS_DELAY_S)
