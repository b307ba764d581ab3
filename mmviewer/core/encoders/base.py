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
from typing import TYPE_CHECKING, Any

import numpy as np

from mmviewer.core.data.model import MediaRef

if TYPE_CHECKING:
    from mmviewer.core.data.media import Loaded


class WeightsUnavailable(RuntimeError):
    """Model weights could not be found locally or fetched; the message says how to provide them."""


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

    @abstractmethod
    def prepare(self, ref: MediaRef) -> Loaded:
        """Load and preprocess one item; return ``Loaded(payload, notes)``.

        Raise ``mmviewer.core.data.media.MediaError`` for bad input. Must not touch model weights, so
        it can run in a worker thread or process.
        """

    @abstractmethod
    def encode(self, payloads: Sequence[Any]) -> np.ndarray:
        """Return a (len(payloads), dim) float32 array for a batch of prepared payloads."""

    # -- corpus-fitted encoders (``needs_fit = True``), e.g. TF-IDF --------------------------------
    # The job prepares the whole corpus, asks for its fingerprint, and either restores a saved
    # state with that fingerprint or fits and saves one. The fitted state is part of ``id``.
    def corpus_fingerprint(self, payloads: Sequence[Any]) -> str:
        """A short stable hash of the corpus the encoder would be fitted on."""
        raise NotImplementedError

    def fit(self, payloads: Sequence[Any]) -> Encoder:
        """Fit corpus-dependent state; returns self."""
        return self

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as plain numpy arrays (saved with ``np.savez``, no pickle)."""
        raise NotImplementedError

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> Encoder:
        """Restore a state written by ``state_arrays``; returns self."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for people: what this encoder is."""
        return self.id
