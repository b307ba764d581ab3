"""Manifest layouts: data.csv and Hugging Face metadata.csv / metadata.jsonl."""

from __future__ import annotations

import json

from mmviewer.core.data.open import open_dataset


def skipped(ds):
    return {p.path: p.reason for p in ds.report.skipped}


def test_data_csv_with_inline_text_paths_and_metadata(tmp_path, make):
    make.image(tmp_path / "img" / "a.png")
    make.tone(tmp_path / "snd" / "a.wav")
    make.image(tmp_path / "img" / "b.png")
    (tmp_path / "data.csv").write_text(
        "id,image,text,audio,label\n"
        "first,img/a.png,a red square,snd/a.wav,shapes\n"
        ",img/b.png,\"another, with comma\",,shapes\n"
        "third,,just text,,words\n"
    )
    ds = open_dataset(tmp_path)
    assert ds.layout == "manifest"
    by_id = {it.id: it for it in ds.items}
    assert set(by_id) == {"first", "img/b", "third"}
    assert set(by_id["first"].media) == {"image", "text", "audio"}
    assert by_id["img/b"].media["text"].text == "another, with comma"
    assert set(by_id["third"].media) == {"text"}
    assert by_id["first"].metadata == {"label": "shapes"}
    assert ds.metadata_columns == ["label"]
    assert ds.report.skipped == []


def test_manifest_paths_that_escape_are_refused(tmp_path, make):
    root = tmp_path / "root"
    make.image(tmp_path / "outside.png")
    make.image(root / "ok.png")
    (root / "data.csv").write_text(
        "image,text\n"
        "../outside.png,escape\n"
        f"{tmp_path / 'outside.png'},absolute\n"
        "ok.png,fine\n"
        "missing.png,\n"
        "C:\\\\Windows\\\\x.png,\n"
    )
    ds = open_dataset(root)
    # Escaping rows keep their inline text but never the outside image.
    images = [it.media["image"].path for it in ds.items if "image" in it.media]
    assert [p.name for p in images] == ["ok.png"]
    r = skipped(ds)
    assert any("leaves the dataset folder" in v for k, v in r.items() if "../outside.png" in k)
    assert any("absolute" in v for k, v in r.items() if "outside.png" in k and "../" not in k)
    assert any(v == "file not found" for k, v in r.items() if "missing.png" in k)
    assert any("absolute" in v for k, v in r.items() if "Windows" in k)


def test_duplicate_ids_and_empty_rows_reported(tmp_path):
    (tmp_path / "data.csv").write_text("id,text\nx,one\nx,two\ny,\n")
    ds = open_dataset(tmp_path)
    assert [it.id for it in ds.items] == ["x"]
    r = skipped(ds)
    assert "duplicate id" in r["data.csv:3"]
    assert "no usable" in r["data.csv:4"]


def test_latin1_manifest_is_read_and_noted(tmp_path):
    (tmp_path / "data.csv").write_bytes("id,text\né,café crème brûlée\n".encode("latin-1"))
    ds = open_dataset(tmp_path)
    assert ds.items[0].media["text"].text == "café crème brûlée"
    assert any("not UTF-8" in n.reason for n in ds.report.notes)


def test_hf_metadata_csv_file_name_columns(tmp_path, make):
    make.image(tmp_path / "train" / "0001.png")
    make.tone(tmp_path / "train" / "0001.wav")
    (tmp_path / "metadata.csv").write_text(
        "file_name,audio_file_name,caption,split\ntrain/0001.png,train/0001.wav,a picture,train\n"
    )
    ds = open_dataset(tmp_path)
    assert ds.layout == "hf-metadata"
    (it,) = ds.items
    assert set(it.media) == {"image", "audio", "text"}
    assert it.metadata == {"split": "train"}


def test_hf_metadata_jsonl_with_a_bad_line(tmp_path, make):
    make.image(tmp_path / "a.png")
    lines = [json.dumps({"file_name": "a.png", "text": "an image", "label": 3}), "{not json", "[1, 2]"]
    (tmp_path / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    ds = open_dataset(tmp_path)
    assert len(ds.items) == 1 and ds.items[0].metadata == {"label": "3"}
    r = skipped(ds)
    assert "not valid JSON" in r["metadata.jsonl:2"]
    assert "not a JSON object" in r["metadata.jsonl:3"]


def test_manifest_file_can_be_opened_directly(tmp_path):
    (tmp_path / "pairs.csv").write_text("text\nhello\n")
    ds = open_dataset(tmp_path / "pairs.csv")
    assert [it.id for it in ds.items] == ["row2"]
