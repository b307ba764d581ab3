"""Open + choose encoders + embed, in one place for the CLI, the GUI and scripts.

:class:`EmbedOptions` is what a user chooses (encoders, device, caps); :func:`embedding_job`
turns a path and options into the embedding generator, reusing the dataset's store.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mmviewer.core.data.model import DEFAULT_LIMITS, Dataset, LoadLimits

if TYPE_CHECKING:
    from mmviewer.core.embed.job import EmbedResult, Progress

# The job and the store import numpy: imported where used, so the command line's parser (which
# takes its defaults from EmbedOptions) stays instant.


@dataclass(frozen=True)
class EmbedOptions:
    """The user's encoder choices; serialisable (``asdict``) for settings and sessions."""

    offline: bool = False
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "openai"
    audio: str = "mfcc"
    device: str | None = None
    batch_size: int | None = None
    max_audio_seconds: float = DEFAULT_LIMITS.max_audio_seconds
    workers: int | None = None
    use_store: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """The choices that change the vectors (not workers, batch size or caching)."""
        return {k: getattr(self, k) for k in
                ("offline", "clip_model", "clip_pretrained", "audio", "max_audio_seconds")}

    @classmethod
    def from_dict(cls, data: dict | None) -> EmbedOptions:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return replace(cls(), **known)

    @property
    def limits(self) -> LoadLimits:
        return replace(DEFAULT_LIMITS, max_audio_seconds=float(self.max_audio_seconds))


def choose_encoders(options: EmbedOptions):
    """``(encoders by modality, notices)``: CLIP unless offline or weights are missing."""
    from mmviewer.core.encoders import default_encoders

    encoders, notices = default_encoders(
        offline=options.offline,
        clip_model=options.clip_model,
        clip_pretrained=options.clip_pretrained,
        audio=options.audio,
        device=options.device,
        max_audio_seconds=options.max_audio_seconds,
    )
    if options.batch_size:
        for encoder in encoders.values():
            encoder.batch_size = int(options.batch_size)
    return encoders, notices


def embedding_job(
    dataset: Dataset,
    options: EmbedOptions,
    encoders=None,
    cancel: threading.Event | None = None,
) -> Generator[Progress, None, EmbedResult]:
    """The embedding generator for ``dataset`` with the store in its usual place."""
    from mmviewer.core.embed.job import embed_dataset
    from mmviewer.core.store.embedding_store import EmbeddingStore

    if encoders is None:
        encoders, _ = choose_encoders(options)
    store = None
    if options.use_store and dataset.precomputed is None:
        store = EmbeddingStore.for_dataset(dataset.root)
    return embed_dataset(dataset, encoders, store, workers=options.workers, cancel=cancel)


def open_path(path: str | Path, options: EmbedOptions = EmbedOptions()) -> Dataset:
    from mmviewer.core.data.open import open_dataset

    return open_dataset(path, options.limits)
