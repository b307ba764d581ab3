"""What every encoder provides.

An encoder turns one modality's media into fixed-length float32 vectors in two steps, so the
embedding job can overlap them: ``prepare`` decodes and preprocesses one item (pure, picklable,
runs in a thread or process pool), ``encode`` turns a batch of prepared items into vectors (runs
in the job's thread; this is where a model's forward pass lives).

Every encoder has an ``id`` string. The embedding store keys vectors by (file content hash,
encoder id), so the id must change whenever the vectors would: model, weights, preprocessing,
output dimension, or (for corpus-fitted encoders) the fitted state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class WeightsUnavailable(RuntimeError):
    """Model weights could not be found locally or fetched; the message says how to provide them."""


@dataclass(frozen=True)
class MediaRef:
    """One modality of one item: a file inside the dataset, or inline text from a manifest."""

    modality: str
    path: Path | None = None
    text: str | None = None
    # Cap on decoded audio duration (seconds); None means the loader's default.
    max_seconds: float | None = None

    @property
    def label(self) -> str:
        """How to name this media in a message."""
        if self.path is not None:
            return str(self.path)
        snippet = (self.text or "")[:40]
        return f"inline text {snippet!r}"


class Encoder(ABC):
    """Base class; see the module docstring."""

    modality: str
    #: Preferred batch size for ``encode``.
    batch_size: int = 32
    #: True when ``prepare`` is CPU-heavy Python that holds the GIL (use processes, not threads).
    prepare_in_processes: bool = False
    #: True when the encoder must see the whole corpus (``fit``) before encoding.
    needs_fit: bool = False

    @property
    @abstractmethod
    def id(self) -> str:
        """Stable identifier recorded in the store."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of the output vectors."""

    def fit(self, prepared: Sequence[Any]) -> Encoder:
        """Fit corpus-dependent state (only when ``needs_fit``); returns self."""
        return self

    @abstractmethod
    def prepare(self, ref: MediaRef) -> Any:
        """Load and preprocess one item. Raise ``mmviewer.core.media.MediaError`` for bad input."""

    @abstractmethod
    def encode(self, prepared: Sequence[Any]) -> np.ndarray:
        """Return a (len(prepared), dim) float32 array."""

    def describe(self) -> str:
        """One line for people: what this encoder is."""
        return self.id
