"""The modalities mmviewer knows and the file extensions that belong to each."""

from __future__ import annotations

IMAGE = "image"
TEXT = "text"
AUDIO = "audio"
MODALITIES: tuple[str, ...] = (IMAGE, TEXT, AUDIO)

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
)
# Everything libsndfile reads, plus mp3/m4a which librosa decodes through audioread/ffmpeg.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc", ".au", ".m4a"}
)
TEXT_EXTENSIONS = frozenset({".txt", ".md"})

_BY_EXTENSION = {
    **{ext: IMAGE for ext in IMAGE_EXTENSIONS},
    **{ext: AUDIO for ext in AUDIO_EXTENSIONS},
    **{ext: TEXT for ext in TEXT_EXTENSIONS},
}


def modality_of(suffix: str) -> str | None:
    """Return the modality for a file suffix (case-insensitive), or None when unknown."""
    return _BY_EXTENSION.get(suffix.lower())
