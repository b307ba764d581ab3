"""An image encoder that needs no weights: colour, layout and edge statistics.

The image is decoded with :func:`mmviewer.core.data.media.load_image`, shrunk early (PIL's
``reducing_gap`` box-reduces before the final resample) to a ``SIDE x SIDE`` square, and
described by three blocks, each L2-normalised and weighted so that none dominates:

* colour: a joint HSV histogram (8 hue x 4 saturation x 4 value bins), square-rooted (the
  Hellinger map, so a dot product is the Bhattacharyya coefficient);
* layout: an 8x8 greyscale thumbnail, mean-centred (brightness-invariant);
* edges: a HOG-like histogram of unsigned gradient orientations (8 bins) on a 4x4 grid of
  cells, magnitude-weighted, clipped at 0.2 and renormalised (as in SIFT) so a few strong
  edges do not swamp the rest.

The output is a unit vector of ``DIM`` floats; the encoder is stateless and deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmviewer.core.data import media
from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders.base import Encoder

SIDE = 64
HSV_BINS = (8, 4, 4)
THUMB = 8
GRID = 4
ORIENTATIONS = 8
#: Block weights (colour, layout, edges); the output norm is 1 whatever they are.
WEIGHTS = (1.0, 0.8, 1.0)
DIM = int(np.prod(HSV_BINS)) + THUMB * THUMB + GRID * GRID * ORIENTATIONS


def _unit(x: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(x))
    return x / n if n > 1e-12 else np.zeros_like(x)


def colour_block(hsv: np.ndarray) -> np.ndarray:
    """Square-rooted joint HSV histogram of a (H, W, 3) uint8 HSV array (unit norm)."""
    h = hsv[..., 0].astype(np.int32) * HSV_BINS[0] >> 8
    s = hsv[..., 1].astype(np.int32) * HSV_BINS[1] >> 8
    v = hsv[..., 2].astype(np.int32) * HSV_BINS[2] >> 8
    index = (h * HSV_BINS[1] + s) * HSV_BINS[2] + v
    hist = np.bincount(index.ravel(), minlength=int(np.prod(HSV_BINS))).astype(np.float32)
    return np.sqrt(hist / max(hist.sum(), 1.0))


def layout_block(grey: np.ndarray) -> np.ndarray:
    """Mean-centred THUMB x THUMB block means of a (SIDE, SIDE) float array (unit norm)."""
    k = SIDE // THUMB
    thumb = grey.reshape(THUMB, k, THUMB, k).mean(axis=(1, 3)).ravel()
    return _unit(thumb - thumb.mean())


def edge_block(grey: np.ndarray) -> np.ndarray:
    """HOG-like orientation histograms on a GRID x GRID grid (unit norm)."""
    gy, gx = np.gradient(grey)
    mag = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned: an edge and its reverse agree
    b = np.minimum((angle * (ORIENTATIONS / np.pi)).astype(np.int32), ORIENTATIONS - 1)
    cell = SIDE // GRID
    rows, cols = np.indices(grey.shape) // cell
    index = (rows * GRID + cols) * ORIENTATIONS + b
    hist = np.bincount(index.ravel(), weights=mag.ravel(), minlength=GRID * GRID * ORIENTATIONS)
    hist = _unit(hist.astype(np.float32))
    return _unit(np.minimum(hist, 0.2))


def pixel_features(image) -> np.ndarray:
    """The ``DIM``-float unit feature vector of an RGB ``PIL.Image``."""
    from PIL import Image

    small = image.resize((SIDE, SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    hsv = np.asarray(small.convert("HSV"))
    grey = np.asarray(small.convert("L"), dtype=np.float32) / 255.0
    blocks = (colour_block(hsv), layout_block(grey), edge_block(grey))
    out = np.concatenate([w * blk for w, blk in zip(WEIGHTS, blocks, strict=True)])
    return _unit(out.astype(np.float32))


class PixelImageEncoder(Encoder):
    """Offline image encoder: colour histogram + thumbnail + edge orientations (no weights)."""

    modality = "image"
    batch_size = 256
    prepare_in_processes = True

    def __init__(self, limits: media.LoadLimits = media.DEFAULT_LIMITS) -> None:
        self.limits = limits

    @property
    def id(self) -> str:
        return f"pixels-v1-{DIM}"

    @property
    def dim(self) -> int:
        return DIM

    def prepare(self, ref: MediaRef) -> media.Loaded:
        loaded = media.load_image(ref, self.limits)
        return media.Loaded(pixel_features(loaded.value), loaded.notes)

    def encode(self, payloads: Sequence[Any]) -> np.ndarray:
        if not payloads:
            return np.zeros((0, DIM), np.float32)
        return np.stack([np.asarray(p, dtype=np.float32) for p in payloads])

    def describe(self) -> str:
        return f"pixel features (HSV histogram, thumbnail, edge orientations), {DIM}-d"
