"""File → Export report…: the dialog writes the page of what the window shows, with the
selection first; it says why it cannot export yet, and Cancel writes nothing."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from mmviewer.gui.dialogs.share_report import QtShareReportDialog


def page_data(path):
    text = path.read_text(encoding="utf-8")
    return json.loads(text.split('id="mm-data">', 1)[1].split("</script>", 1)[0])


def dialog_for(qtbot, model, path):
    dialog = QtShareReportDialog(model, path, "planted")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_export_writes_the_page_with_the_selection_first(qtbot, model, tmp_path):
    qtbot.waitUntil(lambda: model.positions is not None, timeout=20_000)
    model.state.selection = (5, 17)
    model.state.colour_by = "meta:label"
    dialog = dialog_for(qtbot, model, tmp_path / "out" / "shared")
    dialog.items.setValue(3)
    dialog.title_edit.setText("Planted colours")
    with qtbot.waitSignal(dialog.finished_export, timeout=60_000) as done:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    path = tmp_path / "out" / "shared.html"  # the suffix is added
    assert done.args == [str(path), path.stat().st_size]
    data = page_data(path)
    assert data["header"]["title"] == "Planted colours"
    assert [s["id"] for s in data["samples"]] == ["item05", "item17", data["samples"][2]["id"]]
    assert data["colourings"][0]["key"] == "meta:label"
    assert data["header"]["weights"] == model.state.weight_map
    assert dialog.open_button.isVisible() and "Wrote shared.html" in dialog.status.text()


def test_without_a_map_it_says_why(qtbot, model, tmp_path):
    model.positions = None
    dialog = dialog_for(qtbot, model, tmp_path / "r.html")
    assert not dialog.start()
    assert "the map is still being laid out" in dialog.status.text()
    assert not (tmp_path / "r.html").exists()


def test_cancel_writes_nothing(qtbot, model, tmp_path):
    qtbot.waitUntil(lambda: model.positions is not None, timeout=20_000)
    dialog = dialog_for(qtbot, model, tmp_path / "r.html")
    assert dialog.start()
    dialog.reject()
    qtbot.waitUntil(lambda: not model.jobs.is_active(("export-report", id(dialog))), timeout=20_000)
    assert not (tmp_path / "r.html").exists()


def test_a_write_failure_is_a_message_naming_the_file(qtbot, model, tmp_path):
    qtbot.waitUntil(lambda: model.positions is not None, timeout=20_000)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    notices = []
    model.notice.connect(notices.append)
    dialog = dialog_for(qtbot, model, blocker / "r.html")
    dialog.start()
    qtbot.waitUntil(lambda: "Export failed" in dialog.status.text(), timeout=60_000)
    assert f"could not write {blocker / 'r.html'}" in dialog.status.text()
    assert notices[-1].level == "error" and notices[-1].path == str(blocker / "r.html")
