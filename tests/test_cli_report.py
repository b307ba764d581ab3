"""`mmviewer report`: one self-contained HTML file from a folder, with clear errors."""

from __future__ import annotations

import json

from mmviewer.cli import main
from tests.test_cli import dataset


def test_report_writes_one_html_file_and_a_json_summary(tmp_path, make, capsys):
    folder = dataset(tmp_path / "d", make)
    out = tmp_path / "share" / "report.html"
    code = main(["report", str(folder), "-o", str(out), "--offline", "--layout", "pca",
                 "--items", "3", "--json", "--title", "Fruit and sea"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["path"] == str(out) and summary["bytes"] == out.stat().st_size
    assert summary["points"] == 24 and summary["thumbnails"] == 24 and summary["items"] == 3
    assert summary["layout"] == "pca" and isinstance(summary["suspects"], int)  # the suspects hook
    page = out.read_text(encoding="utf-8")
    assert "<title>Fruit and sea — mmviewer report</title>" in page
    data = json.loads(page.split('id="mm-data">', 1)[1].split("</script>", 1)[0])
    assert data["header"]["modalities"] == {"image": 24, "text": 24, "audio": 24}
    assert data["metrics"]["pairs"] and data["samples"][0]["lists"]
    # thumbnails went into the dataset's store: a second report decodes nothing new
    assert list((folder / ".mmviewer" / "thumbnails" / "64px").glob("pack-*.bin"))


def test_report_errors_name_the_problem(tmp_path, make, capsys):
    folder = dataset(tmp_path / "d", make, n=8)
    code = main(["report", str(folder), "-o", str(tmp_path / "r.html"), "--offline",
                 "--layout", "pca", "--weights", "image=1,smell=2"])
    assert code == 1 and "--weights names smell, not in this dataset" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["report", str(folder), "-o", str(blocker / "r.html"), "--offline", "--layout", "pca"])
    err = capsys.readouterr().err
    assert code == 1 and f"could not write {blocker / 'r.html'}" in err
    bad = tmp_path / "s.json"
    bad.write_text("[1, 2]")
    code = main(["report", str(folder), "-o", str(tmp_path / "r.html"), "--offline",
                 "--suspects", str(bad)])
    assert code == 1 and f"{bad}: entry 1 has no 'id'" in capsys.readouterr().err
