"""A strip of the current item's matches as big tiles, for presenting.

``QtMatchStrip(state, model, thumbnails)`` shows one list of the current item: its fused similar
items or a cross-modal list (``text → image``: the images its caption matches best). Image
targets are thumbnails, text targets their caption, audio targets their file; the item's own
media (the true partner) is framed in green with its rank. It draws what the model already
computes for the Matches panel (``similar_ready``, ``matches_ready``): no job of its own but
thumbnail decoding. Clicking a tile makes that item current.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mmviewer.core.match.lists import SIMILAR, cross_pairs, list_name

TILES = 8
GOOD = "#2ca02c"


class _Tile(QFrame):
    clicked = Signal(int)

    def __init__(self, row: int, rank: int, partner: bool, side: int, parent=None):
        super().__init__(parent)
        self.row = row
        self.setObjectName("tile")
        colour = GOOD if partner else "rgba(128,128,128,90)"
        self.setStyleSheet(f"#tile {{ border: {4 if partner else 1}px solid {colour}; "
                           "border-radius: 6px; }")
        self.setFixedSize(side, side + side // 4)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.body = QLabel(self)
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setFixedSize(side - 12, side - 12)
        self.caption = QLabel(f"#{rank}" + ("  ✓ its own" if partner else ""), self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if partner:
            self.caption.setStyleSheet(f"color: {GOOD}; font-weight: bold;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 2)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.caption)

    def set_image(self, image) -> None:
        pix = QPixmap.fromImage(image)
        self.body.setPixmap(pix.scaled(self.body.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation))

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.row)
        super().mousePressEvent(event)


class QtMatchStrip(QWidget):
    """The current item's matches as tiles; see the module docstring."""

    drawn = Signal(str)  # the list name drawn ("similar", "text→image", ...)

    def __init__(self, state, model, thumbnails, parent=None):
        super().__init__(parent)
        self.state, self.model, self.thumbnails = state, model, thumbnails
        self.similar = None
        self.matches = None
        self.tiles: list[_Tile] = []
        self.side = 150
        self.choice = QComboBox()
        self.choice.setToolTip("Which list of the current item the strip shows")
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.title = QLabel()
        self.title.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.choice)
        head.addWidget(self.title, 1)
        self.row_box = QWidget()
        self.row_layout = QHBoxLayout(self.row_box)
        self.row_layout.setContentsMargins(0, 0, 0, 0)
        self.row_layout.setAlignment(Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.row_box)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(scroll, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.choice.currentIndexChanged.connect(self._on_choice_changed)
        state.events.current.connect(self._on_state_current)
        state.events.weights.connect(self._on_state_weights)
        model.table_ready.connect(self._on_model_table_ready)
        model.similar_ready.connect(self._on_model_similar_ready)
        model.matches_ready.connect(self._on_model_matches_ready)
        thumbnails.ready.connect(self._on_thumbnails_ready)
        if model.workspace is not None:
            self._on_model_table_ready()

    @property
    def shown(self) -> str:
        return self.choice.currentData() or SIMILAR

    def set_tile_size(self, side: int) -> None:
        self.side = max(64, int(side))
        tiles = self.side + self.side // 4 + 4
        self.row_box.setMinimumHeight(tiles)
        self.setFixedHeight(tiles + self.choice.sizeHint().height() + 16)  # never squeezed
        self._draw()

    def show_list(self, name: str) -> None:
        i = self.choice.findData(name)
        if i < 0:
            raise KeyError(f"no list {name!r}")
        self.choice.setCurrentIndex(i)

    # -- the model ----------------------------------------------------------------------------
    def _on_model_table_ready(self) -> None:
        mods = list(self.model.workspace.table.modalities)
        blocked = self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItem("Similar items", SIMILAR)
        for q, t in cross_pairs(mods):
            self.choice.addItem(f"{q} → {t}", list_name(q, t))
        preferred = next((list_name(q, "image") for q in ("text", "audio")
                          if q in mods and "image" in mods), SIMILAR)
        self.choice.setCurrentIndex(max(0, self.choice.findData(preferred)))
        self.choice.blockSignals(blocked)
        self.similar = self.matches = None
        self._draw()

    def _on_state_current(self, _row) -> None:
        self.similar = self.matches = None
        self._draw()

    def _on_state_weights(self, _weights) -> None:
        if self.shown == SIMILAR:
            self._draw()

    def _on_model_similar_ready(self, similar, _reason) -> None:
        self.similar = similar
        if self.shown == SIMILAR:
            self._draw()

    def _on_model_matches_ready(self, matches, _reason) -> None:
        self.matches = matches
        if self.shown != SIMILAR:
            self._draw()

    def _on_choice_changed(self, _index) -> None:
        self._draw()

    def _on_thumbnails_ready(self, row: int) -> None:
        for tile in self.tiles:
            if tile.row == row:
                image = self.thumbnails.get(row)
                if image is not None:
                    tile.set_image(image)

    # -- drawing ------------------------------------------------------------------------------
    def _current_list(self):
        row = self.state.current
        if self.shown == SIMILAR:
            if self.similar is None or self.similar.row != row:
                return None, "finding similar items…"
            found = self.similar.matches(self.state.weight_map, TILES)
            return found, "most similar items (fused)"
        if self.matches is None or self.matches.row != row:
            return None, "matching…"
        q, t = self.shown.split("→")
        found = self.matches.cross.get((q, t))
        if found is None:
            return None, f"no {q} → {t} list"
        rank = f", its own {t} ranks #{found.partner_rank}" if found.partner_rank else ""
        things = {"image": "images", "text": "texts", "audio": "audio clips"}.get(t, t)
        return found, f"{things} that best match its {q} ({found.method}{rank})"

    def _draw(self) -> None:
        for tile in self.tiles:
            self.row_layout.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        if self.model.workspace is None or self.state.current < 0:
            self.title.setText("Choose an item to see its matches.")
            return
        found, text = self._current_list()
        self.title.setText(text if found is None or len(found.rows) else (found.note or text))
        if found is None:
            return
        target = None if self.shown == SIMILAR else self.shown.split("→")[1]
        for rank, row in enumerate(found.rows[:TILES], start=1):
            row = int(row)
            partner = target is not None and found.is_partner(rank - 1)
            tile = _Tile(row, rank, partner, self.side, self.row_box)
            name = str(self.model.workspace.table.ids[row])
            tile.setToolTip(f"#{rank}: {name}")
            if not partner:  # the partner's caption says "its own" instead
                tile.caption.setText(tile.caption.fontMetrics().elidedText(
                    f"#{rank} {name}", Qt.TextElideMode.ElideRight, self.side - 8))
            tile.clicked.connect(self._on_tile_clicked)
            self._fill(tile, row, target)
            self.row_layout.addWidget(tile)
            self.tiles.append(tile)
        self.drawn.emit(self.shown)

    def _fill(self, tile: _Tile, row: int, target: str | None) -> None:
        item = self.model.item(row)
        media = item.media if item is not None else {}
        if target in (None, "image") and "image" in media:
            image = self.thumbnails.get(row)
            if image is not None:
                tile.set_image(image)
            else:
                tile.body.setText("…")
            return
        if target == "audio" and "audio" in media:
            tile.body.setText(f"♪\n{media['audio'].label}")
            return
        caption = self.thumbnails.caption(row)
        tile.body.setText(caption or str(self.model.workspace.table.ids[row]))

    def _on_tile_clicked(self, row: int) -> None:
        self.state.current = row

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(8 * self.side, self.side + self.side // 4 + 40)
