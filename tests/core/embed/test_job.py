"""The embedding job: cache reuse and invalidation, bad media, cancellation, store failures."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mmviewer.core.data.open import open_dataset
from mmviewer.core.embed.job import embed_dataset
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.core.store.atomic import StoreWriteError
from mmviewer.core.store.embedding_store import EmbeddingStore
from tests.fake_encoders import counting_encoders


def small_dataset(folder, make, n=10):
    for i in range(n):
        make.item(folder, f"item{i:02d}", image_color=(i * 20, 10, 200 - i * 10),
                  words=f"item number {i}", freq=200 + 40 * i)
    return folder


def embed(folder, encoders=None, **kw):
    ds = open_dataset(folder)
    encoders = encoders or counting_encoders()
    store = EmbeddingStore.for_dataset(ds.root)
    return run_to_end(embed_dataset(ds, encoders, store, workers=2, **kw)), encoders


def test_first_embed_then_reopen_loads_from_store(tmp_path, make):
    small_dataset(tmp_path, make)
    first, enc1 = embed(tmp_path)
    assert first.table.n_items == 10
    assert first.stats["modalities"] == {"image": 10, "text": 10, "audio": 10}
    assert first.stats["computed"] == 30 and first.stats["cached"] == 0
    assert sum(e.n_encoded for e in enc1.values()) == 30
    second, enc2 = embed(tmp_path)
    assert second.stats["cached"] == 30 and second.stats["computed"] == 0
    assert sum(e.n_encoded for e in enc2.values()) == 0
    for m in ("image", "text", "audio"):
        np.testing.assert_array_equal(first.table.vectors[m], second.table.vectors[m])
    assert second.stats["hash_cache_hits"] == 30  # every file re-identified by stat, not read


def test_added_and_changed_files_are_the_only_ones_computed(tmp_path, make):
    small_dataset(tmp_path, make, n=6)
    embed(tmp_path)
    make.item(tmp_path, "new", image_color=(1, 2, 3), words="brand new", freq=900)
    make.text(tmp_path / "item00.txt", "changed words for item zero")
    result, enc = embed(tmp_path)
    assert enc["image"].n_encoded == 1 and enc["audio"].n_encoded == 1
    assert enc["text"].n_encoded == 2  # the new text and the changed one
    assert result.stats["computed"] == 4 and result.stats["cached"] == 17


def test_renamed_file_is_not_reencoded(tmp_path, make):
    small_dataset(tmp_path, make, n=3)
    embed(tmp_path)
    (tmp_path / "item00.png").rename(tmp_path / "renamed.png")
    result, enc = embed(tmp_path)
    assert enc["image"].n_encoded == 0
    assert "renamed" in set(result.table.ids)


def test_encoder_change_invalidates(tmp_path, make):
    small_dataset(tmp_path, make, n=3)
    embed(tmp_path)
    encoders = counting_encoders(dim=16)  # a different id
    result, enc = embed(tmp_path, encoders)
    assert sum(e.n_encoded for e in enc.values()) == 9
    assert result.table.dim("image") == 16


def test_bad_media_are_reported_and_good_items_kept(tmp_path, make):
    small_dataset(tmp_path, make, n=4)
    (tmp_path / "broken.png").write_bytes(b"definitely not a png")
    (tmp_path / "noise.wav").write_text("this is text named wav")
    jpg = make.image(tmp_path / "trunc.jpg", size=(256, 256), fmt="JPEG")
    jpg.write_bytes(jpg.read_bytes()[:300])
    result, _ = embed(tmp_path)
    skipped = {p.path: p.reason for p in result.report.skipped}
    assert "not a readable image" in skipped["broken.png"]
    assert "not a readable audio" in skipped["noise.wav"]
    assert "trunc" in skipped["trunc.jpg"] or "corrupt" in skipped["trunc.jpg"]
    assert result.table.n_items == 4
    assert set(result.table.ids) == {f"item{i:02d}" for i in range(4)}


def test_cancel_keeps_finished_batches(tmp_path, make):
    small_dataset(tmp_path, make, n=12)
    ds = open_dataset(tmp_path)
    store = EmbeddingStore.for_dataset(ds.root)
    cancel = threading.Event()
    encoders = counting_encoders()
    gen = embed_dataset(ds, encoders, store, workers=2, cancel=cancel)
    for progress in gen:
        if progress.stage == "encoding" and progress.modality == "image" and progress.done >= 4:
            cancel.set()
    # The generator returned (StopIteration) with a partial, cancelled result.
    done_before = encoders["image"].n_encoded
    assert 4 <= done_before < 12
    again, enc = embed(tmp_path)
    assert enc["image"].n_encoded == 12 - done_before
    assert again.stats["modalities"]["image"] == 12


def test_closing_the_generator_keeps_finished_batches(tmp_path, make):
    small_dataset(tmp_path, make, n=12)
    ds = open_dataset(tmp_path)
    encoders = counting_encoders()
    gen = embed_dataset(ds, encoders, EmbeddingStore.for_dataset(ds.root), workers=2)
    for progress in gen:
        if progress.stage == "encoding" and progress.done >= 8:
            gen.close()
            break
    kept = encoders["image"].n_encoded
    _, enc = embed(tmp_path)
    assert enc["image"].n_encoded == 12 - kept


def test_store_write_failure_is_reported_and_results_kept(tmp_path, make, monkeypatch):
    small_dataset(tmp_path, make, n=5)
    import mmviewer.core.store.embedding_store as store_mod

    def full_disk(path, data):
        raise StoreWriteError(28, f"could not write {path}: No space left on device")

    monkeypatch.setattr(store_mod, "write_bytes_atomic", full_disk)
    result, _ = embed(tmp_path)
    assert result.table.n_items == 5
    notes = " ".join(p.reason for p in result.report.notes)
    assert "No space left on device" in notes and "this session only" in notes


def test_items_missing_modalities_and_metadata(tmp_path, make):
    make.image(tmp_path / "a.png")
    make.tone(tmp_path / "b.wav")
    (tmp_path / "data.csv").write_text("id,image,audio,text,label\na,a.png,,hello,x\nb,,b.wav,,y\n")
    result, _ = embed(tmp_path)
    t = result.table
    assert list(t.ids) == ["a", "b"]
    assert t.present["image"].tolist() == [True, False]
    assert t.present["audio"].tolist() == [False, True]
    assert t.metadata["label"].tolist() == ["x", "y"]
    assert np.allclose(np.linalg.norm(t.vectors["image"], axis=1), [1, 0], atol=1e-6)


@pytest.mark.parametrize("workers", [1, 2])
def test_results_do_not_depend_on_worker_count(tmp_path, make, workers):
    small_dataset(tmp_path, make, n=9)
    ds = open_dataset(tmp_path)
    r = run_to_end(embed_dataset(ds, counting_encoders(), None, workers=workers))
    r2 = run_to_end(embed_dataset(ds, counting_encoders(), None, workers=3))
    for m in r.table.vectors:
        np.testing.assert_array_equal(r.table.vectors[m], r2.table.vectors[m])
