"""The quick-reopen snapshot: round trip, option keying, damage means no snapshot."""

from __future__ import annotations

import numpy as np

from mmviewer.core.data.open import open_dataset
from mmviewer.core.embed.job import embed_dataset
from mmviewer.core.runtime.generators import run_to_end
from mmviewer.core.store.embedding_store import EmbeddingStore
from mmviewer.core.store.snapshot import load_snapshot, save_snapshot
from tests.fake_encoders import counting_encoders


def embedded(folder, make):
    for i in range(6):
        make.item(folder, f"s{i}", image_color=(40 * i, 0, 0), freq=220 + 50 * i)
    (folder / "data.csv").write_text(
        "id,image,audio,text,label\n" + "".join(f"s{i},s{i}.png,s{i}.wav,caption {i},L{i % 2}\n" for i in range(6)))
    (folder / "broken.png").write_bytes(b"x")
    ds = open_dataset(folder)
    store = EmbeddingStore.for_dataset(ds.root)
    return ds, store, run_to_end(embed_dataset(ds, counting_encoders(), store))


def test_round_trip_keeps_vectors_media_metadata_and_report(tmp_path, make):
    ds, store, result = embedded(tmp_path, make)
    options = {"offline": True}
    save_snapshot(store.root, ds, result.table, options)
    loaded = load_snapshot(store.root, options, tmp_path)
    assert loaded is not None
    ds2, t2 = loaded
    t = result.table
    assert list(t2.ids) == list(t.ids) and t2.content_digest == t.content_digest != ""
    for m in t.vectors:
        np.testing.assert_array_equal(np.asarray(t2.vectors[m]), t.vectors[m])
        np.testing.assert_array_equal(t2.present[m], t.present[m])
    assert t2.metadata["label"].tolist() == t.metadata["label"].tolist()
    by_id = {it.id: it for it in ds2.items}
    assert by_id["s3"].media["image"].path == next(it for it in ds.items if it.id == "s3").media["image"].path
    assert by_id["s3"].media["text"].text == "caption 3"
    assert [p.path for p in ds2.report.skipped] == [p.path for p in ds.report.skipped]


def test_other_options_or_damage_mean_no_snapshot(tmp_path, make):
    ds, store, result = embedded(tmp_path, make)
    save_snapshot(store.root, ds, result.table, {"offline": True})
    assert load_snapshot(store.root, {"offline": False}, tmp_path) is None
    (store.root / "snapshot" / "image.npy").write_bytes(b"garbage")
    assert load_snapshot(store.root, {"offline": True}, tmp_path) is None
    save_snapshot(store.root, ds, result.table, {"offline": True})  # replaces the damaged one
    assert load_snapshot(store.root, {"offline": True}, tmp_path) is not None
    assert not list(store.root.glob(".snapshot*"))  # no temporary folders left behind


def test_digest_changes_with_content_not_with_reembedding(tmp_path, make):
    ds, store, first = embedded(tmp_path, make)
    again = run_to_end(embed_dataset(open_dataset(tmp_path), counting_encoders(), store))
    assert again.table.content_digest == first.table.content_digest
    make.image(tmp_path / "s1.png", (1, 2, 3))
    changed = run_to_end(embed_dataset(open_dataset(tmp_path), counting_encoders(), store))
    assert changed.table.content_digest != first.table.content_digest
