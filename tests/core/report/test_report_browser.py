"""The HTML report opened in a real headless Chromium: it renders, the hover card, pan, zoom and
the legend work, and it asks the network for nothing. Slow (a browser start); skipped when
Chromium is not installed (.ci/run installs Debian's)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mmviewer.core.report import ReportInput, ReportOptions, report_job, write_report
from mmviewer.core.runtime.generators import run_to_end
from tests.browser import Browser, chromium_path
from tests.planted import media_dataset, planted_table

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed")]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    n = 30
    table = planted_table(n)
    centres = np.array([[0, 0], [6, 0], [3, 5]], np.float32)
    positions = centres[np.arange(n) % 3] + np.random.default_rng(2).standard_normal((n, 2))
    inp = ReportInput(table, positions, media_dataset(tmp / "data", n), title="planted",
                      layout_kind="umap", weights={"image": 1.0, "text": 1.0, "audio": 1.0},
                      label_column="label",
                      suspects=[{"id": "item04", "score": 0.9, "modality": "audio", "pairs": {}}])
    data = run_to_end(report_job(inp, ReportOptions(sample_items=3)))
    path = tmp / "report.html"
    write_report(data, path)
    return path, data


@pytest.fixture(scope="module")
def page(report):
    with Browser(1400, 1000) as browser:
        browser.open(report[0], "window.mmReport && window.mmReport.ready")
        yield browser


def test_it_renders_every_section_without_errors_or_requests(page, report):
    _, data = report
    assert page.errors() == []
    assert page.eval("window.mmReport.nPoints") == 30
    assert page.eval("document.querySelectorAll('#metrics-table tr').length") == 1 + len(data["metrics"]["pairs"])
    assert page.eval("document.querySelectorAll('#chart svg rect').length") > 6 * 3
    assert page.eval("document.querySelectorAll('.sample').length") == 3
    assert page.eval("document.querySelectorAll('.match.partner').length") >= 3
    assert page.eval("!document.getElementById('suspects-section').hidden")
    assert page.eval("document.querySelectorAll('#legend .entry').length") == 3  # red/green/blue
    painted = page.eval("""(() => { const c = document.getElementById('map');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) n++; return n; })()""")
    assert painted > 2000  # the map is drawn (thumbnails at this zoom)
    assert page.eval("window.mmReport.drawnThumbs()") == 30
    urls = page.requested_urls()
    assert all(u.startswith(("file:", "data:")) for u in urls), urls
    if os.environ.get("MMVIEWER_SHOTS"):
        page.screenshot(Path(os.environ["MMVIEWER_SHOTS"]) / "report_page.png", full_page=True)


def test_hovering_a_point_shows_its_card(page, report):
    _, data = report
    i = data["points"]["ids"].index("item07")
    page.call("Page.bringToFront")
    x, y = page.eval(f"window.mmReport.screenOf({i})")
    page.mouse("mouseMoved", x + 60, y + 60)
    page.mouse("mouseMoved", x, y)
    page.frame()
    assert page.eval("window.mmReport.hovered()") == "item07"
    text = page.eval("window.mmReport.cardText()")
    assert "item07" in text and "a green thing number 7" in text and "label: green" in text
    assert page.eval("document.querySelector('#card img').naturalWidth") > 0
    page.mouse("mouseMoved", 5, 5)  # off the map: the card goes
    page.frame()
    assert page.eval("window.mmReport.cardText()") == ""


def test_drag_pans_and_the_wheel_zooms(page):
    page.eval("window.mmReport.fit()")
    x0, y0 = page.eval("window.mmReport.screenOf(0)")
    x1, y1 = page.eval("window.mmReport.screenOf(1)")
    page.mouse("mousePressed", 300, 400, button="left", clickCount=1)
    page.mouse("mouseMoved", 340, 380, button="left", buttons=1)
    page.mouse("mouseReleased", 340, 380, button="left", clickCount=1)
    page.frame()
    assert page.eval("window.mmReport.screenOf(0)") == pytest.approx([x0 + 40, y0 - 20], abs=0.5)
    spread = np.hypot(x1 - x0, y1 - y0)
    page.mouse("mouseWheel", 300, 400, deltaX=0, deltaY=-400)
    page.frame()
    (a, b), (c, d) = page.eval("window.mmReport.screenOf(0)"), page.eval("window.mmReport.screenOf(1)")
    assert np.hypot(c - a, d - b) > 1.5 * spread


def test_a_legend_click_picks_out_its_points(page):
    page.eval("window.mmReport.fit()")
    page.frame()
    x, y = page.eval("""(() => { const r = document.querySelector('#legend .entry').getBoundingClientRect();
        return [r.left + 10, r.top + r.height / 2]; })()""")
    page.mouse("mousePressed", x, y, button="left", clickCount=1)
    page.mouse("mouseReleased", x, y, button="left", clickCount=1)
    page.frame()
    assert page.eval("document.querySelectorAll('#legend .entry.off').length") == 2
