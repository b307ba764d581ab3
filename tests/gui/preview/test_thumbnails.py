"""Thumbnails decode in the background and are cached."""

from __future__ import annotations


def test_thumbnails_decode_in_the_background_and_cache(qtbot, model):
    from mmviewer.gui.preview.thumbnails import ThumbnailCache

    cache = ThumbnailCache(model, size=32)
    assert cache.get(3) is None
    with qtbot.waitSignal(cache.ready, timeout=10_000) as blocker:
        pass
    assert blocker.args == [3]
    img = cache.get(3)
    assert img is not None and max(img.width(), img.height()) == 32
    assert cache.caption(3) == "a red thing number 3"
    assert model.item(3).id == "item03"
