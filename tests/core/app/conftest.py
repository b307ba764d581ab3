"""The app model without Qt: a :class:`ManualScheduler` that tests drive, in real time."""

from __future__ import annotations

import time

import pytest

from mmviewer.core.app.runner import ManualScheduler


class Driver:
    """Runs what the model's jobs post back, moving the scheduler's clock with real time so
    debounced requests start as they would in the app."""

    def __init__(self, scheduler: ManualScheduler):
        self.scheduler = scheduler
        self._last = time.monotonic()

    def step(self, wait_s: float = 0.02) -> None:
        self.scheduler.wait_posted(wait_s)
        now = time.monotonic()
        self.scheduler.advance(now - self._last)
        self._last = now
        self.scheduler.drain()

    def until(self, condition, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout_s} s")
            self.step()

    def wait_for(self, signal, timeout_s: float = 120.0, check=lambda *args: True) -> tuple:
        """Run until ``signal`` is emitted with arguments passing ``check``; return them."""
        got = []

        def collect(*args):
            if check(*args):
                got.append(args)

        signal.connect(collect)
        try:
            self.until(lambda: bool(got), timeout_s)
        finally:
            signal.disconnect(collect)
        return got[0]

    def settle(self, seconds: float = 0.3) -> None:
        """Keep delivering for ``seconds`` (to see that nothing else arrives)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.step()


@pytest.fixture
def scheduler():
    return ManualScheduler()


@pytest.fixture
def drive(scheduler):
    return Driver(scheduler)


@pytest.fixture
def model(scheduler, drive, tmp_path):
    """An AppModel showing the planted table over real media files (no store)."""
    from mmviewer.core.app.model import AppModel
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.embed.options import EmbedOptions
    from tests.planted import media_dataset, planted_table

    model = AppModel(ViewState(), scheduler=scheduler)
    model.options = EmbedOptions(use_store=False)
    model.set_table(planted_table(), media_dataset(tmp_path / "data"))
    yield model
    model.shutdown(stop_layouts=False)


@pytest.fixture
def reopen(tmp_path, make, scheduler):
    """``reopen()``: a new AppModel showing the planted table over one folder dataset whose
    store keeps the session, as when the app opens the same folder again."""
    from mmviewer.core.app.model import AppModel
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.data.open import open_dataset
    from tests.planted import planted_table

    folder = tmp_path / "ds"
    for i in range(30):
        make.text(folder / f"item{i:02d}.txt", f"text {i}")
    dataset = open_dataset(folder)
    models = []

    def open_again():
        model = AppModel(ViewState(), scheduler=scheduler)
        model.set_table(planted_table(), dataset)
        models.append(model)
        return model

    yield open_again
    for model in models:
        model.shutdown(stop_layouts=False)
