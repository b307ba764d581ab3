"""Make small real media files on the fly for tests (PIL images, numpy tones, texts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def image(path: Path, color=(200, 30, 30), size=(64, 48), mode="RGB", fmt=None) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, color)
    # A gradient so features are not constant.
    arr = np.asarray(im).copy()
    arr[:, :, 1] = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :]
    im = Image.fromarray(arr)
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path, format=fmt)
    return path


def tone(path: Path, freq=440.0, seconds=0.5, rate=16000, channels=1, subtype=None, fmt=None) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    y = 0.3 * np.sin(2 * np.pi * freq * t)
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    sf.write(str(path), y, rate, subtype=subtype, format=fmt)
    return path


def text(path: Path, content: str, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode(encoding))
    return path


def item(folder: Path, stem: str, *, image_color=None, words=None, freq=None) -> None:
    """One by-stem item with any subset of the three modalities."""
    if image_color is not None:
        image(folder / f"{stem}.png", image_color)
    if words is not None:
        text(folder / f"{stem}.txt", words)
    if freq is not None:
        tone(folder / f"{stem}.wav", freq)
