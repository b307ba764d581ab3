"""Decoding for the Preview panel, run in worker threads (no Qt here).

Every function goes through the core's safe loaders (:mod:`mmviewer.core.data.media`), so a broken
file becomes a :class:`~mmviewer.core.data.media.MediaError` whose text is shown to the user.
:func:`guarded` turns any exception into such a reason, so nothing reaches the UI as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmviewer.core.data.media import MediaError, load_audio, load_image, load_text

#: Longest side of the image handed to the UI (the label scales it further).
MAX_IMAGE_SIDE = 2048
ENVELOPE_BINS = 2000
SPECTROGRAM_FRAMES = 1000


def guarded(key, func, *args):
    """``(key, func(*args), "")`` or ``(key, None, reason)``: never raises."""
    try:
        return key, func(*args), ""
    except MediaError as err:
        return key, None, str(err)
    except Exception as err:  # noqa: BLE001 - any decoder failure is shown, not raised
        return key, None, f"{type(err).__name__}: {err}"


def read_image(ref, max_side: int = MAX_IMAGE_SIDE):
    """``(RGB PIL image no larger than max_side, original (w, h), notes)``."""
    loaded = load_image(ref)
    im = loaded.value
    size = im.size
    if max(size) > max_side:
        im = im.copy()
        im.thumbnail((max_side, max_side))
    return im, size, loaded.notes


def read_text(ref) -> tuple[str, list[str]]:
    """The full text of a file or inline manifest text, and the loader's notes."""
    loaded = load_text(ref)
    return loaded.value, loaded.notes


@dataclass
class Waveform:
    """What the audio view draws: a min/max envelope and a log-magnitude spectrogram."""

    times: np.ndarray  # (bins,) seconds at each bin's start
    low: np.ndarray  # (bins,) minimum sample in the bin
    high: np.ndarray  # (bins,) maximum sample in the bin
    duration: float
    rate: int
    spectrogram: np.ndarray  # (frames, freqs) dB, max 0
    notes: list[str] = field(default_factory=list)


def envelope(samples: np.ndarray, rate: int, bins: int = ENVELOPE_BINS):
    """Min/max of ``samples`` in about ``bins`` equal bins: ``(times, low, high)``."""
    n = len(samples)
    bins = max(1, min(int(bins), n))
    starts = np.linspace(0, n, bins + 1).astype(np.int64)[:-1]
    low = np.minimum.reduceat(samples, starts)
    high = np.maximum.reduceat(samples, starts)
    return starts / float(rate), low.astype(np.float32), high.astype(np.float32)


def spectrogram(samples: np.ndarray, n_fft: int = 512, max_frames: int = SPECTROGRAM_FRAMES) -> np.ndarray:
    """Hann-windowed magnitude STFT in dB (``(frames, n_fft // 2 + 1)``, top 80 dB kept)."""
    x = np.asarray(samples, np.float32)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    hop = max(n_fft // 4, int(np.ceil((len(x) - n_fft) / max(1, max_frames - 1))))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    mag = np.abs(np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1))
    db = 20 * np.log10(mag + 1e-10)
    db -= db.max()
    return np.maximum(db, -80.0).astype(np.float32)


def read_audio(ref) -> Waveform:
    """Decode an audio file (safe loader, resampled mono) into a :class:`Waveform`."""
    loaded = load_audio(ref)
    samples, rate = loaded.value
    times, low, high = envelope(samples, rate)
    return Waveform(times, low, high, len(samples) / float(rate), int(rate), spectrogram(samples),
                    list(loaded.notes))
