"""Hostile stores and snapshots: a dataset from someone else brings its ``.mmviewer`` along.

Each case: the run finishes, runs nothing, touches nothing outside the dataset (tests/hostile.py),
says what it refused, and the good items are still embedded, with vectors computed here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
import time
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmviewer.core.app import jobs
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.core.encoders.image_features import DIM
from mmviewer.core.store.embedding_store import EmbeddingStore, VectorShelf, slug
from mmviewer.core.store.hashing import file_hash
from tests.hostile import assert_imported, embed, finishes, good_items, reasons, unblock, watch

PIXELS = "pixels-v1-320"  # the offline image encoder's id: its shelf folder is predictable


def shelf_dir(folder):
    return folder / ".mmviewer" / "vectors" / slug(PIXELS)


def planted_shard(where, keys, vectors):
    """A well-formed shard (its name carries its checksum) holding ``vectors`` for ``keys``."""
    shelf = VectorShelf(where, PIXELS, DIM)
    shelf.add(list(keys), np.asarray(vectors, np.float32))
    return shelf._shards[-1]


def aged(path):
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


# -- 2. the store is not trusted ------------------------------------------------------------------
def test_a_linked_store_folder_is_not_used(tmp_path, make):
    folder, outside = tmp_path / "ds", tmp_path / "outside"
    good = good_items(folder, make)
    outside.mkdir()
    (outside / "precious.txt").write_text("mine")
    aged(_write(outside / "draft.tmp", "mine too"))
    os.symlink(outside, folder / ".mmviewer")
    before = sorted(os.listdir(outside))
    with watch(outside):
        result = finishes(embed, folder)
    assert sorted(os.listdir(outside)) == before  # nothing written, nothing deleted
    assert_imported(result, good)
    assert "symbolic link" in reasons(result)[str(folder / ".mmviewer")]


def _write(path, text="mine"):
    path.write_text(text)
    return path


def test_a_linked_shard_folder_is_removed_not_followed(tmp_path, make):
    folder, outside = tmp_path / "ds", tmp_path / "outside"
    good = good_items(folder, make)
    outside.mkdir()
    _write(outside / "shard-1-0000000000000000.parquet", "someone's file")
    aged(_write(outside / "notes.tmp", "someone's draft"))
    shelf_dir(folder).parent.mkdir(parents=True)
    os.symlink(outside, shelf_dir(folder))
    with watch(outside):
        result = finishes(embed, folder)
    assert sorted(os.listdir(outside)) == ["notes.tmp", "shard-1-0000000000000000.parquet"]
    assert_imported(result, good)
    assert shelf_dir(folder).is_dir() and not shelf_dir(folder).is_symlink()
    assert "symbolic link" in reasons(result)[str(shelf_dir(folder))]


def test_a_shard_linked_to_a_file_outside_is_not_read(tmp_path, make):
    folder, outside = tmp_path / "ds", tmp_path / "outside"
    good = good_items(folder, make, 2)
    keys = [file_hash(folder / f"good{i}.png") for i in range(2)]
    planted = planted_shard(outside, keys, np.full((2, DIM), 0.25))  # vectors someone chose
    shelf_dir(folder).mkdir(parents=True)
    os.symlink(planted, shelf_dir(folder) / planted.name)
    with watch(outside):
        result = finishes(embed, folder)
    assert result.stats["cached"] == 0 and result.stats["computed"] >= 2
    row = result.table.index_of("good0")
    assert not np.allclose(result.table.vectors["image"][row], result.table.vectors["image"][row][0])
    assert planted.exists() and "symbolic link" in reasons(result)[str(shelf_dir(folder) / planted.name)]
    assert_imported(result, good)


def test_fifos_in_the_store_do_not_hang_the_run(tmp_path, make):
    folder = tmp_path / "ds"
    good = good_items(folder, make)
    shelf_dir(folder).mkdir(parents=True)
    fifos = [shelf_dir(folder) / "shard-1-0000000000000000.parquet", shelf_dir(folder) / "encoder.json",
             folder / ".mmviewer" / "files.parquet"]
    for fifo in fifos:
        os.mkfifo(fifo)
    try:
        with watch(tmp_path / "outside"):
            result = finishes(embed, folder, timeout_s=60)
    finally:
        for fifo in fifos:
            unblock(fifo)
    assert_imported(result, good)
    assert "not a regular file" in reasons(result)[str(fifos[0])]


def test_a_shard_of_nan_with_a_good_checksum_is_dropped_and_recomputed(tmp_path, make):
    folder = tmp_path / "ds"
    good = good_items(folder, make, 2)
    keys = [file_hash(folder / f"good{i}.png") for i in range(2)]
    shard = planted_shard(shelf_dir(folder), keys, np.full((2, DIM), np.nan))
    result = finishes(embed, folder)
    assert_imported(result, good)
    assert "NaN" in reasons(result)[str(shard)] and not shard.exists()
    vectors = result.table.vectors["image"]
    assert np.isfinite(vectors).all() and (np.linalg.norm(vectors, axis=1) > 0.99).all()


def test_crafted_store_documents_are_damage_not_crashes(tmp_path):
    store = EmbeddingStore(tmp_path / "store")
    store.root.mkdir()
    (store.root / "session.json").write_text("[" * 100_000 + "]" * 100_000)
    assert store.read_json("session.json") is None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("positions.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (40_000_000, 2)})
            for _ in range(40_000_000 * 8 // (1 << 22)):
                fh.write(bytes(1 << 22))
            fh.write(bytes(40_000_000 * 8 % (1 << 22)))
    (store.root / "layout.npz").write_bytes(buf.getvalue())
    assert store.read_npz("layout.npz") is None
    assert "decompression bomb" in store.problems[-1].reason
    os.mkfifo(store.root / "layout.npz")
    assert finishes(store.read_npz, "layout.npz", timeout_s=20) is None


# -- 3. the quick-reopen snapshot is not trusted --------------------------------------------------
def run_embed_job(path):
    """What the window's embed job yields: ``[(kind, dataset)]`` for the snapshot and the scan."""
    gen = jobs.embed_job(path, EmbedOptions(offline=True), threading.Event())
    seen = []
    try:
        while True:
            message = next(gen)
            if isinstance(message, tuple):
                seen.append((message[0], message[1]))
    except StopIteration as stop:
        dataset = stop.value[0]
    return seen, dataset


def reopened(path):
    """Open ``path`` as the window does, then touch the store of every dataset it was shown
    (the window saves its session and layout there)."""
    seen, dataset = run_embed_job(path)
    for _, shown in seen:
        EmbeddingStore.for_dataset(shown.root).write_json("session.json", {"current": 0})
    return seen


def test_a_moved_dataset_writes_nothing_into_its_old_place(tmp_path, make):
    old, new = tmp_path / "old", tmp_path / "new"
    good_items(old, make)
    finishes(run_embed_job, old)
    assert (old / ".mmviewer" / "snapshot" / "meta.json").exists()
    shutil.move(old, new)
    with watch(old):
        seen = finishes(reopened, new)
    assert not old.exists()
    assert all(ds.root == new.resolve() for _, ds in seen), [(k, ds.root) for k, ds in seen]


def test_a_crafted_snapshot_root_creates_nothing_elsewhere(tmp_path, make):
    folder, elsewhere = tmp_path / "ds", tmp_path / "elsewhere"
    good_items(folder, make)
    finishes(run_embed_job, folder)
    meta_path = folder / ".mmviewer" / "snapshot" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["root"] = str(elsewhere / "deep" / "er")
    meta_path.write_text(json.dumps(meta))
    with watch(elsewhere):
        seen = finishes(reopened, folder)
    assert not elsewhere.exists()
    assert all(ds.root == folder.resolve() for _, ds in seen)


def test_crafted_snapshot_rows_open_nothing_outside(tmp_path, make):
    folder, outside = tmp_path / "ds", tmp_path / "outside"
    good_items(folder, make)
    make.image(outside / "secret.png")
    os.symlink(outside / "secret.png", folder / "inner_link.png")
    finishes(run_embed_job, folder)
    items_path = folder / ".mmviewer" / "snapshot" / "items.parquet"
    table = pq.read_table(items_path).to_pydict()
    evil = [("/etc/passwd", "/etc/passwd"), (str(outside / "secret.png"), "../outside/secret.png"),
            (str(folder / "inner_link.png"), "inner_link.png")]
    for row, (path, rel) in enumerate(evil):
        table["image_path"][row], table["image_rel"][row] = path, rel
    pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in table.items()}), items_path)
    with watch(outside):
        seen, _ = finishes(run_embed_job, folder)
    snapshots = [ds for kind, ds in seen if kind == "snapshot"]
    assert snapshots, "the snapshot itself is sound: it is shown, its bad rows lose their image"
    for item in snapshots[0].items:
        for ref in item.media.values():
            assert ref.path is None or str(ref.path).startswith(str(folder.resolve()) + os.sep), ref.path
    assert not any("image" in item.media for item in snapshots[0].items)  # every row was crafted


def _rewrite_meta(folder, change):
    meta_path = folder / ".mmviewer" / "snapshot" / "meta.json"
    meta = json.loads(meta_path.read_text())
    change(meta)
    meta_path.write_text(json.dumps(meta))


@pytest.mark.parametrize("attack", ["traversal", "nan"])
def test_crafted_snapshot_files_mean_no_snapshot(tmp_path, make, attack):
    folder, outside = tmp_path / "ds", tmp_path / "outside"
    good = good_items(folder, make)
    finishes(run_embed_job, folder)
    snap = folder / ".mmviewer" / "snapshot"
    if attack == "traversal":  # modality names become file names
        outside.mkdir()
        np.save(outside / "x.npy", np.zeros((3, 4), np.float32))
        np.save(outside / "x.present.npy", np.ones(3, bool))
        _rewrite_meta(folder, lambda m: m["encoders"].update({"../../../outside/x": "evil"}))
    else:
        vectors = np.load(snap / "image.npy")
        vectors[1] = np.nan
        np.save(snap / "image.npy", vectors)
    with watch(outside):
        seen, dataset = finishes(run_embed_job, folder)
    assert [kind for kind, _ in seen] == ["opened"]  # no snapshot shown; the scan runs as usual
    assert {it.id for it in dataset.items} >= set(good)


@pytest.mark.parametrize("session", [
    [1, 2, 3],
    {"selection": 7, "current": ["a"], "weights": {"image": "inf", "text": 0.5}, "k": 10},
    {"selection": [["nested"], {"a": 1}, "item1"], "current": {"x": 1}},
])
def test_a_crafted_session_is_ignored_not_raised(session):
    from mmviewer.core.app.state import ViewState

    state = ViewState()
    state.reset(("image", "text"))
    ids = {"item0": 0, "item1": 1}
    state.apply_session(json.loads(json.dumps(session)), ids.__getitem__)
    assert all(np.isfinite(w) for _, w in state.weights)
    assert state.current == -1 and set(state.selection) <= {1}
