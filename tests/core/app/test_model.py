"""The app model's policies, without Qt: what each state change starts, and what it drops."""

from __future__ import annotations

import numpy as np

from mmviewer.core.app import jobs
from mmviewer.core.app.model import AppModel
from mmviewer.core.app.state import Notice, ViewState
from mmviewer.core.data.table import EmbeddingTable, l2_normalise


def test_set_table_resets_state_and_lays_out_pca_then_umap(model, drive):
    kinds = []
    model.layout_ready.connect(lambda pos, kind: kinds.append((kind, pos.shape)))
    assert model.state.weight_map == {"image": 1.0, "text": 1.0, "audio": 1.0}
    model.request_layout(cold=True)
    drive.wait_for(model.layout_ready, check=lambda p, k: k == "umap")
    assert ("pca", (30, 2)) in kinds and kinds[-1] == ("umap", (30, 2))


def test_metrics_cover_each_modality_pair(model, drive):
    model.request_metrics()
    (result,) = drive.wait_for(model.metrics_ready, 60)
    pairs = {(p["query"], p["target"]) for p in result["pairs"]}
    assert ("text", "image") in pairs and ("audio", "image") in pairs
    by_pair = {(p["query"], p["target"]): p for p in result["pairs"]}
    assert by_pair[("text", "image")]["method"] == "none"
    assert by_pair[("audio", "image")]["method"] == "cca"
    assert result["fusion"] is not None


def test_a_weight_drag_starts_one_relayout_and_metrics_for_the_last_weights(model, drive, monkeypatch):
    first = []  # the opening metrics may land before UMAP does (a slow or busy machine)
    model.metrics_ready.connect(first.append)
    drive.wait_for(model.layout_ready, check=lambda p, k: k == "umap")
    drive.until(lambda: bool(first), 60)
    layouts, metrics = [], []
    real_layout, real_metrics = jobs.layout_job, jobs.metrics_job
    monkeypatch.setattr(jobs, "layout_job", lambda ws, w, *a: layouts.append(dict(w)) or real_layout(ws, w, *a))
    monkeypatch.setattr(jobs, "metrics_job", lambda ws, m, w, *a: metrics.append(dict(w)) or real_metrics(ws, m, w, *a))
    for value in np.linspace(0.9, 0.3, 12):  # a drag: twelve changes in quick succession
        model.state.set_weight("audio", float(value))
    drive.wait_for(model.layout_ready, check=lambda p, k: k == "umap")
    (result,) = drive.wait_for(model.metrics_ready, 60)
    drive.settle(0.5)
    assert [w["audio"] for w in layouts] == [0.3]  # debounced: one job, the last weights
    assert [w["audio"] for w in metrics] == [0.3]
    assert result["weights"]["audio"] == 0.3


def test_newest_request_wins(model, drive):
    """Quick weight changes produce metrics for the last weights only."""
    drive.wait_for(model.metrics_ready, 60)  # the table's own, once its first picture is up
    seen = []
    model.metrics_ready.connect(lambda r: seen.append(r["weights"]))
    for w in (0.1, 0.2, 0.3):
        model.state.set_weight("audio", w)
        model.request_metrics()  # undebounced: each request supersedes the last
    drive.until(lambda: bool(seen) and seen[-1]["audio"] == 0.3, 60)
    drive.settle(0.3)
    assert [s["audio"] for s in seen] == [0.3]


def test_the_current_items_lists_come_from_the_model(model, drive):
    got = []
    model.matches_ready.connect(lambda data, err: got.append(data.row))
    model.similar_ready.connect(lambda sim, err: got.append(("similar", sim.row)))
    model.state.current = 4
    model.state.current = 9  # the user moved on before 4's lists were ready
    drive.until(lambda: 9 in got and ("similar", 9) in got, 60)
    drive.settle(0.3)
    assert 4 not in got and ("similar", 4) not in got


def test_worker_errors_become_notices(model, drive):
    model.open_path(model.dataset.root / "does-not-exist")
    (notice,) = drive.wait_for(model.notice, 10)
    assert isinstance(notice, Notice) and notice.level == "error" and "does-not-exist" in notice.text


def big_table(n: int = 200_000, dims: int = 64, seed: int = 0) -> EmbeddingTable:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, dims), dtype=np.float32)
    vectors = {m: l2_normalise(base + rng.standard_normal((n, dims), dtype=np.float32))
               for m in ("image", "audio")}
    return EmbeddingTable(np.array([f"i{i}" for i in range(n)], dtype=object), vectors,
                          {m: np.ones(n, bool) for m in vectors}, {"image": "a", "audio": "b"})


def test_quitting_stops_a_long_metrics_job_from_inside(scheduler, drive):
    """Held-out metrics of 200k pairs take minutes; quitting stops them at the next block."""
    model = AppModel(ViewState(), scheduler=scheduler)
    model.set_table(big_table())
    model.jobs.cancel("layout")
    model.request_metrics()
    drive.until(lambda: model.jobs.running_for("metrics") > 1.0, 30)
    assert model.shutdown(timeout_s=5.0, stop_layouts=False)  # every job thread has ended


def test_session_round_trip(reopen):
    model = reopen()
    model.state.current = 7
    model.state.set_weight("audio", 0.25)
    model.state.method = "cca"
    model.save_session()
    again = reopen()
    assert again.state.current == 7 and again.state.method == "cca"
    assert again.state.weight_map["audio"] == 0.25
    assert np.isfinite(again.state.weight_map["image"])


def test_reopen_shows_the_saved_map_at_once(tmp_path, make, scheduler, drive):
    from mmviewer.core.data.open import open_dataset
    from tests.planted import planted_table

    folder = tmp_path / "ds"
    for i in range(30):
        make.text(folder / f"item{i:02d}.txt", f"text {i}")
    ds = open_dataset(folder)
    first = AppModel(ViewState(), scheduler=scheduler)
    first.set_table(planted_table(), ds)
    drive.wait_for(first.layout_ready, check=lambda p, k: k == "umap")
    drive.until(lambda: (first._store.root / "layout.npz").exists(), 10)
    umap_positions = first.positions
    first.shutdown(stop_layouts=False)
    again = AppModel(ViewState(), scheduler=scheduler)
    kinds = []
    again.layout_ready.connect(lambda pos, kind: kinds.append(kind))
    again.set_table(planted_table(), ds)
    assert kinds == ["cached"]  # shown synchronously, no PCA, no UMAP
    np.testing.assert_array_equal(again.positions, umap_positions)
    again.shutdown(stop_layouts=False)


def test_reopen_shows_the_snapshot_then_keeps_or_replaces_it(tmp_path, make, scheduler, drive):
    from mmviewer.core.embed.options import EmbedOptions

    folder = tmp_path / "ds"
    for i in range(8):
        make.item(folder, f"x{i}", image_color=(30 * i, 10, 10), words=f"words {i}", freq=300 + 40 * i)
    options = EmbedOptions(offline=True)

    first = AppModel(ViewState(), scheduler=scheduler)
    first.open_path(folder, options)
    drive.wait_for(first.embedding_done)
    assert not first.provisional and (folder / ".mmviewer" / "snapshot" / "meta.json").exists()
    first.shutdown(stop_layouts=False)

    again = AppModel(ViewState(), scheduler=scheduler)
    events = []
    again.table_ready.connect(lambda: events.append("table_ready"))
    again.opened.connect(lambda _d: events.append("opened"))
    again.open_path(folder, options)
    drive.wait_for(again.table_ready, 30)
    # Shown before the folder is scanned ("opened" may already follow in the same wait).
    assert again.provisional and events[0] == "table_ready"
    shown = again.workspace
    assert again.item(0).media["image"].path.exists()  # previews work from the snapshot
    again.state.current = 3
    drive.wait_for(again.embedding_done)
    assert again.workspace is shown and again.state.current == 3  # unchanged: the view is kept
    assert events == ["table_ready", "opened"] and not again.provisional
    again.shutdown(stop_layouts=False)

    make.text(folder / "x2.txt", "these words changed")
    third = AppModel(ViewState(), scheduler=scheduler)
    ready = []
    third.table_ready.connect(lambda: ready.append(third.workspace))
    third.open_path(folder, options)
    drive.wait_for(third.embedding_done)
    assert len(ready) == 2 and ready[0] is not ready[1]  # snapshot, then the changed table
    assert ready[0].table.content_digest != ready[1].table.content_digest
    third.shutdown(stop_layouts=False)


def test_fits_metrics_and_item_values_wait_for_the_first_picture(scheduler, drive, monkeypatch, tmp_path):
    """On two cores the secondary jobs delayed the first map of 100k items by ~15 s: they start
    only once the first picture is up."""
    import threading

    from mmviewer.core.embed.options import EmbedOptions
    from tests.planted import media_dataset, planted_table

    release = threading.Event()
    real_layout = jobs.layout_job

    def held_layout(*args, **kwargs):
        release.wait(30)
        yield from real_layout(*args, **kwargs)

    monkeypatch.setattr(jobs, "layout_job", held_layout)
    model = AppModel(ViewState(), scheduler=scheduler)
    model.options = EmbedOptions(use_store=False)
    secondary = ("warm-up", "metrics", "item-values", "map-drivers")
    try:
        model.set_table(planted_table(), media_dataset(tmp_path / "data"))
        drive.settle(2.0)  # longer than any of their delays
        assert model.jobs.is_active("layout")
        assert not any(model.jobs.is_active(slot) for slot in secondary)
        release.set()
        drive.wait_for(model.layout_ready)
        drive.until(lambda: model.jobs.is_active("metrics") or model.items.done, 30)
        (result,) = drive.wait_for(model.metrics_ready, 60)
        assert result["pairs"]
    finally:
        release.set()
        model.shutdown(stop_layouts=False)
