"""The thumbnail shelf: content-hash keys, packs that survive reopening, damage and cancels."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mmviewer.core.data.model import MediaRef
from mmviewer.core.runtime.cancel import Cancelled, CancelToken, running_with
from mmviewer.core.store.hashing import HashCache
from mmviewer.core.store.thumbnails import ThumbnailShelf, make_thumbnails


def refs(folder, make, n=5):
    out = []
    for i in range(n):
        path = make.image(folder / f"im{i}.png", ((40 * i) % 255, 90, 200), size=(200, 120))
        out.append((i, MediaRef("image", path=path, rel=path.name)))
    return out


def test_thumbnails_are_made_once_and_read_back_after_reopening(tmp_path, make):
    items = refs(tmp_path / "d", make)
    store = tmp_path / "store"
    shelf = ThumbnailShelf.for_store(store, 48)
    got = list(make_thumbnails(shelf, HashCache(None), items))
    assert [k for k, data, _ in got if data] == [0, 1, 2, 3, 4]
    im = Image.open(io.BytesIO(got[0][1]))
    assert im.format == "WEBP" and max(im.size) == 48 and im.size == (48, 29)  # aspect kept
    shelf.close()
    again = ThumbnailShelf.for_store(store, 48)
    assert len(again) == 5
    assert list(make_thumbnails(again, HashCache(None), items)) == got
    assert len(list((store / "thumbnails" / "48px").glob("pack-*.bin"))) == 1  # nothing new


def test_same_content_shares_one_thumbnail_and_a_broken_file_costs_one(tmp_path, make):
    items = refs(tmp_path / "d", make, 2)
    copy = tmp_path / "d" / "copy.png"
    copy.write_bytes(items[0][1].path.read_bytes())
    broken = tmp_path / "d" / "broken.png"
    broken.write_bytes(b"not an image")
    items += [(2, MediaRef("image", path=copy)), (3, MediaRef("image", path=broken))]
    shelf = ThumbnailShelf(None, 32)
    got = list(make_thumbnails(shelf, HashCache(None), items))
    assert got[2][1] == got[0][1] and len(shelf) == 2
    assert got[3][1] is None and "not a readable image" in got[3][2]


def test_a_damaged_pack_is_dropped_and_reported(tmp_path, make):
    shelf = ThumbnailShelf.for_store(tmp_path, 32)
    list(make_thumbnails(shelf, HashCache(None), refs(tmp_path / "d", make, 2)))
    shelf.close()
    (pack,) = (tmp_path / "thumbnails" / "32px").glob("pack-*.bin")
    pack.write_bytes(pack.read_bytes()[:40])
    reopened = ThumbnailShelf.for_store(tmp_path, 32)
    assert len(reopened) == 0 and "corrupt thumbnail pack" in reopened.problems[0]
    assert not pack.exists()


def test_a_cancelled_job_keeps_what_it_made(tmp_path, make):
    items = refs(tmp_path / "d", make, 6)
    shelf = ThumbnailShelf.for_store(tmp_path, 32)
    token = CancelToken()
    seen = []
    with running_with(token), pytest.raises(Cancelled):
        for key, _data, _ in make_thumbnails(shelf, HashCache(None), items):
            seen.append(key)
            if len(seen) == 3:
                token.cancel()
    shelf.close()
    assert len(ThumbnailShelf.for_store(tmp_path, 32)) == 3


def test_an_unwritable_store_still_gives_thumbnails(tmp_path, make):
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store folder should be")
    shelf = ThumbnailShelf.for_store(blocker, 32)
    got = list(make_thumbnails(shelf, HashCache(None), refs(tmp_path / "d", make, 2)))
    assert all(data for _, data, _ in got)
    assert not shelf.persist and "kept in memory only" in shelf.problems[0]


def test_links_and_pipes_in_the_store_are_neither_followed_nor_waited_on(tmp_path, make):
    import os

    outside = tmp_path / "outside"
    outside.mkdir()
    store = tmp_path / "store"
    (store / "thumbnails").mkdir(parents=True)
    os.symlink(outside, store / "thumbnails" / "32px")  # a crafted store sends writes elsewhere
    shelf = ThumbnailShelf.for_store(store, 32)
    got = list(make_thumbnails(shelf, HashCache(None), refs(tmp_path / "d", make, 2)))
    assert all(data for _, data, _ in got) and list(outside.iterdir()) == []
    assert "a symbolic link (not followed" in shelf.problems[0]
    folder = tmp_path / "store2" / "thumbnails" / "32px"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pack-1.bin")  # opening a pipe would wait forever
    os.symlink("/etc/passwd", folder / "pack-2.bin")
    shelf = ThumbnailShelf.for_store(tmp_path / "store2", 32)
    assert len(shelf) == 0 and len(shelf.problems) == 2


def test_a_failed_write_keeps_the_thumbnails_in_memory(tmp_path, make, monkeypatch):
    import mmviewer.core.store.thumbnails as th
    from mmviewer.core.store.atomic import StoreWriteError

    def full(path, data):
        raise StoreWriteError(28, f"could not write {path}: No space left on device")

    monkeypatch.setattr(th, "write_bytes_atomic", full)
    shelf = ThumbnailShelf.for_store(tmp_path, 32)
    got = list(make_thumbnails(shelf, HashCache(None), refs(tmp_path / "d", make, 2)))
    assert all(data for _, data, _ in got) and len(shelf) == 2
    assert not shelf.persist and "No space left" in shelf.problems[0]
