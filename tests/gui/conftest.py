"""GUI fixtures: a small real dataset (files on disk) with a planted embedding table.

Panels are built from a plain :class:`ViewState` and an :class:`AppModel` given a table
directly (``model.set_table``), so panel tests need no encoder and no embedding job.
"""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QSettings

from tests.planted import LABELS, media_dataset, planted_table  # noqa: F401 (fixtures' helpers)


@pytest.fixture(scope="session", autouse=True)
def _audio_device(tmp_path_factory):
    """A null-sink sound server for the session where the machine has none (see audio_sink)."""
    from tests import audio_sink

    server = audio_sink.start_null_sink(tmp_path_factory.mktemp("pulse"))
    yield
    if server is not None:
        os.environ.pop("PULSE_SERVER", None)
        audio_sink.stop(server)


@pytest.fixture
def settings(tmp_path):
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.clear()


@pytest.fixture
def make_window(qtbot, settings):
    """``make_window(options, size)``: a shown MainWindow that does not ask for encoders (as
    after "don't ask again"); closed at the end of the test."""
    from mmviewer.gui.main_window import MainWindow

    windows = []

    def make(options, size=(1400, 900)):
        win = MainWindow(settings=settings, options=options)
        win.ask_encoders = False
        qtbot.addWidget(win)
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        windows.append(win)
        return win

    yield make
    for win in windows:
        win.close()


@pytest.fixture
def table():
    return planted_table()


@pytest.fixture
def model(qtbot, tmp_path):
    """An AppModel showing the planted table over real media files (no store)."""
    from mmviewer.core.app.model import AppModel
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.embed.options import EmbedOptions
    from mmviewer.gui.qt_jobs import QtScheduler

    model = AppModel(ViewState(), scheduler=QtScheduler())
    model.options = EmbedOptions(use_store=False)
    dataset = media_dataset(tmp_path / "data")
    model.set_table(planted_table(), dataset)
    yield model
    model.shutdown(stop_layouts=False)  # the layout child serves the whole test session
