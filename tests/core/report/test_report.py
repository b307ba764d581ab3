"""The HTML report's data and page, without a browser (see test_report_browser.py for one)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from mmviewer.core.data.model import MediaRef
from mmviewer.core.report import ReportInput, ReportOptions, render_html, report_job, write_report
from mmviewer.core.report.gather import choose_points
from mmviewer.core.report.suspects import read_suspects
from mmviewer.core.runtime.cancel import Cancelled, CancelToken, running_with
from mmviewer.core.runtime.generators import run_to_end
from tests.planted import media_dataset, planted_table


def report_input(tmp_path, n=30, **kw):
    table = planted_table(n)
    dataset = media_dataset(tmp_path / "data", n)
    positions = np.random.default_rng(1).standard_normal((n, 2)).astype(np.float32)
    return ReportInput(table, positions, dataset, title="planted", source=str(tmp_path / "data"),
                       layout_kind="umap", weights={"image": 1.0, "text": 1.0, "audio": 1.0},
                       method="auto", label_column="label", **kw)


def test_the_report_holds_map_colourings_metrics_and_matches(tmp_path):
    data = run_to_end(report_job(report_input(tmp_path), ReportOptions(sample_items=4)))
    assert data["header"]["n_items"] == 30 and data["header"]["sampling"] == []
    m = data["map"]
    xy = np.frombuffer(base64.b64decode(m["xy"]), "<u2").reshape(-1, 2)
    assert m["n_points"] == 30 and xy.shape == (30, 2) and xy.min() == 0 and xy.max() == 65535
    titles = [c["title"] for c in data["colourings"]]
    assert titles[0] == "label"  # the label column is shown first
    assert "Modalities present" in titles and "Match image → text" in titles
    label = data["colourings"][0]
    index = np.frombuffer(base64.b64decode(label["index"]), np.uint8)
    assert [label["labels"][k] for k in index[:3]] == ["red", "green", "blue"]
    pairs = {(p["query"], p["target"]) for p in data["metrics"]["pairs"]}
    assert ("image", "text") in pairs and ("audio", "image") in pairs
    assert data["metrics"]["pairs"][0]["chance_recall@1"] > 0
    assert len(data["samples"]) == 4
    sample = data["samples"][0]
    assert sample["thumb"] >= 0 and sample["caption"].startswith("a ")
    to_image = next(lst for lst in sample["lists"] if (lst["query"], lst["target"]) == ("text", "image"))
    assert len(to_image["matches"]) == 5 and all(mt["thumb"] >= 0 for mt in to_image["matches"])
    # image and text share a space in the planted table: an item's own image ranks first
    assert to_image["partner_rank"] == 1 and to_image["matches"][0]["partner"]
    assert all(t.startswith("data:image/webp;base64,") for t in data["thumbs"])
    assert data["points"]["captions"][3] == "a red thing number 3"
    assert data["suspects"] is None
    json.dumps(data, allow_nan=False)  # the page embeds it as strict JSON


def test_big_tables_are_sampled_and_the_page_says_so(tmp_path):
    inp = report_input(tmp_path, featured=(29, 28))
    data = run_to_end(report_job(inp, ReportOptions(max_points=20, max_thumbs=3, sample_items=1,
                                                    matches_per_list=2)))
    ids = data["points"]["ids"]
    assert len(ids) == 20 and {"item29", "item28"} <= set(ids)  # featured items stay on the map
    assert [s["id"] for s in data["samples"]] == ["item29", "item28"]
    assert "20 of 30 items" in data["header"]["sampling"][0]
    on_map = sum(t >= 0 for t in data["points"]["thumb"])
    assert f"Thumbnails are embedded for {on_map} of the 20 map points" in data["header"]["sampling"][1]
    assert on_map < 20


def test_the_thumbnails_keep_to_their_byte_budget(tmp_path):
    data = run_to_end(report_job(report_input(tmp_path), ReportOptions(sample_items=1,
                                                                       matches_per_list=2, thumb_bytes=1)))
    first = {data["samples"][0]["id"]} | {m["id"] for lst in data["samples"][0]["lists"]
                                          if lst["target"] == "image" for m in lst["matches"]}
    assert len(data["thumbs"]) == len(first)  # the featured ones, then the budget stops it
    assert "Thumbnails are embedded for" in data["header"]["sampling"][0]


def test_choose_points_keeps_the_featured_rows_and_is_seeded():
    a = choose_points(1000, 50, [7, 999], seed=3)
    assert len(a) == 50 and {7, 999} <= set(a.tolist()) and np.all(np.diff(a) > 0)
    assert np.array_equal(a, choose_points(1000, 50, [7, 999], seed=3))
    assert np.array_equal(choose_points(40, 50, [], 0), np.arange(40))


def test_a_cancelled_report_stops(tmp_path):
    token = CancelToken()
    gen = report_job(report_input(tmp_path))
    with running_with(token), pytest.raises(Cancelled):
        next(gen)
        token.cancel()
        run_to_end(gen)


def test_bad_input_is_a_clear_error(tmp_path):
    inp = report_input(tmp_path)
    inp.positions = inp.positions[:5]
    with pytest.raises(ValueError, match=r"map positions have shape \(5, 2\), expected \(30, 2\)"):
        run_to_end(report_job(inp))
    with pytest.raises(ValueError, match="max_points"):
        ReportOptions(max_points=0)


def test_the_page_is_self_contained_and_safe_against_captions(tmp_path):
    inp = report_input(tmp_path, n=12)
    inp.dataset.items[0].media["text"] = MediaRef("text", text="</script><script>alert(1)</script>")
    data = run_to_end(report_job(inp, ReportOptions(sample_items=2)))
    page = render_html(data)
    assert page.count("</script>") == 2  # the data's and the code's own, no caption's
    assert "default-src 'none'" in page  # the browser may fetch nothing
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "{{" not in page.replace("{{title}}", "")
    payload = page.split('id="mm-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(payload)["points"]["captions"][0].startswith("</script>")
    size = write_report(data, tmp_path / "out" / "r.html")
    assert size == (tmp_path / "out" / "r.html").stat().st_size


def test_suspects_come_from_the_suspects_commands_json(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"method": "cca", "suspects": [
        {"id": "item03", "score": 0.91, "modality": "audio", "pairs": {"audio:image": 0.1}},
        {"id": "nobody", "score": 0.5}]}))
    suspects = read_suspects(path)
    data = run_to_end(report_job(report_input(tmp_path, suspects=suspects)))
    assert [s["id"] for s in data["suspects"]] == ["item03"]  # unknown ids are left out
    assert data["suspects"][0]["modality"] == "audio" and data["suspects"][0]["thumb"] >= 0
    path.write_text('{"suspects": [{"score": 1}]}')
    with pytest.raises(ValueError, match=r"s\.json: entry 1 has no 'id'"):
        read_suspects(path)


def test_thumbnails_are_cached_in_the_store(tmp_path):
    inp = report_input(tmp_path, store_root=tmp_path / "store")
    first = run_to_end(report_job(inp, ReportOptions(sample_items=2)))
    packs = list((tmp_path / "store" / "thumbnails" / "64px").glob("pack-*.bin"))
    assert packs
    second = run_to_end(report_job(inp, ReportOptions(sample_items=2)))
    assert second["thumbs"] == first["thumbs"]
    assert list((tmp_path / "store" / "thumbnails" / "64px").glob("pack-*.bin")) == packs


def test_the_templates_are_package_data_so_a_wheel_carries_them():
    from pathlib import Path

    import mmviewer.core.report as report

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(report.__file__).parent
    config = tomllib.loads((root.parents[2] / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["mmviewer.core.report"]
    carried = {p for g in globs for p in root.glob(g)}
    assert set((root / "templates").iterdir()) <= carried
