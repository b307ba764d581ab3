"""Safe loaders for the three media types.

Each loader takes a :class:`~mmviewer.core.data.model.MediaRef` and returns a
:class:`Loaded` value plus notes for the import report (an encoding fallback, a capped clip), or
raises :class:`MediaError` with a reason a person understands. Every byte of a dataset is
treated as hostile:

* only regular files are opened, without following a final symlink and without blocking on a
  FIFO (:func:`~mmviewer.core.data.confine.open_regular`);
* only the formats listed here are decoded, chosen by us whatever the file is named, and all
  in-process: no plugin that runs an external program (Ghostscript, ffmpeg) is ever reached;
* every decode has a budget (pixels x bytes per pixel, seconds x channels x rate, text bytes),
  so one file costs at most a few hundred MB however small it is on disk.

Loaders never read outside the path they are given; confinement to the dataset folder is the
scanner's job.
"""

from __future__ import annotations

from mmviewer.core.data.media.audio import AUDIO_FORMATS, load_audio
from mmviewer.core.data.media.common import Loaded, MediaError
from mmviewer.core.data.media.image import IMAGE_FORMATS, load_image, to_rgb
from mmviewer.core.data.media.text import clip_text, decode_text, load_text
from mmviewer.core.data.model import DEFAULT_LIMITS, LoadLimits, MediaRef

__all__ = [
    "AUDIO_FORMATS", "IMAGE_FORMATS", "LOADERS", "Loaded", "MediaError", "clip_text",
    "decode_text", "load", "load_audio", "load_image", "load_text", "to_rgb",
]

LOADERS = {"image": load_image, "text": load_text, "audio": load_audio}


def load(ref: MediaRef, limits: LoadLimits = DEFAULT_LIMITS) -> Loaded:
    """Load any media by its modality."""
    return LOADERS[ref.modality](ref, limits)
