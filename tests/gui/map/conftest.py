"""Map panel fixtures: a model that runs no layout jobs, and the panel built on it.

Most map tests use :class:`StillModel`, so a test emits exactly the layouts it wants and
nothing races with it.
"""

from __future__ import annotations

import pytest

from mmviewer.core.app.model import AppModel
from mmviewer.core.app.state import ViewState
from mmviewer.core.embed.options import EmbedOptions
from mmviewer.gui.map.qt_map import QtMap
from mmviewer.gui.qt_jobs import QtScheduler
from tests.gui.people import on_screen
from tests.planted import media_dataset, planted_table


class StillModel(AppModel):
    """Runs no layout or metric jobs: the tests emit the layouts themselves."""

    def request_layout(self, cold: bool = False, delay_s: float = 0.0) -> None:
        pass

    def request_metrics(self, delay_s: float = 0.0) -> None:
        pass

    def request_modality_layout(self) -> None:
        pass


@pytest.fixture
def still(qtbot, tmp_path):
    model = StillModel(ViewState(), scheduler=QtScheduler())
    model.options = EmbedOptions(use_store=False)
    model.set_table(planted_table(), media_dataset(tmp_path / "data"))
    yield model
    model.shutdown(stop_layouts=False)


@pytest.fixture
def panel(qtbot, still):
    return on_screen(qtbot, QtMap(still.state, still), 820, 640)
