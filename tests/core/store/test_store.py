"""The embedding store: atomic shards, corruption detection, compaction, fallback location."""

from __future__ import annotations

import numpy as np

import mmviewer.core.store.embedding_store as store_mod
from mmviewer.core.store.embedding_store import EmbeddingStore, VectorShelf, slug, store_dir_for


def vecs(n, dim=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_shelf_round_trip_and_lookup(tmp_path):
    shelf = VectorShelf(tmp_path / "s", "enc-a")
    v = vecs(3)
    shelf.add(["k0", "k1", "k2"], v)
    again = VectorShelf(tmp_path / "s", "enc-a")
    assert len(again) == 3 and "k1" in again and "zz" not in again
    np.testing.assert_array_equal(again.get_many(["k2", "k0"]), v[[2, 0]])


def test_truncated_and_garbage_shards_are_detected_dropped_and_reported(tmp_path):
    shelf = VectorShelf(tmp_path / "s", "enc")
    shelf.add(["a"], vecs(1, seed=1))
    shelf.add(["b"], vecs(1, seed=2))
    shelf.add(["c"], vecs(1, seed=3))
    shards = sorted((tmp_path / "s").glob("shard-*.parquet"))
    shards[0].write_bytes(shards[0].read_bytes()[:20])  # truncated
    shards[1].write_bytes(b"garbage" * 50)  # overwritten
    again = VectorShelf(tmp_path / "s", "enc")
    assert set(again._index) == {"c"}
    assert len(again.problems) == 2
    assert all("corrupt store file dropped" in p.reason for p in again.problems)
    assert not shards[0].exists() and not shards[1].exists()  # rebuilt on the next embed


def test_opening_a_store_with_many_shards_compacts_and_keeps_every_vector(tmp_path):
    store = EmbeddingStore(tmp_path)
    shelf = store.shelf("enc")
    expected = {}
    for i in range(40):
        v = vecs(2, seed=i)
        shelf.add([f"k{i}a", f"k{i}b"], v)
        expected[f"k{i}a"], expected[f"k{i}b"] = v[0], v[1]
    assert len(list(shelf.folder.glob("shard-*"))) == 40
    reopened = EmbeddingStore(tmp_path).shelf("enc")
    assert len(list(shelf.folder.glob("shard-*"))) == 1
    keys = sorted(expected)
    np.testing.assert_array_equal(reopened.get_many(keys), np.stack([expected[k] for k in keys]))
    np.testing.assert_array_equal(
        VectorShelf(shelf.folder, "enc").get_many(keys), np.stack([expected[k] for k in keys])
    )


def test_stale_temporaries_from_a_killed_writer_are_removed(tmp_path):
    shelf = VectorShelf(tmp_path / "s", "enc")
    shelf.add(["a"], vecs(1))
    stale = tmp_path / "s" / ".shard-x.parquet.abc.tmp"
    stale.write_bytes(b"half written")
    import os

    os.utime(stale, (0, 0))
    fresh = tmp_path / "s" / ".shard-y.parquet.def.tmp"
    fresh.write_bytes(b"another process is writing this")
    VectorShelf(tmp_path / "s", "enc")
    assert not stale.exists() and fresh.exists()


def test_encoder_ids_never_collide_in_folder_names():
    assert slug("clip/ViT-B-32/openai/image") != slug("clip/ViT-B-32/openai:image")
    assert "/" not in slug("a/b") and len(slug("x" * 500)) < 80


def test_read_only_dataset_uses_user_cache(tmp_path, monkeypatch):
    dataset = tmp_path / "ro"
    dataset.mkdir()
    monkeypatch.setattr(store_mod, "_is_writable", lambda folder: False)
    where = store_dir_for(dataset)
    assert str(where).startswith(str(tmp_path / "home")) or "mmviewer" in str(where)
    assert ".mmviewer" not in where.parts
    assert where == store_dir_for(dataset)  # stable per dataset


def test_threads_opening_one_store_at_once_all_get_the_dataset_folder(tmp_path):
    """The window and the embedding job open the same store concurrently; neither may see the
    other's write probe vanish and wander off to the user cache (a lost session, seen in CI)."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path / "data"
    root.mkdir()
    with ThreadPoolExecutor(8) as pool:
        found = set(pool.map(lambda _: store_dir_for(root), range(400)))
    assert found == {root / ".mmviewer"}
    assert not [p for p in (root / ".mmviewer").iterdir() if "probe" in p.name]


def test_fitted_state_round_trip_without_pickle(tmp_path):
    store = EmbeddingStore(tmp_path)
    arrays = {"terms": np.array(["a", "b"]), "idf": np.array([1.0, 2.0])}
    store.save_state("text:abc", arrays)
    back = store.load_state("text:abc")
    assert back["terms"].tolist() == ["a", "b"]
    (tmp_path / "encoders" / f"{slug('text:abc')}.npz").write_bytes(b"junk")
    assert store.load_state("text:abc") is None and store.problems


def test_get_many_across_shards_in_any_order_and_newest_wins(tmp_path):
    shelf = VectorShelf(tmp_path / "s", "enc-m")
    a, b = vecs(3, seed=4), vecs(2, seed=5)
    shelf.add(["x0", "x1", "x2"], a)
    shelf.add(["y0", "x1"], b)  # x1 written again: the newer vector is the one returned
    for s in (shelf, VectorShelf(tmp_path / "s", "enc-m")):
        got = s.get_many(["y0", "x2", "x1", "x0", "x2"])
        np.testing.assert_array_equal(got, np.stack([b[0], a[2], b[1], a[0], a[2]]))
        assert s.get_many([]).shape == (0, 4)
    shelf.compact(force=True)
    np.testing.assert_array_equal(shelf.get_many(["x1", "y0"]), b[[1, 0]])
