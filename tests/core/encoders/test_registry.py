"""The encoder registry, the default choice and the About-box description."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mmviewer.core.encoders import (
    ENCODERS,
    default_encoders,
    describe_encoders,
    embed_query,
    make_encoder,
)


def test_make_encoder_by_name():
    assert set(ENCODERS) >= {"clip-image", "clip-text", "pixels", "tfidf", "mfcc", "logmel"}
    assert make_encoder("pixels").modality == "image"
    assert make_encoder("tfidf", n_components=32).dim == 32
    assert make_encoder("mfcc", n_mfcc=13).id.startswith("mfcc13-")
    with pytest.raises(ValueError, match="unknown encoder 'nope'.*pixels"):
        make_encoder("nope")


def test_offline_defaults_and_options():
    encoders, notices = default_encoders(offline=True, audio="logmel", max_audio_seconds=5)
    assert notices == []
    assert {m: type(e).__name__ for m, e in encoders.items()} == {
        "image": "PixelImageEncoder",
        "text": "TfidfLsaEncoder",
        "audio": "LogMelEncoder",
    }
    assert encoders["audio"].id == "logmel64-v1@16k-max5s"
    with pytest.raises(ValueError, match="unknown audio encoder"):
        default_encoders(offline=True, audio="wav2vec")


def test_embed_query_for_any_text_encoder():
    enc = make_encoder("tfidf", n_components=8).fit(["red apples", "green pears", "blue sky"])
    vec = embed_query(enc, " red apples ")
    assert vec.shape == (8,) and vec.dtype == np.float32
    np.testing.assert_allclose(vec, enc.encode(["red apples"])[0])
    with pytest.raises(ValueError, match="does not embed text"):
        embed_query(make_encoder("pixels"), "red")


def test_describe_encoders_lists_encoders_and_libraries():
    encoders, _ = default_encoders(offline=True)
    lines = describe_encoders(encoders)
    assert lines[0].startswith("image: pixel features") and "TF-IDF" in lines[1]
    assert lines[-1].startswith("Libraries: ") and "numpy" in lines[-1] and "librosa" in lines[-1]


def test_import_stays_light():
    code = (
        "import sys, mmviewer.core.encoders, mmviewer.core.encoders.clip, "
        "mmviewer.core.encoders.audio_features, mmviewer.core.encoders.text_tfidf, "
        "mmviewer.core.encoders.image_features; "
        "print(sorted(m for m in ('torch', 'open_clip', 'librosa', 'sklearn', 'huggingface_hub') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
