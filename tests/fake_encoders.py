"""Tiny deterministic encoders for testing the job and store mechanics (not the models)."""

from __future__ import annotations

import hashlib

import numpy as np

from mmviewer.core.data import media
from mmviewer.core.data.model import MediaRef
from mmviewer.core.encoders.base import Encoder


class CountingEncoder(Encoder):
    """Vectors from a hash of the decoded content; counts what it encodes."""

    batch_size = 4

    def __init__(self, modality: str, dim: int = 8, version: str = "v1"):
        self.modality = modality
        self._dim = dim
        self.version = version
        self.encoded: list[int] = []  # batch sizes seen by encode

    @property
    def id(self) -> str:
        return f"counting-{self.modality}-{self._dim}-{self.version}"

    @property
    def dim(self) -> int:
        return self._dim

    def prepare(self, ref: MediaRef):
        loaded = media.load(ref)
        value = loaded.value
        if self.modality == "image":
            raw = np.asarray(value, dtype=np.float32).mean(axis=(0, 1)).tobytes()
        elif self.modality == "audio":
            raw = np.asarray(value[0][:100]).tobytes()
        else:
            raw = value.encode()
        return media.Loaded(raw, loaded.notes)

    def encode(self, payloads):
        self.encoded.append(len(payloads))
        out = np.empty((len(payloads), self._dim), dtype=np.float32)
        for i, raw in enumerate(payloads):
            seed = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(self._dim)
        return out

    @property
    def n_encoded(self) -> int:
        return sum(self.encoded)


def counting_encoders(dim: int = 8) -> dict[str, CountingEncoder]:
    return {m: CountingEncoder(m, dim) for m in ("image", "text", "audio")}
