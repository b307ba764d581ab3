"""Turn the report's data into one self-contained HTML file.

The page is ``templates/report.html`` with the stylesheet, the script and the data inlined
(package data, so a wheel carries them). The data travels as JSON in a
``<script type="application/json">`` element with every ``<`` escaped, so no caption can close
the element early. A Content-Security-Policy forbids every network request: the file shows the
same thing offline, from a mail attachment or a USB stick.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path

from mmviewer.core.store.atomic import write_bytes_atomic

_SLOT = re.compile(r"\{\{(\w+)\}\}")


def template(name: str) -> str:
    """The text of one template file (``report.html``, ``report.css``, ``report.js``)."""
    return resources.files("mmviewer.core.report").joinpath("templates", name).read_text("utf-8")


def data_json(data: dict) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no line separators)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text.replace("<", "\\u003c").replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029"))


def render_html(data: dict) -> str:
    """The whole page for ``data`` (what :func:`~mmviewer.core.report.gather.report_job`
    returns)."""
    header = data.get("header", {})
    values = {
        "title": html.escape(f"{header.get('title', 'dataset')} — mmviewer report"),
        "version": html.escape(str(header.get("version", ""))),
        "style": template("report.css"),
        "script": template("report.js"),
        "data": data_json(data),
    }
    # One pass: text inserted for one slot is never scanned for another.
    return _SLOT.sub(lambda m: values.get(m.group(1), m.group(0)), template("report.html"))


def write_report(data: dict, path: str | Path) -> int:
    """Write the page to ``path`` atomically; returns its size in bytes.

    Raises OSError (a :class:`~mmviewer.core.store.atomic.StoreWriteError`) naming the file
    when it cannot be written."""
    blob = render_html(data).encode("utf-8")
    write_bytes_atomic(Path(path), blob)
    return len(blob)
