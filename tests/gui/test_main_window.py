"""The main window end to end: open a real folder, re-weight, drop, report, recent, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from mmviewer.core.embed.job import Progress
from mmviewer.core.embed.options import EmbedOptions

OFFLINE = EmbedOptions(offline=True)
COLOURS = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (230, 200, 40)]
WORDS = ["a red apple on a table", "green grass in a field", "blue sky over the sea",
         "a yellow sun at noon"]
SLOW = 180_000  # ms: first UMAP in a process compiles numba code


def make_dataset(folder, make, n: int = 12, corrupt: bool = False):
    """``n`` by-stem items (image, text, tone), four kinds that share colour/words/pitch."""
    for i in range(n):
        kind = i % 4
        make.image(folder / f"item{i:02d}.png", COLOURS[kind], size=(48 + i, 40))
        make.text(folder / f"item{i:02d}.txt", f"{WORDS[kind]}, picture number {i}")
        make.tone(folder / f"item{i:02d}.wav", 220 * (kind + 1) + 7 * i, seconds=0.4)
    if corrupt:
        (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    return folder


@pytest.fixture
def window(qtbot, settings):
    from mmviewer.gui.main_window import MainWindow

    win = MainWindow(settings=settings, options=OFFLINE)
    win.ask_encoders = False  # as after "don't ask again this session"
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.close()


def _open(qtbot, window, folder, options=OFFLINE):
    with qtbot.waitSignal(window.model.table_ready, timeout=SLOW):
        window.open_path(folder, options)


def _similar_rows(panel):
    return [(r["match_id"], round(r["score"], 5)) for r in panel.rows_for_export()
            if r["list"] == "similar"]


def test_open_reweight_and_everything_follows(qtbot, window, tmp_path, make):
    folder = make_dataset(tmp_path / "data", make)
    model = window.model
    umaps = []
    model.layout_ready.connect(lambda pos, kind: umaps.append(pos) if kind == "umap" else None)
    with qtbot.waitSignal(model.table_ready, timeout=SLOW):
        model.open_path(folder, OFFLINE)
    ws = model.workspace
    assert ws.table.n_items == 12 and set(ws.table.modalities) == {"image", "text", "audio"}
    assert set(window.panels["fusion"].sliders) == {"image", "text", "audio"}
    assert "TF-IDF" in window.status.encoders_label.text()
    qtbot.waitUntil(lambda: bool(umaps), timeout=SLOW)
    first_layout = umaps[-1].copy()

    model.state.current = 0
    before = ws.similar(0, model.state.weight_map, model.state.k)
    matches = window.panels["matches"]
    has_panel = hasattr(matches, "rows_for_export")
    if has_panel:
        qtbot.waitUntil(lambda: bool(_similar_rows(matches)), timeout=SLOW)
        shown_before = _similar_rows(matches)

    n = len(umaps)
    window.panels["fusion"].sliders["image"].setValue(0.0)  # a drag to the left end
    assert model.state.weight_map["image"] == 0.0
    after = ws.similar(0, model.state.weight_map, model.state.k)
    assert (before.rows.tolist() != after.rows.tolist()
            or not np.allclose(before.scores, after.scores))
    if has_panel:  # the panel re-weights during the drag, without waiting for a job
        qtbot.waitUntil(lambda: _similar_rows(matches) and _similar_rows(matches) != shown_before,
                        timeout=10_000)
    qtbot.waitUntil(lambda: len(umaps) > n, timeout=SLOW)  # debounced warm re-layout
    assert umaps[-1].shape == (12, 2) and not np.allclose(umaps[-1], first_layout)


def test_dropping_a_folder_opens_it(qtbot, window, tmp_path, make):
    folder = make_dataset(tmp_path / "dropped", make, n=6)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.model.table_ready, timeout=SLOW):
        window.dropEvent(event)
    assert event.isAccepted()
    assert window.model.workspace.table.n_items == 6
    assert "dropped" in window.windowTitle()


def test_dropping_something_else_is_refused(window, tmp_path):
    from mmviewer.gui.main_window import droppable_path

    junk = tmp_path / "notes.docx"
    junk.write_text("x")
    assert droppable_path([QUrl.fromLocalFile(str(junk)), QUrl("https://example.org/x")]) is None
    table = tmp_path / "vectors.npz"
    table.write_bytes(b"")
    assert droppable_path([QUrl.fromLocalFile(str(table))]) == table


def test_import_report_lists_a_corrupt_file(qtbot, window, tmp_path, make):
    folder = make_dataset(tmp_path / "data", make, n=6, corrupt=True)
    _open(qtbot, window, folder)
    assert window.report_button.isVisible() and "(" in window.report_button.text()
    dialog = window._on_report_triggered()
    qtbot.addWidget(dialog)
    rows = dialog.visible_rows()
    assert any(kind == "Skipped" and "broken.png" in path and reason for kind, path, reason in rows)
    dialog.filter_edit.setText("broken")
    assert [r[1] for r in dialog.visible_rows()] == ["broken.png"]
    assert "broken.png" in dialog.as_text()
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("note"))
    assert all(r[0] == "Note" for r in dialog.visible_rows())


def test_recent_list_updates_and_prunes(qtbot, window, tmp_path, make):
    from mmviewer.gui.menus import fill_recent_menu

    gone = tmp_path / "gone"
    gone.mkdir()
    window.recent.add(gone)
    gone.rmdir()
    folder = make_dataset(tmp_path / "data", make, n=5)
    _open(qtbot, window, folder)
    assert window.recent.paths() == [str(folder.resolve())]  # newest first, the vanished one pruned
    fill_recent_menu(window)
    data = [a.data() for a in window.recent_menu.actions() if a.data()]
    assert data == [str(folder.resolve())]
    for i in range(12):
        window.recent.add(tmp_path)
        other = tmp_path / f"d{i}"
        other.mkdir()
        window.recent.add(other)
    assert len(window.recent.paths()) == 10


def test_a_missing_path_is_an_error_in_the_status_bar(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.model.notice, timeout=30_000):
        window.open_path(tmp_path / "no-such-folder")
    status = window.status
    assert "no-such-folder" in status.message.text()
    assert status.last_notice.level == "error" and "b00020" in status.message.styleSheet()
    qtbot.waitUntil(lambda: not status.cancel_button.isVisible(), timeout=10_000)
    from PySide6.QtWidgets import QPlainTextEdit

    dialog = status.details_dialog()
    qtbot.addWidget(dialog)
    assert "no-such-folder" in dialog.findChild(QPlainTextEdit).toPlainText()


def test_progress_and_cancel_in_the_status_bar(window):
    status = window.status
    status.start_embedding("data")
    window.model.progress.emit(Progress("encoding", "image", 10, 10, 50.0, 0.0))
    window.model.progress.emit(Progress("encoding", "text", 30, 120, 12.5, 7.2))
    text = status.progress_label.text()
    assert "image ✓" in text and "encoding text 30/120" in text
    assert "12 items/s" in text or "13 items/s" in text
    assert "7 s left" in text
    assert status.progress_bar.maximum() == 120 and status.progress_bar.value() == 30
    assert status.cancel_button.isVisible()
    status.cancel_button.click()
    assert window.model._stop_embedding.is_set()


def test_session_is_saved_when_switching_datasets(qtbot, window, tmp_path, make):
    first = make_dataset(tmp_path / "first", make, n=5)
    second = make_dataset(tmp_path / "second", make, n=5)
    stored = EmbedOptions(offline=True, use_store=True)
    _open(qtbot, window, first, stored)
    window.state.set_weight("audio", 0.3)
    _open(qtbot, window, second, stored)
    sessions = list(first.rglob("session.json"))
    assert sessions and json.loads(sessions[0].read_text())["weights"]["audio"] == 0.3
    _open(qtbot, window, first, stored)  # restored on reopen
    assert window.state.weight_map["audio"] == 0.3
    assert window.panels["fusion"].sliders["audio"].value() == pytest.approx(0.3)


def test_exports_write_files(qtbot, window, tmp_path, make):
    folder = make_dataset(tmp_path / "data", make, n=8)
    model = window.model
    with qtbot.waitSignal(model.metrics_ready, timeout=SLOW):
        _open(qtbot, window, folder)
    exporter = window.exporter
    with qtbot.waitSignal(exporter.finished, timeout=60_000):
        assert exporter.export_matches(tmp_path / "m.csv")
    header = (tmp_path / "m.csv").read_text().splitlines()[0]
    assert "query_id" in header and "is_partner" in header
    with qtbot.waitSignal(exporter.finished, timeout=60_000):
        assert exporter.export_matches(tmp_path / "m.parquet")
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "m.parquet").num_rows > 0
    assert exporter.export_metrics(tmp_path / "metrics.json", window.panels.get("metrics"))
    assert json.loads((tmp_path / "metrics.json").read_text())
    assert exporter.export_map(tmp_path / "map.png", window.panels.get("map"))
    assert (tmp_path / "map.png").stat().st_size > 0


def test_search_by_meaning_focuses_the_text_query(qtbot, window):
    from PySide6.QtWidgets import QLineEdit

    if not hasattr(window.panels["query"], "edit") and window.panels["query"].findChild(QLineEdit) is None:
        pytest.skip("the text query panel is not available")
    window.docks["query"].hide()
    window.activateWindow()
    window.actions_by_name["find_meaning"].trigger()
    assert window.docks["query"].isVisible()
    edit = window.panels["query"].findChild(QLineEdit)
    qtbot.waitUntil(lambda: edit.hasFocus(), timeout=5_000)


def test_menus_have_shortcuts_and_tooltips(window):
    from PySide6.QtGui import QKeySequence

    a = window.actions_by_name
    assert a["open"].shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert a["quit"].shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    assert a["find"].shortcut() == QKeySequence(QKeySequence.StandardKey.Find)
    assert all(action.toolTip() for action in a.values())
    assert {"view_fusion", "view_matches", "view_preview", "view_metrics", "view_query"} <= set(a)


def test_about_names_versions_encoders_and_clip_weights(qtbot, window, tmp_path, make):
    folder = make_dataset(tmp_path / "data", make, n=5)
    _open(qtbot, window, folder)
    window.model.options = EmbedOptions(offline=True, clip_pretrained=f"local-dir:{tmp_path}/none")
    about = window._on_about_triggered()
    qtbot.addWidget(about)
    qtbot.waitUntil(lambda: "checking" not in about.text.text(), timeout=60_000)
    text = about.text.text()
    for word in ("mmviewer", "Python", "PySide6", "numpy", "torch", "open_clip", "librosa", "umap",
                 "tfidf", "mfcc", "not found"):
        assert word in text, word


def test_window_geometry_is_remembered(qtbot, settings):
    from mmviewer.gui.main_window import MainWindow

    win = MainWindow(settings=settings, options=OFFLINE)
    qtbot.addWidget(win)
    win.show()
    win.docks["metrics"].hide()
    win.close()
    again = MainWindow(settings=settings, options=OFFLINE)
    qtbot.addWidget(again)
    again.show()
    assert not again.docks["metrics"].isVisible() and again.docks["fusion"].isVisible()


def test_qt_startup_problems_are_explained(monkeypatch, capsys, tmp_path):
    from mmviewer.gui import app

    monkeypatch.setattr(app.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert "DISPLAY" in app.qt_startup_problem()
    assert app.run_gui() == app.EXIT_NO_QT
    assert "xvfb-run" in capsys.readouterr().err
    monkeypatch.setenv("DISPLAY", ":99")  # a display, but the xcb plugin cannot load
    broken = tmp_path / "libqxcb.so"
    broken.write_bytes(b"not a shared object")
    monkeypatch.setattr(app, "_xcb_plugin", lambda: broken)
    message = app.qt_startup_problem()
    assert "libxcb-cursor0" in message and "ldd" in message
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert app.qt_startup_problem() is None


def test_every_control_has_a_tooltip(qtbot, window, tmp_path, make):
    """Issue 7: tooltips on every control, once a dataset fills the panels."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSlider,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
    )

    _open(qtbot, window, make_dataset(tmp_path / "d", make))
    kinds = (QAbstractButton, QComboBox, QAbstractSlider, QLineEdit, QAbstractSpinBox)
    missing = []
    widgets = [w for kind in kinds for w in window.findChildren(kind)]
    for widget in dict.fromkeys(widgets):
        if not widget.isVisibleTo(window) or widget.toolTip():
            continue
        parent = widget.parentWidget()
        # Parts of composite controls (a spin box's line edit, a labeled slider's slider, a
        # scroll bar, table/list headers) are described by their owner's tooltip.
        if parent is not None and (parent.toolTip() or isinstance(parent, kinds)):
            continue
        if type(widget).__name__ in ("QScrollBar", "QTabBar") or widget.objectName().startswith("qt_"):
            continue  # Qt's own parts: dock float/close buttons, toolbar extension arrow
        missing.append(f"{type(widget).__name__} {widget.objectName()!r} {getattr(widget, 'text', lambda: '')()!r}")
    assert missing == [], missing
