"""The encoder interface, the fake encoder unit tests rely on, and the `load_encoder` factory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rapport.models.encoders import (
    Encoder,
    FakeEncoder,
    encoder_kinds,
    load_encoder,
    normalise_rows,
)

TEXTS = [
    "Senior Python engineer, Django and PostgreSQL",
    "Registered nurse, intensive care unit",
    "",
    "k8s",
]


def test_fake_is_deterministic_across_instances() -> None:
    a = FakeEncoder().encode(TEXTS)
    b = FakeEncoder().encode(list(TEXTS))
    np.testing.assert_array_equal(a, b)


def test_fake_shape_dtype_and_unit_norm() -> None:
    enc = FakeEncoder(dim=64)
    out = enc.encode(TEXTS)
    assert out.shape == (len(TEXTS), 64)
    assert out.dtype == np.float32
    norms = np.linalg.norm(out, axis=1)
    # a text without a single word has no features: it stays the zero vector
    np.testing.assert_allclose(norms[[0, 1, 3]], 1.0, atol=1e-6)
    assert norms[2] == 0.0


def test_fake_empty_input() -> None:
    out = FakeEncoder().encode([])
    assert out.shape == (0, 384)
    assert out.dtype == np.float32


def test_fake_similar_texts_are_closer_than_unrelated() -> None:
    q, near, far = FakeEncoder().encode(
        [
            "python backend engineer with django",
            "backend python developer, django and postgres",
            "registered nurse working night shifts in intensive care",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_fake_batch_size_does_not_change_results() -> None:
    enc = FakeEncoder()
    np.testing.assert_array_equal(enc.encode(TEXTS, batch_size=1), enc.encode(TEXTS))


def test_fake_satisfies_the_protocol() -> None:
    enc = FakeEncoder()
    assert isinstance(enc, Encoder)
    assert enc.id == "fake-hashing-384@v1"
    assert enc.dim == 384


def test_normalise_rows_keeps_zero_rows() -> None:
    out = normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], atol=1e-7)
    assert out.dtype == np.float32


def test_load_fake(tmp_path: Path) -> None:
    enc = load_encoder("fake", tmp_path)
    assert isinstance(enc, FakeEncoder)
    np.testing.assert_array_equal(enc.encode(TEXTS), FakeEncoder().encode(TEXTS))
    assert not any(tmp_path.iterdir())  # nothing exported for the fake


def test_kinds() -> None:
    assert encoder_kinds() == ("fake", "torch", "onnx", "onnx-int8")


def test_unknown_kind_names_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown encoder kind 'bert'") as err:
        load_encoder("bert", tmp_path)
    for kind in encoder_kinds():
        assert kind in str(err.value)


def test_importing_encoders_stays_light() -> None:
    """The factory imports the ML stack lazily: a fresh interpreter using the fake has none."""
    code = (
        "import sys\n"
        "from rapport.models.encoders import load_encoder\n"
        "load_encoder('fake', '.').encode(['x'])\n"
        "heavy = ['torch', 'sentence_transformers', 'onnxruntime', 'transformers', 'tokenizers']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
