"""Which modality drives the map: its share of each item's fused neighbours."""

from __future__ import annotations

import numpy as np

from mmviewer.core.data.table import EmbeddingTable, l2_normalise
from mmviewer.core.items.dominance import modality_shares


def captioned_digits(n: int = 300, captions: int = 12, seed: int = 0) -> EmbeddingTable:
    """Like the spoken digits: images cluster by digit; the text is one of a few caption
    strings unrelated to the digit, so every item with the same caption has the same vector."""
    rng = np.random.default_rng(seed)
    digit = np.arange(n) % 10
    centres = rng.standard_normal((10, 24)) * 3
    image = centres[digit] + rng.standard_normal((n, 24))
    words = rng.standard_normal((captions, 32))
    text = words[rng.integers(0, captions, n)]
    return EmbeddingTable(np.array([f"d{i}" for i in range(n)], dtype=object),
                          {"image": l2_normalise(image), "text": l2_normalise(text)},
                          {"image": np.ones(n, bool), "text": np.ones(n, bool)},
                          {"image": "img", "text": "tfidf"},
                          {"label": digit.astype(str).astype(object)})


def test_identical_captions_drive_the_map_and_down_weighting_them_hands_it_to_the_images():
    table = captioned_digits()
    equal = modality_shares(table, {"image": 1.0, "text": 1.0}, k=10)
    assert equal.dominant == "text", equal.describe()
    assert equal.shares["text"] > 0.8 and equal.shares["image"] < 0.4
    assert "Text drives the map" in equal.describe()
    low = modality_shares(table, {"image": 1.0, "text": 0.05}, k=10)
    assert low.shares["image"] > equal.shares["image"] + 0.3
    assert low.dominant != "text"


def test_a_balanced_map_names_no_driver_and_samples_big_tables():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((400, 16))
    table = EmbeddingTable(np.arange(400).astype(str).astype(object),
                           {"image": l2_normalise(base + 0.3 * rng.standard_normal((400, 16))),
                            "audio": l2_normalise(base + 0.3 * rng.standard_normal((400, 16)))},
                           {"image": np.ones(400, bool), "audio": np.ones(400, bool)})
    shares = modality_shares(table, {"image": 1.0, "audio": 1.0}, k=10, sample=100)
    assert shares.sampled == 100 and shares.dominant is None
    assert abs(shares.shares["image"] - shares.shares["audio"]) < 0.15
