"""The shareable HTML report: one self-contained file (no network, no server) that shows the
map (pan, zoom, hover cards with thumbnails, legend), the metrics with their chance levels and
the recall chart, the top suspects when known, and a sample of items with their cross-modal
matches.

:func:`~mmviewer.core.report.gather.report_job` gathers the data (a cancellable generator job:
the CLI drains it with a progress bar, the app runs it on its job runner) and
:func:`~mmviewer.core.report.page.write_report` turns it into the page, from the templates in
``templates/`` (package data).
"""

from mmviewer.core.report.gather import ReportInput, ReportOptions, report_job
from mmviewer.core.report.page import render_html, write_report

__all__ = ["ReportInput", "ReportOptions", "render_html", "report_job", "write_report"]
