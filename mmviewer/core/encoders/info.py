"""Plain-Python facts about encoders and libraries for the window (no Qt here).

:func:`clip_weights_status` imports open_clip (seconds), so callers run it in a worker thread.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

#: Suggested pretrained tags per open_clip model (the field stays editable for any other).
MODEL_TAGS = {
    "ViT-B-32": ("openai", "laion2b_s34b_b79k", "datacomp_xl_s13b_b90k"),
    "ViT-B-16": ("openai", "laion2b_s34b_b88k", "dfn2b"),
    "ViT-L-14": ("openai", "laion2b_s32b_b82k", "dfn2b"),
    "RN50": ("openai", "yfcc15m", "cc12m"),
    "MobileCLIP2-S0": ("dfndr2b",),
}

#: (distribution name, label) shown in About.
LIBRARIES = (
    ("PySide6", "PySide6"), ("numpy", "numpy"), ("torch", "torch"),
    ("open_clip_torch", "open_clip"), ("librosa", "librosa"), ("umap-learn", "umap"),
    ("scikit-learn", "scikit-learn"), ("pyqtgraph", "pyqtgraph"), ("superqt", "superqt"),
    ("pyarrow", "pyarrow"),
)

HOW_TO_GET_CLIP = (
    "To use CLIP: run mmviewer once with network access and choose CLIP in File → Open folder… "
    "(the weights go to the Hugging Face cache), or copy a filled Hugging Face cache and set "
    "HF_HOME, or pick a checkpoint file (.pt/.pth/.bin/.safetensors) or an open_clip folder "
    "(local-dir:) in the same dialog."
)


def library_versions() -> list[tuple[str, str]]:
    """``(label, version)`` for Python and each library (read from metadata, nothing imported)."""
    out = [("Python", platform.python_version())]
    for dist, label in LIBRARIES:
        try:
            out.append((label, version(dist)))
        except PackageNotFoundError:
            out.append((label, "not installed"))
    return out


def _nothing_cached(pretrained: str) -> str | None:
    """When ``pretrained`` is a hub tag and the Hugging Face cache holds no model at all, the
    answer is known without importing open_clip (and torch: seconds before the demo opens)."""
    import os
    from pathlib import Path

    from mmviewer.core.encoders.hub import hf_cache_dir

    if not pretrained or "/" in pretrained or os.sep in pretrained or pretrained.startswith(
            ("local-dir:", "hf-hub:")) or pretrained.lower() == "random" or Path(pretrained).expanduser().exists():
        return None
    cache = hf_cache_dir()
    try:
        if any(name.startswith("models--") for name in os.listdir(cache)):
            return None
    except OSError:
        pass
    return (f"the Hugging Face cache {cache} holds no model weights, so CLIP {pretrained!r} "
            "weights are not on this computer. " + HOW_TO_GET_CLIP)


def clip_weights_status(model: str, pretrained: str) -> tuple[bool, str]:
    """Whether CLIP weights for ``model`` + ``pretrained`` are on this computer (never downloads).

    Returns ``(found, message)``; the message names the file found, or says what is missing
    and how to provide it.
    """
    quick = _nothing_cached(pretrained)
    if quick is not None:
        return False, quick
    try:
        from mmviewer.core.encoders.base import WeightsUnavailable
        from mmviewer.core.encoders.clip_weights import resolve_weights
    except ImportError as err:  # encoders not installed / not there yet
        return False, f"CLIP support is not available: {err}"
    try:
        source = resolve_weights(model, pretrained, allow_download=False)
    except WeightsUnavailable as err:
        text = str(err).replace("offline mode was requested, and they are", "they are")
        return False, text
    except ImportError as err:
        return False, f"open_clip cannot be imported: {err}"
    except (ValueError, OSError) as err:
        return False, f"CLIP {model} ({pretrained}) cannot be used: {err}"
    if source.kind == "random":
        return True, f"{model} with random weights (for testing only: matches are meaningless)"
    where = source.checkpoint or source.folder
    return True, f"{model} ({pretrained}): weights found at {where}"


def encoder_kind(encoder_id: str) -> str:
    """A short human name for an encoder id ("CLIP ViT-B-32@openai", "TF-IDF", "MFCC"...)."""
    if encoder_id.startswith("clip:"):
        return "CLIP " + encoder_id[len("clip:"):].rsplit("/", 1)[0]
    if encoder_id.startswith("precomputed:"):
        return "precomputed"
    for prefix, name in (("pixels", "pixel features"), ("tfidf", "TF-IDF"),
                         ("mfcc", "MFCC"), ("logmel", "log-mel")):
        if encoder_id.startswith(prefix):
            return name
    return encoder_id


def encoders_summary(encoders: dict[str, str]) -> str:
    """One line for the status bar: ``image: CLIP ViT-B-32@openai · text: … · audio: MFCC``."""
    return " · ".join(f"{m}: {encoder_kind(e)}" for m, e in encoders.items())


def uses_clip(encoders: dict[str, str]) -> bool:
    return any(str(e).startswith("clip:") for e in encoders.values())
