"""The controller runs jobs off the UI thread and drops stale results."""

from __future__ import annotations

import numpy as np


def test_set_table_resets_state_and_lays_out_pca_then_umap(qtbot, controller):
    kinds = []
    controller.layout_ready.connect(lambda pos, kind: kinds.append((kind, pos.shape)))
    assert controller.state.weight_map == {"image": 1.0, "text": 1.0, "audio": 1.0}
    with qtbot.waitSignal(controller.layout_ready, timeout=120_000, check_params_cb=lambda p, k: k == "umap"):
        controller.request_layout(cold=True)
    assert ("pca", (30, 2)) in kinds and kinds[-1] == ("umap", (30, 2))


def test_metrics_cover_each_modality_pair(qtbot, controller):
    with qtbot.waitSignal(controller.metrics_ready, timeout=60_000) as blocker:
        controller.request_metrics()
    result = blocker.args[0]
    pairs = {(p["query"], p["target"]) for p in result["pairs"]}
    assert ("text", "image") in pairs and ("audio", "image") in pairs
    by_pair = {(p["query"], p["target"]): p for p in result["pairs"]}
    assert by_pair[("text", "image")]["method"] == "none"
    assert by_pair[("audio", "image")]["method"] == "cca"
    assert result["fusion"] is not None


def test_newest_request_wins(qtbot, controller):
    """Three quick weight changes produce results for the last weights only."""
    seen = []
    controller.metrics_ready.connect(lambda r: seen.append(r["weights"]))
    for w in (0.1, 0.2, 0.3):
        controller.state.set_weight("audio", w)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1]["audio"] == 0.3, timeout=60_000)
    qtbot.wait(200)
    assert all(s["audio"] in (1.0, 0.3) for s in seen)  # 0.1 and 0.2 were superseded


def test_worker_errors_become_notices(qtbot, controller):
    from mmviewer.core.app.state import Notice

    with qtbot.waitSignal(controller.notice, timeout=10_000) as blocker:
        controller.open_path(controller.dataset.root / "does-not-exist")
    notice = blocker.args[0]
    assert isinstance(notice, Notice) and notice.level == "error" and "does-not-exist" in notice.text


def test_session_round_trip(qtbot, tmp_path, make):
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.data.open import open_dataset
    from mmviewer.gui.controller import AppController
    from tests.gui.conftest import planted_table

    folder = tmp_path / "ds"
    for i in range(30):
        make.text(folder / f"item{i:02d}.txt", f"text {i}")
    ds = open_dataset(folder)
    ctrl = AppController(ViewState())
    ctrl.set_table(planted_table(), ds)
    ctrl.state.current = 7
    ctrl.state.set_weight("audio", 0.25)
    ctrl.state.method = "cca"
    ctrl.save_session()
    ctrl.shutdown()
    again = AppController(ViewState())
    again.set_table(planted_table(), ds)
    assert again.state.current == 7 and again.state.method == "cca"
    assert again.state.weight_map["audio"] == 0.25
    again.shutdown()
    assert np.isfinite(again.state.weight_map["image"])


def test_thumbnails_decode_in_the_background_and_cache(qtbot, controller):
    from mmviewer.gui.preview.thumbnails import ThumbnailCache

    cache = ThumbnailCache(controller, size=32)
    assert cache.get(3) is None
    with qtbot.waitSignal(cache.ready, timeout=10_000) as blocker:
        pass
    assert blocker.args == [3]
    img = cache.get(3)
    assert img is not None and max(img.width(), img.height()) == 32
    assert cache.caption(3) == "a red thing number 3"
    assert controller.item(3).id == "item03"


def test_reopen_shows_the_saved_map_at_once(qtbot, tmp_path, make):
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.data.open import open_dataset
    from mmviewer.gui.controller import AppController
    from tests.gui.conftest import planted_table

    folder = tmp_path / "ds"
    for i in range(30):
        make.text(folder / f"item{i:02d}.txt", f"text {i}")
    ds = open_dataset(folder)
    first = AppController(ViewState())
    with qtbot.waitSignal(first.layout_ready, timeout=120_000, check_params_cb=lambda p, k: k == "umap"):
        first.set_table(planted_table(), ds)
    qtbot.waitUntil(lambda: (first._store.root / "layout.npz").exists(), timeout=10_000)
    umap_positions = first.positions
    first.shutdown()
    again = AppController(ViewState())
    kinds = []
    again.layout_ready.connect(lambda pos, kind: kinds.append(kind))
    again.set_table(planted_table(), ds)
    assert kinds == ["cached"]  # shown synchronously, no PCA, no UMAP
    np.testing.assert_array_equal(again.positions, umap_positions)
    again.state.set_weight("audio", 0.5)  # a different weighting is not the cached map
    again.shutdown()


def test_reopen_shows_the_snapshot_then_keeps_or_replaces_it(qtbot, tmp_path, make):
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.embed.options import EmbedOptions
    from mmviewer.gui.controller import AppController

    folder = tmp_path / "ds"
    for i in range(8):
        make.item(folder, f"x{i}", image_color=(30 * i, 10, 10), words=f"words {i}", freq=300 + 40 * i)
    options = EmbedOptions(offline=True)

    first = AppController(ViewState())
    with qtbot.waitSignal(first.embedding_done, timeout=120_000):
        first.open_path(folder, options)
    assert not first.provisional and (folder / ".mmviewer" / "snapshot" / "meta.json").exists()
    first.shutdown()

    again = AppController(ViewState())
    events = []
    again.table_ready.connect(lambda: events.append("table_ready"))
    again.opened.connect(lambda _d: events.append("opened"))
    with qtbot.waitSignal(again.table_ready, timeout=30_000):
        again.open_path(folder, options)
    # Shown before the folder is scanned ("opened" may already follow in the same wait).
    assert again.provisional and events[0] == "table_ready"
    shown = again.workspace
    assert again.item(0).media["image"].path.exists()  # previews work from the snapshot
    again.state.current = 3
    with qtbot.waitSignal(again.embedding_done, timeout=120_000):
        pass
    assert again.workspace is shown and again.state.current == 3  # unchanged: the view is kept
    assert events == ["table_ready", "opened"] and not again.provisional
    again.shutdown()

    make.text(folder / "x2.txt", "these words changed")
    third = AppController(ViewState())
    ready = []
    third.table_ready.connect(lambda: ready.append(third.workspace))
    with qtbot.waitSignal(third.embedding_done, timeout=120_000):
        third.open_path(folder, options)
    assert len(ready) == 2 and ready[0] is not ready[1]  # snapshot, then the changed table
    assert ready[0].table.content_digest != ready[1].table.content_digest
    third.shutdown()
