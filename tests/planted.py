"""A small planted dataset for model and panel tests: a table with known structure over real
media files (so previews and thumbnails have something to show)."""

from __future__ import annotations

import numpy as np

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
