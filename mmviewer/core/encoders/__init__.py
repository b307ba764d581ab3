"""Encoders: media -> fixed-length float32 unit vectors, one encoder per modality.

=============  ======================================  ==========================================
name           class                                   id
=============  ======================================  ==========================================
clip-image     :class:`.clip.ClipImageEncoder`          ``clip:ViT-B-32@openai/image``
clip-text      :class:`.clip.ClipTextEncoder`           ``clip:ViT-B-32@openai/text``
pixels         :class:`.image_features.PixelImageEncoder`  ``pixels-v1-320``
tfidf          :class:`.text_tfidf.TfidfLsaEncoder`     ``tfidf-lsa256-<corpus fingerprint>``
mfcc           :class:`.audio_features.MfccEncoder`     ``mfcc40-d2-v1@16k``
logmel         :class:`.audio_features.LogMelEncoder`   ``logmel64-v1@16k``
=============  ======================================  ==========================================

Importing this package is cheap: torch, open_clip, librosa and scikit-learn are imported by the
encoders when they first need them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders.base import Encoder, WeightsUnavailable

__all__ = [
    "ENCODERS",
    "Encoder",
    "MediaRef",
    "WeightsUnavailable",
    "default_encoders",
    "describe_encoders",
    "embed_query",
    "make_encoder",
]


def _clip_image(**options) -> Encoder:
    from mmviewer.core.encoders.clip import ClipImageEncoder

    return ClipImageEncoder(**options)


def _clip_text(**options) -> Encoder:
    from mmviewer.core.encoders.clip import ClipTextEncoder

    return ClipTextEncoder(**options)


def _pixels(**options) -> Encoder:
    from mmviewer.core.encoders.image_features import PixelImageEncoder

    return PixelImageEncoder(**options)


def _tfidf(**options) -> Encoder:
    from mmviewer.core.encoders.text_tfidf import TfidfLsaEncoder

    return TfidfLsaEncoder(**options)


def _mfcc(**options) -> Encoder:
    from mmviewer.core.encoders.audio_features import MfccEncoder

    return MfccEncoder(**options)


def _logmel(**options) -> Encoder:
    from mmviewer.core.encoders.audio_features import LogMelEncoder

    return LogMelEncoder(**options)


#: Encoder names -> factories taking the encoder's keyword options.
ENCODERS: dict[str, Callable[..., Encoder]] = {
    "clip-image": _clip_image,
    "clip-text": _clip_text,
    "pixels": _pixels,
    "tfidf": _tfidf,
    "mfcc": _mfcc,
    "logmel": _logmel,
}
AUDIO_ENCODERS = ("mfcc", "logmel")


def make_encoder(name: str, **options) -> Encoder:
    """Build the encoder registered as ``name`` with its keyword ``options``.

    Raises ``ValueError`` for an unknown name; CLIP encoders may raise
    :class:`WeightsUnavailable` (weights missing and not downloadable now).
    """
    try:
        factory = ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}") from None
    return factory(**options)


def default_encoders(
    offline: bool,
    clip_model: str = "ViT-B-32",
    clip_pretrained: str = "openai",
    audio: str = "mfcc",
    device: str | None = None,
    max_audio_seconds: float | None = None,
) -> tuple[dict[str, Encoder], list[str]]:
    """The encoders to use for each modality, and notices for the user.

    CLIP for images and text unless ``offline``; when its weights are unavailable (or the
    model/weights are unusable) the offline image and text encoders are used and the reason is
    returned as a notice. Audio always uses ``audio`` (``mfcc`` or ``logmel``).
    """
    from mmviewer.core.data.model import DEFAULT_LIMITS

    if audio not in AUDIO_ENCODERS:
        raise ValueError(
            f"unknown audio encoder {audio!r}; choose from {', '.join(AUDIO_ENCODERS)}"
        )
    limits = DEFAULT_LIMITS
    if max_audio_seconds is not None:
        limits = replace(limits, max_audio_seconds=float(max_audio_seconds))
    encoders: dict[str, Encoder] = {}
    notices: list[str] = []
    if not offline:
        opts = {"model": clip_model, "pretrained": clip_pretrained, "device": device}
        try:
            encoders["image"] = make_encoder("clip-image", **opts)
            encoders["text"] = make_encoder("clip-text", **opts)
        except WeightsUnavailable as err:
            encoders.clear()
            notices.append(str(err))
        except (ValueError, ImportError, OSError) as err:
            encoders.clear()
            notices.append(
                f"CLIP ({clip_model}, {clip_pretrained}) cannot be used: {err}. "
                "Using the offline encoders (pixel features for images, TF-IDF for text)."
            )
    encoders.setdefault("image", make_encoder("pixels"))
    encoders.setdefault("text", make_encoder("tfidf"))
    encoders["audio"] = make_encoder(audio, limits=limits)
    return encoders, notices


def embed_query(encoder: Encoder, text: str) -> np.ndarray:
    """A free query text as a (dim,) vector from a text encoder (CLIP or a fitted TF-IDF).

    Text encoders take the text itself as their prepared payload, so this is ``encode([text])``.
    """
    if encoder.modality != "text":
        raise ValueError(f"{encoder.describe()} does not embed text")
    return np.asarray(encoder.encode([text.strip()]), dtype=np.float32)[0]


_LIBRARIES = ("numpy", "torch", "open_clip_torch", "librosa", "scikit-learn", "pillow", "soundfile")


def describe_encoders(encoders: Mapping[str, Encoder] | None = None) -> list[str]:
    """Lines for an About box: the encoders in use (if given) and the library versions."""
    from importlib.metadata import PackageNotFoundError, version

    lines = []
    for modality, enc in (encoders or {}).items():
        lines.append(f"{modality}: {enc.describe()}")
    found = []
    for lib in _LIBRARIES:
        try:
            found.append(f"{lib} {version(lib)}")
        except PackageNotFoundError:
            found.append(f"{lib} (not installed)")
    lines.append("Libraries: " + ", ".join(found))
    return lines
