"""The real MiniLM encoders: ONNX export agrees with torch, the cache is reused, repaired when
damaged, and shared safely between processes. One export per session keeps the tier fast."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from rapport.core.seeding import generate_people
from rapport.models import minilm
from rapport.models.encoders import load_encoder
from rapport.models.minilm import (
    FP32_ID,
    INT8_ID,
    ExportError,
    OnnxEncoder,
    TorchEncoder,
    cache_dir,
    cache_problem,
)

pytestmark = [pytest.mark.integration, pytest.mark.model]

# Different from the exporter's own agreement set: the check must hold beyond what it saw.
VARIED = [
    "Staff backend engineer: Go, gRPC, Kafka; led the migration off a monolith",
    "Recruiter",
    "looking for a part-time bookkeeper in Porto, Xero + Sage",
    "Product designer (Figma, user research) — B2B SaaS, 6 yrs",
    "Médica de família com experiência em saúde pública",
    "Fullstack-Entwickler (Vue, Laravel) sucht Remote-Stelle",
    "C++/CUDA performance engineer; HPC, MPI, 3D rendering pipelines",
    "!!!",
    "DevOps / SRE: Terraform, AWS, Kubernetes (CKA), on-call lead",
    "Teacher of mathematics moving into data analysis with SQL and Excel",
]


def _candidate_texts(n: int) -> list[str]:
    people = generate_people(n, 21, now=datetime(2026, 11, 1, tzinfo=UTC))
    return [f"{p.draft.headline}. {p.draft.summary}".strip(". ") for p in people]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the cache exported once for the whole session."""
    path = tmp_path_factory.mktemp("minilm-home")
    enc = OnnxEncoder(path, "fp32")
    assert enc.exported
    return path


@pytest.fixture(scope="session")
def torch_encoder() -> TorchEncoder:
    return TorchEncoder()


@pytest.fixture(scope="session")
def fp32(home: Path) -> OnnxEncoder:
    return OnnxEncoder(home, "fp32")


@pytest.fixture(scope="session")
def int8(home: Path) -> OnnxEncoder:
    return OnnxEncoder(home, "int8")


def test_fp32_onnx_agrees_with_torch(torch_encoder: TorchEncoder, fp32: OnnxEncoder) -> None:
    texts = VARIED + _candidate_texts(40)
    ref = torch_encoder.encode(texts)
    out = fp32.encode(texts)
    assert out.shape == (len(texts), 384)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert _cos(out, ref).min() >= 0.999
    assert fp32.id == torch_encoder.id == FP32_ID  # interchangeable vectors share the id
    assert fp32.dim == torch_encoder.dim == 384


def test_int8_is_close_but_has_its_own_id(torch_encoder: TorchEncoder, int8: OnnxEncoder) -> None:
    texts = VARIED + _candidate_texts(40)
    cos = _cos(int8.encode(texts), torch_encoder.encode(texts))
    assert cos.mean() >= 0.95
    assert cos.min() >= 0.9
    assert int8.id == INT8_ID != FP32_ID
    recorded = int8.manifest["agreement"]["int8"]
    assert 0.9 <= recorded["min_cosine"] <= recorded["mean_cosine"] <= 1.0


def test_manifest_describes_the_cache(home: Path, fp32: OnnxEncoder) -> None:
    cache = cache_dir(home)
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest == fp32.manifest
    for precision, entry in manifest["files"].items():
        data = (cache / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
        assert entry["id"] == (FP32_ID if precision == "fp32" else INT8_ID)
    assert len(manifest["source"]["sha256"]) == 64
    assert manifest["max_seq_length"] == 256
    assert manifest["opset"] == 17
    assert manifest["agreement"]["fp32"]["min_cosine"] >= 0.999
    assert manifest["versions"]["onnxruntime"] and manifest["versions"]["torch"]
    assert manifest["export_seconds"] > 0
    assert not list(cache.glob(".*.tmp"))  # no temp files left behind


def test_second_load_reuses_the_cache(home: Path, fp32: OnnxEncoder) -> None:
    cache = cache_dir(home)
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    for precision in ("fp32", "int8"):
        again = OnnxEncoder(home, precision, threads=1)
        assert not again.exported
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == before
    np.testing.assert_array_equal(OnnxEncoder(home, "fp32").encode(VARIED), fp32.encode(VARIED))


def test_batches_equal_one_by_one(fp32: OnnxEncoder, int8: OnnxEncoder) -> None:
    """Padding to the longest text of a batch must not leak into the shorter ones."""
    texts = [*VARIED, "x " * 300]
    one_by_one = np.vstack([fp32.encode([t]) for t in texts])
    for batch_size in (64, 3, 1):
        np.testing.assert_allclose(fp32.encode(texts, batch_size=batch_size), one_by_one, atol=2e-5)
    # int8 quantises activations with one scale per batch (padding included), so batching moves
    # its vectors a little (seen: cosine 0.97 on "!!!"): one more reason int8 has its own id
    single = np.vstack([int8.encode([t]) for t in texts])
    cos = _cos(int8.encode(texts), single)
    assert cos.min() >= 0.95
    assert cos.mean() >= 0.98


def test_long_text_is_truncated_not_an_error(
    torch_encoder: TorchEncoder, fp32: OnnxEncoder
) -> None:
    head = " ".join(f"skill{i} engineering leadership" for i in range(200))  # > 256 tokens
    a, b = fp32.encode([head + " python django", head + " nursing midwifery"])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the tails differ only past the limit
    ref = torch_encoder.encode([head])
    assert float(_cos(fp32.encode([head]), ref)[0]) >= 0.999


def test_empty_and_wrong_inputs(fp32: OnnxEncoder) -> None:
    assert fp32.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        fp32.encode("a single string")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        fp32.encode(["x"], batch_size=0)


def test_factory_kinds(home: Path) -> None:
    assert load_encoder("onnx", home).id == FP32_ID
    assert load_encoder("onnx-int8", home, threads=1).id == INT8_ID
    torch_enc = load_encoder("torch", home)
    assert torch_enc.id == FP32_ID
    assert torch_enc.encode(["hello"]).shape == (1, 384)


def test_mismatched_or_unloadable_cache_is_detected(home: Path, tmp_path: Path) -> None:
    shutil.copytree(cache_dir(home), cache_dir(tmp_path))
    cache = cache_dir(tmp_path)
    assert cache_problem(tmp_path) is None
    manifest_path = cache / "manifest.json"
    good = json.loads(manifest_path.read_text())

    def with_manifest(edit, precision="fp32") -> str | None:  # type: ignore[no-untyped-def]
        manifest = json.loads(json.dumps(good))
        edit(manifest)
        manifest_path.write_text(json.dumps(manifest))
        return cache_problem(tmp_path, precision)

    assert "source model checksum" in (
        with_manifest(lambda m: m["source"].update(sha256="0" * 64)) or ""
    )
    assert "checksum does not match" in (
        with_manifest(lambda m: m["files"]["fp32"].update(sha256="0" * 64)) or ""
    )
    assert "export format" in (with_manifest(lambda m: m.update(format=0)) or "")

    # a file that matches its (rewritten) checksum but is no ONNX graph
    garbage = b"not an onnx model" * 100
    digest = hashlib.sha256(garbage).hexdigest()
    (cache / "model-int8.onnx").write_bytes(garbage)
    assert "does not load" in (
        with_manifest(lambda m: m["files"]["int8"].update(sha256=digest), "int8") or ""
    )

    assert "malformed" in (with_manifest(lambda m: m.update(source="oops")) or "")
    manifest_path.write_text("{truncated")
    assert cache_problem(tmp_path)
    manifest_path.unlink()
    assert "missing" in (cache_problem(tmp_path) or "")


_LOAD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from rapport.models.minilm import OnnxEncoder
    enc = OnnxEncoder(Path(sys.argv[1]), "fp32", threads=1)
    print(json.dumps({"exported": enc.exported, "v": enc.encode(["hello"])[0, :8].tolist()}))
    """
)


def test_corrupted_model_is_reexported_once_by_concurrent_processes(
    home: Path, fp32: OnnxEncoder, tmp_path: Path
) -> None:
    """Two processes start on a damaged cache: one re-exports, the other waits and reuses it."""
    shutil.copytree(cache_dir(home), cache_dir(tmp_path))
    model = cache_dir(tmp_path) / "model-fp32.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    model.write_bytes(bytes(data))
    assert "checksum" in (cache_problem(tmp_path) or "")

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LOAD, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["exported"] for r in results) == [False, True]
    expected = fp32.encode(["hello"])[0, :8]
    for r in results:
        np.testing.assert_allclose(r["v"], expected, atol=1e-5)
    assert cache_problem(tmp_path) is None
    assert not list(cache_dir(tmp_path).glob(".*.tmp"))


def test_export_is_refused_when_fp32_disagrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(minilm, "FP32_MIN_COSINE", 1.5)  # unreachable: every export disagrees
    with pytest.raises(ExportError, match="refusing to cache"):
        OnnxEncoder(tmp_path, "fp32")
    left = sorted(p.name for p in cache_dir(tmp_path).iterdir())
    assert left == [".lock"]  # nothing half-made for the next process to trust
