"""Offline audio encoders: clip-level summaries of MFCCs or log-mel spectra (no weights).

``prepare`` does all the work (decode with :func:`mmviewer.core.data.media.load_audio`, then the
features) and runs in worker processes; ``encode`` only stacks. Frames are 25 ms windows every
10 ms over a 64-band mel spectrogram (20 Hz to Nyquist) in dB (power, ref 1.0, 80 dB range).

Normalisation is fixed and stateless, so no coefficient dominates the vector by its scale:

* MFCC (orthonormal DCT of the log-mel dB frames): coefficient k >= 1 is divided by
  ``60 * k**-0.6`` -- a power-law fit to the spread of each coefficient over speech at these
  settings, hard-coded -- so each has roughly unit spread. c0 is ``sqrt(n_mels)`` times the
  frame's mean level in dB; it becomes ``(level + 40 dB) / 20 dB``. Deltas use the same scales
  divided by 6, delta-deltas by 12 (their typical spread relative to the static coefficients).
  Summary per coefficient: mean and standard deviation over time (for static, delta and
  delta-delta); standard deviations have the reference 1 subtracted, so typical speech sits
  near 0 in every block and cosine similarity is not dominated by a common offset.
* log-mel: per-band mean minus the clip's mean level (spectral shape, /10 dB), the level itself
  (as above), per-band standard deviation (/20 dB, minus 1) and per-band delta standard
  deviation (/3 dB per frame, minus 1).

The output is L2-normalised. Clips shorter than one window are zero-padded to one; deltas use
``mode="nearest"`` so any number of frames works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmviewer.core.data import media
from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders.base import Encoder

N_MELS = 64
WINDOW_S = 0.025
HOP_S = 0.010
DELTA_WIDTH = 9
SEGMENTS = 8  # equal stretches of the sounding part summarised in order (MFCC v2)
REFERENCE_DB = -40.0  # the level that maps to 0
LEVEL_SCALE_DB = 20.0


def _frames(sr: int) -> tuple[int, int, int]:
    win = int(round(WINDOW_S * sr))
    hop = int(round(HOP_S * sr))
    n_fft = 1 << (win - 1).bit_length()
    return n_fft, win, hop


def log_mel(samples: np.ndarray, sr: int) -> np.ndarray:
    """(N_MELS, frames) log-mel power spectrogram in dB."""
    import librosa

    n_fft, win, hop = _frames(sr)
    y = np.asarray(samples, dtype=np.float32)
    if y.size < n_fft:  # shorter than one window: pad, so there is at least one full frame
        y = np.pad(y, (0, n_fft - y.size))
    mel = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, win_length=win, hop_length=hop, n_mels=N_MELS, fmin=20.0, power=2.0
    )
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0).astype(np.float32)


def _deltas(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    d1 = librosa.feature.delta(x, width=DELTA_WIDTH, order=1, mode="nearest", axis=-1)
    d2 = librosa.feature.delta(x, width=DELTA_WIDTH, order=2, mode="nearest", axis=-1)
    return d1, d2


def mfcc_scales(n_mfcc: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient (offset, scale) for static MFCCs; see the module docstring."""
    k = np.arange(n_mfcc, dtype=np.float64)
    scale = np.empty(n_mfcc)
    scale[0] = np.sqrt(N_MELS) * LEVEL_SCALE_DB
    scale[1:] = 60.0 * k[1:] ** -0.6
    offset = np.zeros(n_mfcc)
    offset[0] = np.sqrt(N_MELS) * REFERENCE_DB
    return offset, scale


def mfcc_summary(samples: np.ndarray, sr: int, n_mfcc: int = 40, segments: int = SEGMENTS) -> np.ndarray:
    """Unit vector of (6 + segments) * n_mfcc floats: mean and std of MFCCs, deltas and
    delta-deltas over the clip, then the mean MFCCs of ``segments`` equal stretches of the
    clip's sounding part (leading and trailing silence trimmed).

    The stretch means keep the order of sounds (which words, in which order), which the
    clip-level statistics lose; equal stretches, not fixed durations, absorb speaking rate.
    """
    import librosa

    db = log_mel(samples, sr)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=n_mfcc, norm="ortho")
    d1, d2 = _deltas(mfcc)
    offset, scale = mfcc_scales(n_mfcc)
    parts = []
    for x, s, off in ((mfcc, scale, offset), (d1, scale / 6.0, 0.0), (d2, scale / 12.0, 0.0)):
        parts.append((x.mean(axis=1) - off) / s)
        parts.append(x.std(axis=1) / s - 1.0)
    sounding = _sounding_frames(db)
    static = (mfcc[:, sounding] - offset[:, None]) / scale[:, None]
    for stretch in np.array_split(np.arange(static.shape[1]), segments):
        parts.append(static[:, stretch].mean(axis=1) if stretch.size else static.mean(axis=1))
    return _unit(np.concatenate(parts))


def _sounding_frames(db: np.ndarray, below_peak_db: float = 30.0) -> slice:
    """Frames from the first to the last one within ``below_peak_db`` of the loudest."""
    level = db.mean(axis=0)
    loud = np.flatnonzero(level >= level.max() - below_peak_db)
    return slice(int(loud[0]), int(loud[-1]) + 1) if loud.size else slice(None)


def logmel_summary(samples: np.ndarray, sr: int) -> np.ndarray:
    """Unit vector of 3 * N_MELS + 1 floats: spectral shape, level, spread, change."""
    db = log_mel(samples, sr)
    d1, _ = _deltas(db)
    band_mean = db.mean(axis=1)
    level = float(band_mean.mean())
    parts = [
        (band_mean - level) / 10.0,
        np.array([(level - REFERENCE_DB) / LEVEL_SCALE_DB]),
        db.std(axis=1) / 20.0 - 1.0,
        d1.std(axis=1) / 3.0 - 1.0,
    ]
    return _unit(np.concatenate(parts))


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.nan_to_num(np.asarray(x, dtype=np.float64))
    n = float(np.linalg.norm(x))
    return (x / n if n > 1e-12 else x).astype(np.float32)


class _AudioSummary(Encoder):
    modality = "audio"
    batch_size = 256
    prepare_in_processes = True
    version = "v1"

    def __init__(self, limits: media.LoadLimits = media.DEFAULT_LIMITS) -> None:
        self.limits = limits

    def _suffix(self) -> str:
        sr = self.limits.audio_sample_rate
        rate = f"{sr // 1000}k" if sr % 1000 == 0 else f"{sr}hz"
        cap = self.limits.max_audio_seconds
        # The decoding cap changes long clips' vectors, so a non-default one is part of the id.
        capped = "" if cap == media.DEFAULT_LIMITS.max_audio_seconds else f"-max{cap:g}s"
        return f"{self.version}@{rate}{capped}"

    def prepare(self, ref: MediaRef) -> media.Loaded:
        loaded = media.load_audio(ref, self.limits)
        samples, sr = loaded.value
        return media.Loaded(self._features(samples, sr), loaded.notes)

    def encode(self, payloads: Sequence[Any]) -> np.ndarray:
        if not payloads:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([np.asarray(p, dtype=np.float32) for p in payloads])

    def _features(self, samples: np.ndarray, sr: int) -> np.ndarray:
        raise NotImplementedError


class MfccEncoder(_AudioSummary):
    """MFCC + deltas + delta-deltas, mean and std over time, plus the mean MFCCs of
    ``SEGMENTS`` stretches in order (``(6 + SEGMENTS) * n_mfcc`` floats)."""

    version = "v2"

    def __init__(self, n_mfcc: int = 40, limits: media.LoadLimits = media.DEFAULT_LIMITS) -> None:
        super().__init__(limits)
        self.n_mfcc = int(n_mfcc)

    @property
    def id(self) -> str:
        return f"mfcc{self.n_mfcc}-d2-{self._suffix()}"

    @property
    def dim(self) -> int:
        return (6 + SEGMENTS) * self.n_mfcc

    def _features(self, samples: np.ndarray, sr: int) -> np.ndarray:
        return mfcc_summary(samples, sr, self.n_mfcc)

    def describe(self) -> str:
        return f"MFCC ({self.n_mfcc} + deltas), mean/std over time + {SEGMENTS} ordered stretches, {self.dim}-d"


class LogMelEncoder(_AudioSummary):
    """Log-mel band statistics: shape, level, spread, change (``3 * 64 + 1`` floats)."""

    @property
    def id(self) -> str:
        return f"logmel{N_MELS}-{self._suffix()}"

    @property
    def dim(self) -> int:
        return 3 * N_MELS + 1

    def _features(self, samples: np.ndarray, sr: int) -> np.ndarray:
        return logmel_summary(samples, sr)

    def describe(self) -> str:
        return f"log-mel ({N_MELS} bands) statistics, {self.dim}-d"
