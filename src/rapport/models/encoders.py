"""Text encoders: one interface for the real model (torch or ONNX) and a fake for unit tests.

Every encoder returns L2-normalised float32 rows, so inner product is cosine similarity, and
names itself with an `id` that is stored beside every vector it produced. Two encoders share an
id only when their vectors are interchangeable (torch and ONNX fp32 agree to cosine >= 0.999;
int8 does not, so it has its own id).

`load_encoder` picks one by name; torch, sentence-transformers and ONNX Runtime are imported only
when a real encoder is asked for, so code and tests using the fake stay light.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Encoder", "FakeEncoder", "encoder_kinds", "load_encoder", "normalise_rows"]


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into unit vectors."""

    @property
    def id(self) -> str:
        """Stable identity of the vector space, e.g. "all-MiniLM-L6-v2@fp32"."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length (all-zero text gives zeros)."""
        ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float32; zero rows stay zero."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return (matrix / norms).astype(np.float32, copy=False)


_TOKEN = re.compile(r"[a-z0-9+#]+")


class FakeEncoder:
    """Deterministic hashing encoder: texts sharing words or word pieces land close together.

    Signed feature hashing of word unigrams and character trigrams (blake2b, so the same on
    every run and machine). Fast and dependency-free: for unit tests, never for ranking people.
    """

    def __init__(self, dim: int = 384) -> None:
        self._dim = dim

    @property
    def id(self) -> str:
        return f"fake-hashing-{self._dim}@v1"

    @property
    def dim(self) -> int:
        return self._dim

    def _features(self, text: str) -> list[str]:
        words = _TOKEN.findall(text.lower())
        grams = [f"#{w[i : i + 3]}" for w in words for i in range(max(1, len(w) - 2))]
        return words + grams

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                weight = 2.0 if not feature.startswith("#") else 1.0
                out[row, value % self._dim] += weight if (value >> 63) & 1 else -weight
        return normalise_rows(out)


_KINDS = ("fake", "torch", "onnx", "onnx-int8")


def encoder_kinds() -> tuple[str, ...]:
    """Names `load_encoder` accepts (for CLI choices and config validation)."""
    return _KINDS


def load_encoder(kind: str, home: Path, *, threads: int | None = None) -> Encoder:
    """The encoder called `kind`; ONNX kinds export into `home` (the models directory,
    `settings.models_dir`) on first use.

    `threads` caps intra-op threads (ONNX per session; torch process-wide); None uses every core.
    """
    if kind == "fake":
        return FakeEncoder()
    if kind == "torch":
        from rapport.models.minilm import TorchEncoder

        return TorchEncoder(threads=threads)
    if kind in ("onnx", "onnx-int8"):
        from rapport.models.minilm import OnnxEncoder

        return OnnxEncoder(Path(home), "fp32" if kind == "onnx" else "int8", threads=threads)
    raise ValueError(f"unknown encoder kind {kind!r}; valid kinds: {', '.join(_KINDS)}")
