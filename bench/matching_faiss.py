"""FAISS alone (issue: matching): flat vs IVF at N synthetic 384-d vectors.

Target: recall@100 >= 0.95 against exact search at <= 20 ms per single query.

The vectors imitate sentence embeddings rather than uniform noise: a mixture of Gaussian
clusters (uneven sizes, varied spread) around centres grouped into topics and sharing a common
direction, L2-normalised. Queries come from the same mixture and are not in the index.
Ground truth is exact inner product (faiss.knn, batched). Both indexes are built by
`rapport.models.vector_index.VectorIndex.build`; IVF picks its own nlist and nprobe.
Single-query latency runs with one OpenMP thread (a server runs one search per request
thread); build and ground truth use every core. Filtered searches keep a random 10%, 1% and
0.1% of the ids, each timed on both paths (exact scoring of the allowed subset, and a faiss
IDSelector search); their recall is against exact search over the allowed subset.

    python bench/matching_faiss.py [--n 1000000] [--quick]

`run()` returns the results without writing them (bench/matching.py imports it); running the
script prints a table and writes bench/results/matching_faiss.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from common import git_commit, machine, percentiles, versions, write
from rich.console import Console
from rich.table import Table

from rapport.models.vector_index import VectorIndex

DIM = 384
K = 100
ENCODER = "synthetic-mixture@384"
console = Console(width=150)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


class Mixture:
    """Embedding-like unit vectors: clusters (profiles alike) inside topics (fields of work).

    Calibrated so a random pair has cosine ~0.13 and a query's nearest neighbours ~0.6-0.75 at
    200k vectors, roughly what MiniLM gives for short profile texts."""

    def __init__(self, dim: int, clusters: int, seed: int, topics: int = 100) -> None:
        rng = np.random.default_rng(seed)
        mean = _unit(rng.standard_normal((1, dim)))
        topic = _unit(rng.standard_normal((topics, dim)))
        of_topic = rng.integers(0, topics, clusters)
        noise = _unit(rng.standard_normal((clusters, dim)))
        self.centres = _unit(0.6 * mean + topic[of_topic] + 0.8 * noise)
        weights = rng.lognormal(0.0, 1.0, clusters)
        self.weights = weights / weights.sum()
        self.spread = rng.uniform(0.45, 0.9, clusters).astype(np.float32)
        self.dim = dim

    def draw(self, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            c = rng.choice(len(self.weights), m, p=self.weights)
            x = rng.standard_normal((m, self.dim), dtype=np.float32) / np.float32(np.sqrt(self.dim))
            x *= self.spread[c, None]
            x += self.centres[c]
            out[start : start + m] = _unit(x)
        return out


def _exact(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    _, pos = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    return ids[pos]


def _single_queries(index: VectorIndex, queries: np.ndarray, **kw) -> tuple[list, list]:
    """Per-query latency (ms) and ids of one search per query, as a request would run it."""
    index.search(queries[0], K, **kw)  # warm caches and lazily built state
    times, got = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q, K, **kw)
        times.append((time.perf_counter() - t) * 1000)
        got.append(ids)
    return times, got


def _recall(got: list, truth: np.ndarray) -> float:
    k = truth.shape[1]
    hits = sum(len(np.intersect1d(g[:k], t)) for g, t in zip(got, truth, strict=False))
    return round(hits / (k * len(got)), 4)


def _measure(index: VectorIndex, queries: np.ndarray, truth: np.ndarray, **kw) -> dict:
    times, got = _single_queries(index, queries, **kw)
    short = sum(len(g) < min(K, truth.shape[1]) for g in got)
    return {"latency": percentiles(times), "recall_at_100": _recall(got, truth), "short": short}


def run(n: int = 1_000_000, quick: bool = False, *, seed: int = 0) -> dict:
    """Builds flat and IVF over n synthetic vectors and measures them; returns the figures."""
    cores = os.cpu_count() or 1
    nq_ivf, nq_flat, nq_filter = (100, 30, 50) if quick else (1000, 200, 200)
    clusters = max(50, min(3000, n // 300))
    mixture = Mixture(DIM, clusters, seed)
    rng = np.random.default_rng(seed + 1)

    faiss.omp_set_num_threads(cores)
    t = time.perf_counter()
    vectors = mixture.draw(n, rng)
    queries = mixture.draw(nq_ivf, np.random.default_rng(seed + 2))
    ids = np.arange(1, n + 1, dtype=np.int64)  # store primary keys
    gen_s = time.perf_counter() - t
    console.print(f"generated {n:,} vectors ({clusters} clusters) in {gen_s:.1f}s")

    t = time.perf_counter()
    truth = _exact(queries, vectors, ids, K)
    truth_s = time.perf_counter() - t
    console.print(f"exact top-{K} of {nq_ivf} queries in {truth_s:.1f}s")

    t = time.perf_counter()
    flat = VectorIndex.build(ENCODER, DIM, ids, vectors, ivf_threshold=n + 1)
    flat_build_s = time.perf_counter() - t
    t = time.perf_counter()
    ivf = VectorIndex.build(ENCODER, DIM, ids, vectors, ivf_threshold=0, seed=seed)
    ivf_build_s = time.perf_counter() - t
    status = ivf.status()
    console.print(
        f"IVF built in {ivf_build_s:.1f}s: nlist={status.nlist} nprobe={status.nprobe} "
        f"(tuned recall {status.recall}) {ivf.build_seconds}"
    )

    faiss.omp_set_num_threads(1)
    result: dict = {
        "n": n,
        "dim": DIM,
        "k": K,
        "data": (
            f"mixture of {clusters} Gaussian clusters in 100 topics around a shared direction, "
            "L2-normalised (not uniform noise); queries drawn from the same mixture, not indexed"
        ),
        "search_threads": 1,
        "build_threads": cores,
        "generate_s": round(gen_s, 1),
        "exact_ground_truth_s": round(truth_s, 1),
    }
    result["flat"] = {"build_s": round(flat_build_s, 2)} | _measure(
        flat, queries[:nq_flat], truth[:nq_flat]
    )
    result["ivf"] = {
        "build_s": round(ivf_build_s, 2),
        "phases": ivf.build_seconds,
        "nlist": status.nlist,
        "nprobe": status.nprobe,
        "tuned_recall_at_100": status.recall,
    } | _measure(ivf, queries, truth)

    sweep = []
    # beyond the tuned value: the headroom left for real embeddings, less clustered than these
    factors = (0.5, 1, 2, 16, 64)
    for nprobe in sorted({min(status.nlist, max(1, int(status.nprobe * f))) for f in factors}):
        m = _measure(ivf, queries[:nq_filter], truth[:nq_filter], nprobe=nprobe)
        sweep.append({"nprobe": nprobe} | m)
    result["ivf_nprobe_sweep"] = sweep

    filtered = []
    filter_rng = np.random.default_rng(seed + 3)
    fq = queries[:nq_filter]
    for fraction in (0.10, 0.01, 0.001):
        allowed = np.sort(filter_rng.choice(ids, max(1, int(n * fraction)), replace=False))
        pos = np.searchsorted(ids, allowed)
        faiss.omp_set_num_threads(cores)
        f_truth = _exact(fq, np.ascontiguousarray(vectors[pos]), allowed, K)
        faiss.omp_set_num_threads(1)
        for name, index in (("flat", flat), ("ivf", ivf)):
            auto = "exact-subset" if len(allowed) <= index.exact_subset_max else "selector"
            for path in ("exact-subset", "selector"):
                saved = index.exact_subset_max
                index.exact_subset_max = n + 1 if path == "exact-subset" else 0
                try:
                    m = _measure(index, fq, f_truth, allowed=allowed)
                finally:
                    index.exact_subset_max = saved
                filtered.append(
                    {
                        "fraction": fraction,
                        "allowed": len(allowed),
                        "index": name,
                        "path": path,
                        "default_path": path == auto,
                    }
                    | m
                )
    result["filtered"] = filtered

    folder = Path(tempfile.mkdtemp(prefix="rapport-faiss-"))
    try:
        t = time.perf_counter()
        manifest = ivf.save(folder, seq=0)
        save_s = time.perf_counter() - t
        t = time.perf_counter()
        VectorIndex.load(folder, encoder_id=ENCODER, dim=DIM)
        load_s = time.perf_counter() - t
        result["ivf_snapshot"] = {
            "bytes": (folder / manifest.file).stat().st_size,
            "save_s": round(save_s, 2),
            "load_s": round(load_s, 2),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    faiss.omp_set_num_threads(cores)
    return result


def print_table(result: dict) -> None:
    table = Table(title=f"FAISS at {result['n']:,} x {result['dim']}-d, k={result['k']}")
    for col in ("index", "filter", "path", "recall@100", "p50 ms", "p99 ms", "mean ms", "note"):
        table.add_column(col)

    def row(index, filt, path, m, note=""):
        lat = m["latency"]
        table.add_row(
            index,
            filt,
            path,
            f"{m['recall_at_100']:.4f}",
            f"{lat['p50_ms']:.2f}",
            f"{lat['p99_ms']:.2f}",
            f"{lat['mean_ms']:.2f}",
            note,
        )

    flat, ivf = result["flat"], result["ivf"]
    row("flat", "-", "-", flat, f"build {flat['build_s']}s")
    row(
        "ivf",
        "-",
        f"nprobe {ivf['nprobe']}",
        ivf,
        f"nlist {ivf['nlist']}, build {ivf['build_s']}s, tuned recall {ivf['tuned_recall_at_100']}",
    )
    for m in result["ivf_nprobe_sweep"]:
        row("ivf", "-", f"nprobe {m['nprobe']}", m, "sweep")
    for m in result["filtered"]:
        note = "default" if m["default_path"] else "forced"
        if m["short"]:
            note += f", {m['short']} short"
        row(m["index"], f"{m['fraction']:.1%} ({m['allowed']:,})", m["path"], m, note)
    console.print(table)
    console.print(result["data"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="fewer queries, n capped at 100,000")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    n = min(args.n, 100_000) if args.quick else args.n
    result = run(n, args.quick, seed=args.seed)
    print_table(result)
    payload = {
        "benchmark": "matching_faiss",
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions("rapport", "faiss-cpu", "numpy"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    } | result
    path = write("matching_faiss", payload, args.out)
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
