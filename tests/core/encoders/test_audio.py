"""Offline audio encoders on the formats and lengths users have, and on a real signal."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest

from mmviewer.core.data.media import MediaError
from mmviewer.core.data.model import DEFAULT_LIMITS, MediaRef
from mmviewer.core.encoders.audio_features import LogMelEncoder, MfccEncoder

sf = pytest.importorskip("soundfile")


def _write(path, y, rate, subtype=None, fmt=None):
    sf.write(str(path), y, rate, subtype=subtype, format=fmt)
    return MediaRef("audio", path=path)


def _tone(freq, seconds, rate, channels=1, noise=0.0, seed=0):
    t = np.arange(int(seconds * rate)) / rate
    y = 0.3 * np.sin(2 * np.pi * freq * t) + noise * np.random.default_rng(seed).standard_normal(
        t.size
    )
    return np.stack([y, 0.5 * y], axis=1) if channels == 2 else y


@pytest.fixture(params=[MfccEncoder, LogMelEncoder], ids=["mfcc", "logmel"])
def encoder(request):
    return request.param()


def test_ids_and_dims():
    assert MfccEncoder().id == "mfcc40-d2-v2@16k" and MfccEncoder().dim == 40 * (6 + 8)
    assert MfccEncoder(n_mfcc=20).id == "mfcc20-d2-v2@16k"
    assert LogMelEncoder().id == "logmel64-v1@16k" and LogMelEncoder().dim == 193
    capped = MfccEncoder(limits=replace(DEFAULT_LIMITS, max_audio_seconds=10))
    assert capped.id == "mfcc40-d2-v2@16k-max10s"  # the cap changes long clips' vectors


@pytest.mark.parametrize(
    "name, rate, channels, subtype, fmt, seconds",
    [
        ("u8_stereo_48k.wav", 48000, 2, "PCM_U8", "WAV", 0.6),
        ("clip.flac", 22050, 1, "PCM_16", "FLAC", 0.6),
        ("clip.ogg", 44100, 2, "VORBIS", "OGG", 0.6),
        ("short.wav", 16000, 1, "PCM_16", "WAV", 0.05),
        ("tiny.wav", 16000, 1, "FLOAT", "WAV", 0.001),  # 16 samples: shorter than one frame
    ],
)
def test_formats_and_lengths(tmp_path, encoder, name, rate, channels, subtype, fmt, seconds):
    ref = _write(tmp_path / name, _tone(440, seconds, rate, channels), rate, subtype, fmt)
    vec = encoder.prepare(ref).value
    assert vec.shape == (encoder.dim,) and vec.dtype == np.float32
    assert np.isfinite(vec).all() and abs(np.linalg.norm(vec) - 1) < 1e-5
    # Fixed per-coefficient scaling: no single coefficient (e.g. MFCC c0 energy) dominates.
    assert np.abs(vec).max() < 0.5
    out = encoder.encode([vec, vec])
    assert out.shape == (2, encoder.dim)


def test_a_real_signal(tmp_path, encoder):
    """Tones near each other in pitch (and the same tone louder) beat noise and a far tone."""
    rate = 16000
    refs = {
        "low": _tone(300, 1.0, rate, noise=0.01, seed=1),
        "low2": _tone(330, 1.0, rate, noise=0.01, seed=2),
        "low_loud": 2.5 * _tone(300, 1.0, rate, noise=0.01, seed=3),
        "high": _tone(3500, 1.0, rate, noise=0.01, seed=4),
        "noise": 0.2 * np.random.default_rng(5).standard_normal(rate),
    }
    v = {k: encoder.prepare(_write(tmp_path / f"{k}.wav", y, rate)).value for k, y in refs.items()}
    for near in ("low2", "low_loud"):
        for far in ("high", "noise"):
            assert v["low"] @ v[near] > v["low"] @ v[far] + 0.05, (near, far)


def test_silence_bad_files_and_pickling(tmp_path, encoder):
    vec = encoder.prepare(_write(tmp_path / "silence.wav", np.zeros(8000), 16000)).value
    assert np.isfinite(vec).all()
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(MediaError):
        encoder.prepare(MediaRef("audio", path=junk))
    clone = pickle.loads(pickle.dumps(encoder))  # prepare runs in worker processes
    ref = _write(tmp_path / "t.wav", _tone(500, 0.3, 16000), 16000)
    np.testing.assert_array_equal(clone.prepare(ref).value, encoder.prepare(ref).value)


def test_mfcc_keeps_the_order_of_sounds(tmp_path, make):
    """Two tones in either order have the same clip statistics; the ordered stretches differ."""
    import numpy as np
    import soundfile as sf

    from mmviewer.core.encoders.audio_features import mfcc_summary

    t = np.arange(8000) / 16000
    low, high = np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 2400 * t)
    a = mfcc_summary(np.concatenate([low, high]).astype(np.float32), 16000)
    b = mfcc_summary(np.concatenate([high, low]).astype(np.float32), 16000)
    n = 40 * 6
    assert np.allclose(a[:n] / np.linalg.norm(a[:n]), b[:n] / np.linalg.norm(b[:n]), atol=0.05)
    assert np.linalg.norm(a[n:] - b[n:]) > 0.1
    sf.write(tmp_path / "x.wav", np.zeros(100), 16000)  # silence only: still a finite vector
    assert np.isfinite(mfcc_summary(np.zeros(1600, np.float32), 16000)).all()
