"""Export the map plot to PNG or SVG through pyqtgraph's exporters, with a legend.

The on-screen legend is a floating widget, outside the scene, so for the file a pyqtgraph
``LegendItem`` is added to the plot for the duration of the export and removed afterwards.

pyqtgraph 0.14's SVG exporter cannot parse the closed paths ("... Z") that Qt 6's SVG generator
writes for every plot (pyqtgraph issue #3495: ``ValueError: not enough values to unpack``), so
during our export its coordinate fixer is wrapped to spell each "Z" as a line back to the
subpath's start first.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pyqtgraph as pg

LEGEND_MAX = 16


def _legend(plot_item, colouring) -> pg.LegendItem | None:
    if colouring is None or not colouring.labels:
        return None
    legend = pg.LegendItem(offset=(-10, 10), labelTextColor=(40, 40, 40),
                           brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen(0, 0, 0, 60))
    legend.setParentItem(plot_item)
    for k, (label, rgb) in enumerate(zip(colouring.labels, colouring.colours, strict=True)):
        if k >= LEGEND_MAX:
            break
        c = tuple(int(round(255 * v)) for v in rgb[:3])
        sample = pg.ScatterPlotItem(symbol="o", size=10, brush=pg.mkBrush(*c),
                                    pen=pg.mkPen([int(v * 0.62) for v in c]))
        legend.addItem(sample, f"{label} ({int(colouring.counts[k]):,})")
    return legend


def _explicit_closes(d: str) -> str:
    """Rewrite "Z" path commands as "L" to the subpath's start (same picture, parseable)."""
    out, start = [], None
    for token in d.split():
        if token in ("Z", "z"):
            if start is not None:
                out.append(f"L{start}")
            continue
        if token[0] in "Mm":
            start = token[1:]
        out.append(token)
    return " ".join(out)


@contextlib.contextmanager
def _svg_closed_paths_fix():
    from pyqtgraph import exporters  # noqa: F401 (loads the SVGExporter module)

    module = sys.modules["pyqtgraph.exporters.SVGExporter"]
    original = module.correctCoordinates

    def correct(node, defs, item, options):
        for path in node.getElementsByTagName("path"):
            d = path.getAttribute("d")
            if "Z" in d or "z" in d:
                path.setAttribute("d", _explicit_closes(d))
        return original(node, defs, item, options)

    module.correctCoordinates = correct
    try:
        yield
    finally:
        module.correctCoordinates = original


def export_plot(plot_item, path: Path, colouring=None, width: int | None = None) -> Path:
    """Write ``plot_item`` to ``path`` (``.svg``: SVG; anything else: a raster image by suffix).

    Raises OSError when the file could not be written (or came out empty).
    """
    from pyqtgraph import exporters

    path = Path(path)
    legend = _legend(plot_item, colouring)
    try:
        if path.suffix.lower() == ".svg":
            with _svg_closed_paths_fix():
                exporters.SVGExporter(plot_item).export(str(path))
        else:
            exporter = exporters.ImageExporter(plot_item)
            if width:
                exporter.parameters()["width"] = int(width)
            exporter.export(str(path))
    finally:
        if legend is not None and legend.scene() is not None:
            legend.scene().removeItem(legend)
    if not path.exists() or path.stat().st_size == 0:
        raise OSError(f"could not write {path}")
    return path
