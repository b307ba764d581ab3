"""`mmviewer suspects`: planted swaps in a precomputed table come first, as JSON or a table;
`mmviewer report` then carries a Suspects section."""

from __future__ import annotations

import json

import numpy as np

from mmviewer.cli import main
from tests.core.evaluate.test_suspects import SWAPPED, swapped_table
from tests.test_cli import dataset


def write_table(path, modality="audio"):
    t = swapped_table(modality)
    np.savez(path, ids=np.array([str(i) for i in t.ids]), label=np.array([str(x) for x in t.metadata["label"]]),
             **{m: t.vectors[m] for m in t.vectors}, **{f"{m}_present": t.present[m] for m in t.present})
    return t


def test_suspects_json_lists_the_planted_swaps_first(tmp_path, capsys):
    t = write_table(tmp_path / "t.npz")
    code = main(["suspects", str(tmp_path / "t.npz"), "--json", "--k", "12", "--folds", "4"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(data) == {"method", "n_items", "n_fit", "folds", "threshold", "n_flagged", "suspects"}
    assert data["n_items"] == t.n_items and data["folds"] == 4 and len(data["suspects"]) == 12
    top = data["suspects"][: len(SWAPPED)]
    assert {s["id"] for s in top} == {str(t.ids[r]) for r in SWAPPED}
    assert {s["modality"] for s in top} == {"audio"}
    assert set(top[0]["pairs"]) == {"image:text", "audio:image", "audio:text"}
    assert data["n_flagged"] >= len(SWAPPED) and all(s["score"] > data["threshold"] for s in top)
    scores = [s["score"] for s in data["suspects"]]
    assert scores == sorted(scores, reverse=True)


def test_suspects_one_pair_and_a_method(tmp_path, capsys):
    t = write_table(tmp_path / "t.npz", "text")
    code = main(["suspects", str(tmp_path / "t.npz"), "--json", "--pair", "text:image", "--method", "ridge"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["method"] == "ridge"
    assert {s["id"] for s in data["suspects"][: len(SWAPPED)]} == {str(t.ids[r]) for r in SWAPPED}
    assert set(data["suspects"][0]["pairs"]) == {"image:text"} and data["suspects"][0]["modality"] is None


def test_suspects_table_for_people(tmp_path, capsys):
    t = write_table(tmp_path / "t.npz")
    assert main(["suspects", str(tmp_path / "t.npz"), "--k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "id", "score", "odd", "audio:image", "audio:text", "image:text", "rather"]
    assert len(lines) == 5 and lines[1].startswith("1*") and " audio " in lines[1]
    assert lines[1].split()[1] in {str(t.ids[r]) for r in SWAPPED}
    assert "above the threshold" in lines[-1]


def test_suspects_errors_say_why(tmp_path, capsys):
    write_table(tmp_path / "t.npz")
    assert main(["suspects", str(tmp_path / "t.npz"), "--pair", "audio"]) == 1
    assert "--pair must look like audio:text (got audio)" in capsys.readouterr().err
    assert main(["suspects", str(tmp_path / "t.npz"), "--pair", "audio:smell"]) == 1
    assert "'smell' is not in this dataset" in capsys.readouterr().err
    assert main(["suspects", str(tmp_path / "t.npz"), "--pair", "audio:image", "--method", "none"]) == 1
    assert "do not share a space" in capsys.readouterr().err


def test_report_includes_the_suspects_section(tmp_path, capsys):
    write_table(tmp_path / "t.npz")
    out = tmp_path / "r.html"
    code = main(["report", str(tmp_path / "t.npz"), "-o", str(out), "--layout", "pca", "--items", "2", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["suspects"] >= len(SWAPPED)
    page = out.read_text(encoding="utf-8")
    data = json.loads(page.split('id="mm-data">', 1)[1].split("</script>", 1)[0])
    assert data["suspects"][0]["modality"] == "audio"


def test_suspects_on_a_media_folder(tmp_path, make, capsys):
    folder = dataset(tmp_path / "d", make)
    code = main(["suspects", str(folder), "--offline", "--json", "--k", "5", "--folds", "3"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["n_items"] == 24 and len(data["suspects"]) == 5
