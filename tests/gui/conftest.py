"""GUI fixtures: a small real dataset (files on disk) with a planted embedding table.

Panels are built from a plain :class:`ViewState` and an :class:`AppController` given a table
directly (``controller.set_table``), so panel tests need no encoder and no embedding job.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from mmviewer.core.data.model import Dataset, Item, MediaRef
from mmviewer.core.data.report import ImportReport
from mmviewer.core.data.table import EmbeddingTable, l2_normalise

LABELS = ("red", "green", "blue")


def planted_table(n: int = 30, seed: int = 0, ids=None) -> EmbeddingTable:
    """image/text share a CLIP-like space; audio is a different (12-d) space; 3 labels."""
    rng = np.random.default_rng(seed)
    labels = np.array([LABELS[i % 3] for i in range(n)], dtype=object)
    centres = rng.standard_normal((3, 16)) * 2
    base = centres[np.arange(n) % 3] + rng.standard_normal((n, 16))
    image = base + 0.1 * rng.standard_normal((n, 16))
    text = base + 0.1 * rng.standard_normal((n, 16))
    audio = base[:, :12] @ np.linalg.qr(rng.standard_normal((12, 12)))[0] + 0.1 * rng.standard_normal((n, 12))
    present = {m: np.ones(n, bool) for m in ("image", "text", "audio")}
    present["audio"][0] = False  # one item without audio
    audio[0] = 0
    ids = ids if ids is not None else [f"item{i:02d}" for i in range(n)]
    return EmbeddingTable(
        np.array(ids, dtype=object),
        {"image": l2_normalise(image), "text": l2_normalise(text), "audio": l2_normalise(audio)},
        present,
        {"image": "clip/test/rand/image", "text": "clip/test/rand/text", "audio": "mfcc-test"},
        {"label": labels},
    )


def media_dataset(folder, n: int = 30):
    """Real files for each planted item, so previews and thumbnails have something to show."""
    from tests import media_factory as make

    colours = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 60, 220)}
    items = []
    for i in range(n):
        item_id = f"item{i:02d}"
        label = LABELS[i % 3]
        media = {
            "image": MediaRef("image", path=make.image(folder / f"{item_id}.png", colours[label]), rel=f"{item_id}.png"),
            "text": MediaRef("text", path=make.text(folder / f"{item_id}.txt", f"a {label} thing number {i}"), rel=f"{item_id}.txt"),
        }
        if i != 0:
            media["audio"] = MediaRef("audio", path=make.tone(folder / f"{item_id}.wav", 200 + 30 * i, seconds=0.3), rel=f"{item_id}.wav")
        items.append(Item(item_id, media, {"label": label}))
    return Dataset(folder, items, ImportReport(), "stem", folder)


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
def table():
    return planted_table()


@pytest.fixture
def controller(qtbot, tmp_path):
    """An AppController showing the planted table over real media files (no store)."""
    from mmviewer.core.app.state import ViewState
    from mmviewer.core.embed.options import EmbedOptions
    from mmviewer.gui.controller import AppController

    ctrl = AppController(ViewState())
    ctrl.options = EmbedOptions(use_store=False)
    dataset = media_dataset(tmp_path / "data")
    with qtbot.waitSignal(ctrl.table_ready, timeout=5000):
        ctrl.set_table(planted_table(), dataset)
    yield ctrl
    ctrl.shutdown()
