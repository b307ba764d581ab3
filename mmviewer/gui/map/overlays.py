"""What the map draws over its points: the legend, the hover card, the current-item markers.

The legend and the hover card are plain widgets floating over the plot (children of the
PlotWidget), so they stay crisp, never enter the scene's bounds and cost nothing to move. The
markers are a few pyqtgraph items holding a handful of points each: the current item's ring, its
partners or top matches, and the links between them, updated without touching the point layer.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

from mmviewer.gui.map.renderer import _draw_symbol

MARGIN = 8
CARD_WIDTH = 260
LEGEND_WIDTH = 230
#: The legend takes at most this share of the plot's width (and its rows scroll beyond ~half
#: its height), so a small window still shows the map.
MAX_SHARE = 0.38
#: The narrowest the legend gets; a map less than this / 0.3 wide is small (see MapLegend.fit).
LEGEND_MIN_WIDTH = 170


def swatch(rgb, symbol: int = 0, size: int = 14) -> QIcon:
    """A legend icon: a filled symbol with a darker outline."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = QColor.fromRgbF(*[float(v) for v in rgb[:3]])
    p.setBrush(c)
    p.setPen(QPen(c.darker(160), 1.0))
    _draw_symbol(p, size / 2, size / 2, size / 2 - 2.5, symbol)
    p.end()
    return QIcon(pix)


def _frame_style(widget: QWidget) -> None:
    pal = widget.palette()
    bg, fg = pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorRole.WindowText)
    widget.setStyleSheet(
        f"#{widget.objectName()} {{ background: rgba({bg.red()},{bg.green()},{bg.blue()},215);"
        f" border: 1px solid rgba({fg.red()},{fg.green()},{fg.blue()},60); border-radius: 5px; }}"
        " QToolButton { padding: 0px 2px; border: none; text-align: left; }")


class ColourBar(QLabel):
    """A horizontal ramp of a continuous colouring with its low and high ends written under it."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setMinimumWidth(120)

    def set_ramp(self, colours, low: float, high: float, log: bool, width: int = 180) -> None:
        img = QImage(len(colours), 1, QImage.Format.Format_RGB32)
        for i, rgb in enumerate(colours):
            img.setPixelColor(i, 0, QColor.fromRgbF(*[float(v) for v in rgb[:3]]))
        self.setPixmap(QPixmap.fromImage(img.scaled(width, 12)))
        scale = " (log scale)" if log else ""
        self.setToolTip(f"From {_num(low)} (left) to {_num(high)} (right){scale}; grey: no value")


def _num(v: float) -> str:
    return "–" if v != v else f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


class MapLegend(QFrame):
    """Colour key in the plot's top-right corner; clicking an entry emits its index, clicking
    the title folds the key to its title. It never takes more than MAX_SHARE of the plot's
    width or height: long keys scroll."""

    entry_clicked = Signal(int)

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("mapLegend")
        _frame_style(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(1)
        self.title = QToolButton(self)
        self.title.setAutoRaise(True)
        self.title.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setToolTip("Click to fold or unfold the colour key")
        self.title.clicked.connect(self._on_title_clicked)
        self.body = QWidget(self)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(1)
        self.note = QLabel(self.body)
        self.note.setEnabled(False)  # greyed, smaller emphasis
        self.note.setWordWrap(True)
        self.bar = ColourBar(self.body)
        self.bar_ends = QLabel(self.body)
        self.bar_ends.setEnabled(False)
        self.rows_box = QWidget()
        self._rows = QVBoxLayout(self.rows_box)
        self._rows.setContentsMargins(0, 0, 0, 0)
        self._rows.setSpacing(0)
        self.scroll = QScrollArea(self.body)
        self.scroll.setWidget(self.rows_box)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setStyleSheet("QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }")
        self.extra = QLabel(self.body)
        self.extra.setEnabled(False)
        self.extra.setWordWrap(True)
        for w in (self.note, self.bar, self.bar_ends, self.scroll, self.extra):
            body.addWidget(w)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.buttons: list[QToolButton] = []
        self._title = ""
        self.user_folded: bool | None = None  # the user's choice, which outranks fit()

    def set_entries(self, title: str, labels, colours, counts=None, note: str = "",
                    bar=None) -> None:
        """``bar``: (low, high, log) of a continuous colouring whose first colours are its ramp
        (entries with an empty label are ramp steps, not listed)."""
        for b in self.buttons:
            self._rows.removeWidget(b)
            b.hide()
            b.deleteLater()
        self.buttons = []
        self._title = title
        self._show_title()
        self.note.setText(note)
        self.note.setVisible(bool(note))
        ramp = [rgb for label, rgb in zip(labels, colours, strict=True) if not label]
        self.bar.setVisible(bar is not None and bool(ramp))
        self.bar_ends.setVisible(bar is not None and bool(ramp))
        if bar is not None and ramp:
            low, high, log = bar
            self.bar.set_ramp(ramp, low, high, log)
            self.bar_ends.setText(f"{_num(low)}{' ' * 6}→{' ' * 6}{_num(high)}"
                                  + ("   (log)" if log else ""))
        for k, (label, rgb) in enumerate(zip(labels, colours, strict=True)):
            if not label or (counts is not None and counts[k] == 0):
                continue  # a ramp step; or e.g. "not yet computed" once everything is
            text = label if counts is None else f"{label}  ({int(counts[k]):,})"
            b = QToolButton(self.rows_box)
            b.setAutoRaise(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setIcon(swatch(rgb))
            b.setIconSize(QSize(14, 14))
            b.setText(text.replace("&", "&&"))  # a lone & would become a mnemonic underline
            b.setToolTip(f"Select the {label} points")
            b.clicked.connect(lambda _=False, k=k: self.entry_clicked.emit(k))
            self._rows.addWidget(b)
            b.show()  # children added to a visible widget are shown only later otherwise
            self.buttons.append(b)
        self.scroll.setVisible(bool(self.buttons))
        self.reposition()

    def set_extra(self, text: str) -> None:
        self.extra.setText(text)
        self.extra.setVisible(bool(text))
        self.reposition()

    def _show_title(self) -> None:
        arrow = "▸" if self.body.isHidden() else "▾"
        self.title.setText(f"{arrow} {self._title}".replace("&", "&&"))

    @property
    def folded(self) -> bool:
        return self.body.isHidden()

    def _fold(self, folded: bool) -> None:
        if folded != self.folded:
            self.body.setVisible(not folded)
            self._show_title()
            self.reposition()

    def _on_title_clicked(self) -> None:
        self.user_folded = not self.folded
        self._fold(self.user_folded)

    def unfolded_width(self) -> int:
        """The width the key takes unfolded (folded or not now), as :meth:`reposition` sizes it."""
        parent = self.parentWidget()
        cap = max(LEGEND_MIN_WIDTH, min(LEGEND_WIDTH, int(MAX_SHARE * parent.width())))
        m = self.layout().contentsMargins()
        content = max(self.title.sizeHint().width(), self.rows_box.sizeHint().width())
        return min(cap, content + m.left() + m.right())

    def fit(self, small_map: bool) -> None:
        """Fold to the title on a small map (the key would cover a third of it), unfold on a
        big one; what the user chose by clicking the title stays."""
        self._fold(small_map if self.user_folded is None else self.user_folded)

    def reposition(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        width = max(LEGEND_MIN_WIDTH, min(LEGEND_WIDTH, int(MAX_SHARE * parent.width())))
        if self.user_folded is False:  # asked for: its rows whole, even over a small map
            width = min(LEGEND_WIDTH, parent.width() - 2 * MARGIN)
        for label in (self.note, self.extra):
            label.setMaximumWidth(width - 16)
        self.rows_box.adjustSize()
        rows = self.rows_box.sizeHint()
        height = min(rows.height(), max(60, int(0.45 * parent.height())))
        scrolls = height < rows.height()
        bar = self.scroll.verticalScrollBar().sizeHint().width() if scrolls else 0
        self.scroll.setFixedHeight(height)
        self.scroll.setMinimumWidth(min(rows.width() + bar, width - 16))
        self.layout().activate()
        hint = self.sizeHint()
        self.resize(min(hint.width(), width), min(hint.height(), int(MAX_SHARE * parent.height())
                                                  + 80))
        self.move(parent.width() - self.width() - MARGIN, MARGIN)
        self.raise_()


class HoverCard(QFrame):
    """Thumbnail and caption of the point under the cursor, placed beside it."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("mapHoverCard")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        _frame_style(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.image = QLabel(self)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setFixedWidth(CARD_WIDTH - 12)
        layout.addWidget(self.image)
        layout.addWidget(self.text)
        self.row = -1
        self.hide()

    def show_row(self, row: int, html: str, image: QImage | None, at: QPoint) -> None:
        self.row = row
        self.text.setText(html)
        self.text.show()
        self.set_image(image)
        self._place(at)
        self.show()
        self.raise_()

    def set_image(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            self.image.clear()
            self.image.hide()
        else:
            self.image.setPixmap(QPixmap.fromImage(image))
            self.image.show()
        self.layout().activate()
        self.adjustSize()

    def _place(self, at: QPoint) -> None:
        self.adjustSize()
        parent = self.parentWidget()
        x, y = at.x() + 16, at.y() + 16
        if parent is not None:
            if x + self.width() > parent.width():
                x = at.x() - 16 - self.width()
            if y + self.height() > parent.height():
                y = at.y() - 16 - self.height()
            x, y = max(0, x), max(0, y)
        self.move(x, y)

    def clear(self) -> None:
        self.row = -1
        self.hide()


class MarkerItem(pg.ScatterPlotItem):
    """A few marker symbols that only show. pyqtgraph's ScatterPlotItem accepts a left click on
    its own points, so a point a person rested on (its hover ring drawn) or the current item or a
    partner (ringed) swallowed the click that should select it; markers pass clicks on."""

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph override)
        ev.ignore()


class Markers:
    """The current item's ring, its partners / top matches and the links between them."""

    def __init__(self, view_box, accent=(20, 20, 20)):
        self.halo = MarkerItem(size=24, symbol="o", pen=pg.mkPen("w", width=4),
                                       brush=None, pxMode=True)
        self.ring = MarkerItem(size=24, symbol="o", pen=pg.mkPen(accent, width=2),
                                       brush=None, pxMode=True)
        self.partners = MarkerItem(size=15, symbol="d", brush=None, pxMode=True,
                                           pen=pg.mkPen((230, 120, 0), width=2))
        self.links = pg.PlotCurveItem(pen=pg.mkPen((230, 120, 0), width=2), connect="pairs")
        self.hover = MarkerItem(size=16, symbol="o", pen=pg.mkPen(accent, width=1),
                                        brush=None, pxMode=True)
        for z, item in enumerate((self.links, self.partners, self.halo, self.ring, self.hover)):
            item.setZValue(10 + z)
            view_box.addItem(item, ignoreBounds=True)

    def set_current(self, rings: np.ndarray, partners: np.ndarray, links: np.ndarray) -> None:
        """``rings`` (n, 2), ``partners`` (m, 2) positions; ``links`` (k, 2, 2) segments."""
        for item in (self.halo, self.ring):
            item.setData(pos=np.asarray(rings, float).reshape(-1, 2))
        self.partners.setData(pos=np.asarray(partners, float).reshape(-1, 2))
        seg = np.asarray(links, float).reshape(-1, 2)
        self.links.setData(seg[:, 0], seg[:, 1], connect="pairs")

    def set_hover(self, xy) -> None:
        self.hover.setData(pos=np.asarray(xy, float).reshape(-1, 2))

    def clear(self) -> None:
        self.set_current(np.empty((0, 2)), np.empty((0, 2)), np.empty((0, 2, 2)))
        self.set_hover(np.empty((0, 2)))
