"""Dataset scan: the by-stem layout, junk, symlinks, bad files."""

from __future__ import annotations

import os

import pytest

from mmviewer.core.data.open import open_dataset


def reasons(ds):
    return {p.path: p.reason for p in ds.report.skipped}


def test_stem_groups_modalities_case_insensitively_and_walks_subfolders(tmp_path, make):
    make.image(tmp_path / "cat.JPG", fmt="JPEG")
    make.text(tmp_path / "cat.txt", "a cat")
    make.tone(tmp_path / "cat.Wav", fmt="WAV")
    make.image(tmp_path / "sub" / "deep" / "dog.png")
    make.text(tmp_path / "sub" / "deep" / "dog.md", "a dog")
    make.tone(tmp_path / "only_audio.flac", fmt="FLAC")
    ds = open_dataset(tmp_path)
    assert ds.layout == "stem"
    by_id = {it.id: it for it in ds.items}
    assert set(by_id) == {"cat", "sub/deep/dog", "only_audio"}
    assert set(by_id["cat"].media) == {"image", "text", "audio"}
    assert set(by_id["sub/deep/dog"].media) == {"image", "text"}
    assert set(by_id["only_audio"].media) == {"audio"}
    assert by_id["cat"].media["image"].rel == "cat.JPG"
    assert ds.counts() == {"image": 2, "text": 2, "audio": 2}
    assert ds.report.skipped == []


def test_junk_is_ignored_quietly_and_unknown_files_are_reported(tmp_path, make):
    make.text(tmp_path / "a.txt", "hello")
    (tmp_path / ".DS_Store").write_bytes(b"\0\1")
    (tmp_path / "Thumbs.db").write_bytes(b"x")
    (tmp_path / "__MACOSX").mkdir()
    make.text(tmp_path / "__MACOSX" / "._a.txt", "junk")
    make.text(tmp_path / ".hidden" / "b.txt", "hidden")
    (tmp_path / "notes.xyz").write_text("?")
    (tmp_path / "empty.png").write_bytes(b"")
    ds = open_dataset(tmp_path)
    assert [it.id for it in ds.items] == ["a"]
    r = reasons(ds)
    assert r == {"notes.xyz": "unsupported file type '.xyz'", "empty.png": "empty file (0 bytes)"}


def test_duplicate_modality_for_one_stem_keeps_first_and_reports_other(tmp_path, make):
    make.image(tmp_path / "x.jpg", fmt="JPEG")
    make.image(tmp_path / "x.png")
    ds = open_dataset(tmp_path)
    assert len(ds.items) == 1 and ds.items[0].media["image"].rel == "x.jpg"
    assert "x.png" in reasons(ds)


def test_unicode_and_space_names(tmp_path, make):
    make.text(tmp_path / "dossier été" / "chat noir 猫.txt", "un chat")
    ds = open_dataset(tmp_path)
    assert [it.id for it in ds.items] == ["dossier été/chat noir 猫"]


def test_symlink_outside_is_refused_and_never_read(tmp_path, make):
    root, outside = tmp_path / "root", tmp_path / "outside"
    make.text(root / "a.txt", "inside")
    make.text(outside / "secret.txt", "secret")
    os.symlink(outside / "secret.txt", root / "leak.txt")
    os.symlink(outside, root / "leakdir")
    ds = open_dataset(root)
    assert [it.id for it in ds.items] == ["a"]
    r = reasons(ds)
    assert "outside" in r["leak.txt"] and "outside" in r["leakdir"]


def test_symlink_loop_does_not_hang_and_internal_links_work(tmp_path, make):
    make.text(tmp_path / "sub" / "a.txt", "a")
    os.symlink(tmp_path / "sub", tmp_path / "sub" / "loop")  # sub/loop -> sub
    os.symlink("self", tmp_path / "self")  # a symlink to itself
    os.symlink(tmp_path / "sub" / "a.txt", tmp_path / "alias.txt")  # inside: followed
    ds = open_dataset(tmp_path)
    ids = sorted(it.id for it in ds.items)
    assert ids == ["alias", "sub/a"]
    assert "loop" in reasons(ds)["self"] or "broken" in reasons(ds)["self"]


def test_deeply_nested_folders(tmp_path, make):
    deep = tmp_path
    for i in range(60):
        deep = deep / f"d{i}"
    make.text(deep / "leaf.txt", "deep")
    ds = open_dataset(tmp_path)
    assert len(ds.items) == 1 and ds.items[0].id.endswith("d59/leaf")


def test_missing_path_raises_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        open_dataset(tmp_path / "nope")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_is_reported(tmp_path, make):
    p = make.text(tmp_path / "a.txt", "x")
    p.chmod(0)
    ds = open_dataset(tmp_path)
    assert "permission" in reasons(ds)["a.txt"]


def test_scanned_paths_equal_plain_paths_of_the_real_files(tmp_path):
    import os
    from pathlib import Path

    from mmviewer.core.data.open import open_dataset

    for sub in ("a", "a/b", "c"):
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / sub / "x.txt").write_text("hello")
        (tmp_path / sub / "x.png").write_bytes(b"\x89PNG not really")
    ds = open_dataset(tmp_path)
    assert sorted(it.id for it in ds.items) == ["a/b/x", "a/x", "c/x"]
    for it in ds.items:
        for m, ref in it.media.items():
            real = os.path.join(os.path.realpath(tmp_path), it.id + (".txt" if m == "text" else ".png"))
            assert ref.path == Path(real) and str(ref.path) == real and os.fspath(ref.path) == real
            assert ref.path.suffix in (".txt", ".png") and ref.path.parent == Path(real).parent
