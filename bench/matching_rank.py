"""RankCandidates end to end over gRPC, and indexing a seeded store from scratch.

For each size (default 10k and 100k): seed a SQLite store with `rapport seed`, index it from
scratch in this process (timed, with a progress bar), start `rapport serve` on it, then time
RankCandidates for a few realistic roles without filters and with filters (a pool of ~5% of
the store plus a strict location filter), sequentially (p50/p99) and with 4 concurrent
clients (QPS). Baseline in the same run: a unary GetRole round trip (the RPC floor).

    python bench/matching_rank.py [--sizes 10000,100000] [--encoder onnx] [--quick]
        [--keep DIR]   # keep the seeded stores and indexes in DIR, and reuse them
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import Server, channel, clean_env, git_commit, machine, percentiles, versions, write
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from rapport.core.config import Settings
from rapport.core.store import pools, profiles
from rapport.core.store.db import Database
from rapport.core.store.schema import CandidateRow
from rapport.services.matching.index_keeper import build_keeper
from rapport.v1 import common_pb2
from rapport.v1 import matching_pb2 as pb
from rapport.v1 import matching_pb2_grpc as pb_grpc

console = Console(width=150)
ROLES = [
    pb.Role(
        title="Senior Backend Engineer",
        description="Design and run Python services on Kubernetes; PostgreSQL, Kafka, AWS.",
        required_skills=["Python", "Kubernetes", "PostgreSQL"],
        nice_to_have_skills=["Kafka", "AWS"],
        min_seniority=common_pb2.SENIORITY_SENIOR,
        max_seniority=common_pb2.SENIORITY_LEAD,
        countries=["DE", "NL", "PL", "GB"],
        languages=["en"],
    ),
    pb.Role(
        title="Data Scientist",
        description="Build and evaluate machine learning models for forecasting.",
        required_skills=["machine learning", "Python", "SQL"],
        nice_to_have_skills=["PyTorch", "statistics"],
        countries=["US", "CA"],
    ),
    pb.Role(
        title="Registered Nurse",
        description="Ward nurse for a busy surgical unit; patient care and medication.",
        required_skills=["patient care", "medication administration"],
        timezones=["Europe/London"],
    ),
    pb.Role(
        title="Frontend Developer",
        description="React and TypeScript single-page applications, accessibility.",
        required_skills=["React", "TypeScript", "CSS"],
        min_seniority=common_pb2.SENIORITY_MID,
    ),
]


def seed(home: Path, url: str, n: int, env: dict) -> float:
    rapport = str(Path(sys.executable).with_name("rapport"))
    subprocess.run([rapport, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run(
        [rapport, "--json", "seed", "--candidates", str(n), "--seed", "5"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def index_from_scratch(settings: Settings) -> dict:
    """Build and snapshot the index in this process, as `rapport index rebuild` would."""
    db = Database(settings.effective_database_url)
    keeper = build_keeper(settings, db)
    t = time.perf_counter()
    keeper.prepare()
    load_s = time.perf_counter() - t
    with Progress(
        "indexing", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("index", total=None)
        t = time.perf_counter()
        index, head = keeper.build_fresh(lambda d, tot: bar.update(task, completed=d, total=tot))
        build_s = time.perf_counter() - t
    index.vectors.save(settings.effective_index_dir, seq=head)
    status = index.vectors.status()
    baseline = batching_baseline(db, index.encoder)
    db.close()
    return {
        "vectors": len(index),
        "encoder": index.encoder.id,
        "kind": status.kind,
        "nlist": status.nlist,
        "nprobe": status.nprobe,
        "runtime_load_s": round(load_s, 2),
        "build_s": round(build_s, 1),
        "candidates_per_s": round(len(index) / build_s, 1) if build_s else None,
        "batching_baseline": baseline,
    }


def batching_baseline(db: Database, encoder, sample: int = 4_096, rounds: int = 2) -> dict:
    """Baseline in the same run: the first `sample` candidate texts encoded the way indexing
    did before (pages of 512 sorted by length, ONNX batches of 64) and the way it does now
    (pages of BUILD_PAGE, the encoder's bulk batch), alternating, on the same texts."""
    from rapport.models.profiles import candidate_text
    from rapport.services.matching.index_keeper import BUILD_PAGE

    with db.read() as s:
        texts = [candidate_text(c) for c in profiles.rankable_after(s, 0, sample)]

    def texts_per_s(page: int, batch: int | None) -> float:
        options = {} if batch is None else {"batch_size": batch}
        t = time.perf_counter()
        for start in range(0, len(texts), page):
            encoder.encode(texts[start : start + page], **options)
        return len(texts) / (time.perf_counter() - t)

    before, now = [], []
    for _ in range(rounds):
        before.append(texts_per_s(512, 64))
        now.append(texts_per_s(BUILD_PAGE, None))
    return {
        "texts": len(texts),
        "before_texts_per_s": [round(x, 1) for x in before],
        "now_texts_per_s": [round(x, 1) for x in now],
        "speedup": round(float(np.median(now) / np.median(before)), 3),
    }


def make_pool(url: str, fraction: float) -> str:
    db = Database(url)
    with db.transaction() as s:
        ids = [
            cid for (cid,) in s.query(CandidateRow.id).filter(CandidateRow.status == "active").all()
        ]
        rng = np.random.default_rng(3)
        chosen = rng.choice(len(ids), size=max(1, int(len(ids) * fraction)), replace=False)
        pool = pools.create(s, "bench pool")
        pools.add_members(s, pool.id, [ids[i] for i in chosen])
    db.close()
    return pool.id


def wait_ready(stub, timeout=1800.0) -> pb.IndexStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = stub.GetIndexStatus(pb.GetIndexStatusRequest())
        if status.state == "ready" and status.seq >= status.feed_head:
            return status
        if status.state == "failed" or time.monotonic() > deadline:
            raise SystemExit(f"index not ready: {status}")
        time.sleep(0.2)


def latencies(stub, requests: list, repeat: int) -> list[float]:
    for r in requests:  # warm-up
        stub.RankCandidates(r, timeout=30)
    out = []
    for i in range(repeat):
        r = requests[i % len(requests)]
        t = time.perf_counter()
        stub.RankCandidates(r, timeout=30)
        out.append((time.perf_counter() - t) * 1000)
    return out


def qps(address: str, requests: list, clients: int, seconds: float) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        with channel(address) as ch:
            stub = pb_grpc.MatchingServiceStub(ch)
            n = 0
            while time.monotonic() < stop:
                stub.RankCandidates(requests[(i + n) % len(requests)], timeout=30)
                n += 1
            done[i] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def bench_size(n: int, encoder: str, repeat: int, seconds: float, work: Path) -> dict:
    home = work / f"n{n}-{encoder}"
    url = f"sqlite:///{home / 'rapport.db'}"
    built = home / "built.json"  # a store kept by an earlier run (--keep) is used again
    if built.exists():
        seed_s, indexing, pool_id = json.loads(built.read_text())
        console.print(f"reusing the store and index in {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        env = clean_env()
        env |= {"RAPPORT_HOME": str(home), "RAPPORT_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
        seed_s = seed(home, url, n, env)
        console.print(f"seeded {n:,} candidates in {seed_s:.1f}s")
        settings = Settings(
            home=home, database_url=url, encoder=encoder, model_cache_dir=work / "models"
        )
        indexing = index_from_scratch(settings)
        console.print(f"indexed {indexing['vectors']:,} in {indexing['build_s']}s ({indexing})")
        pool_id = make_pool(url, 0.05)
        built.write_text(json.dumps([seed_s, indexing, pool_id]))
    # MatchingService and the store it reads, nothing else: the other services' background
    # work at start (the analytics ledger catching up with 1M seeded events, say) would be
    # measured too
    server = Server(
        home,
        url,
        encoder=encoder,
        model_cache_dir=str(work / "models"),
        services="candidates,matching",
    )
    try:
        with channel(server.address) as ch:
            stub = pb_grpc.MatchingServiceStub(ch)
            wait_ready(stub)
            plain = [pb.RankCandidatesRequest(role=r, top_k=20) for r in ROLES]
            filtered = [
                pb.RankCandidatesRequest(
                    role=r,
                    top_k=20,
                    filters=pb.MatchFilters(pool_id=pool_id, enforce_location=True),
                )
                for r in ROLES
            ]
            stored = stub.CreateRole(pb.CreateRoleRequest(role=ROLES[0]))
            floor = []
            for _ in range(repeat):
                t = time.perf_counter()
                stub.GetRole(pb.GetRoleRequest(id=stored.id), timeout=10)
                floor.append((time.perf_counter() - t) * 1000)
            sample = stub.RankCandidates(filtered[0], timeout=30)
            return {
                "candidates": n,
                "seed_s": round(seed_s, 1),
                "indexing": indexing,
                "pool_size": int(n * 0.05),
                "filtered_considered": sample.considered,
                "unfiltered": percentiles(latencies(stub, plain, repeat)),
                "filtered": percentiles(latencies(stub, filtered, repeat)),
                "qps_4_clients_unfiltered": round(qps(server.address, plain, 4, seconds), 1),
                "qps_4_clients_filtered": round(qps(server.address, filtered, 4, seconds), 1),
                "baseline_unary_getrole": percentiles(floor),
            }
    finally:
        server.stop()


def run(
    sizes: list[int], encoder: str = "onnx", quick: bool = False, keep: Path | None = None
) -> dict:
    work = keep or Path(tempfile.mkdtemp(prefix="rapport-rank-bench-"))
    repeat, seconds = (40, 3.0) if quick else (300, 10.0)
    try:
        results = []
        for n in sizes:
            results.append(bench_size(n, encoder, repeat, seconds, work))
            console.print(results[-1])
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "encoder": encoder,
        "top_k": 20,
        "roles": [r.title for r in ROLES],
        "filters": "pool of 5% of the store + strict location (countries or time zones)",
        "sizes": results,
    }


def table(result: dict) -> Table:
    t = Table(title=f"RankCandidates over gRPC (encoder {result['encoder']}, top 20)")
    for col in (
        "candidates",
        "index build s",
        "unfiltered p50/p99 ms",
        "filtered p50/p99 ms",
        "QPS x4 (unf/filt)",
        "GetRole p50/p99 ms",
    ):
        t.add_column(col, justify="right")
    for r in result["sizes"]:
        u, f, b = r["unfiltered"], r["filtered"], r["baseline_unary_getrole"]
        t.add_row(
            f"{r['candidates']:,}",
            f"{r['indexing']['build_s']}",
            f"{u['p50_ms']:.1f} / {u['p99_ms']:.1f}",
            f"{f['p50_ms']:.1f} / {f['p99_ms']:.1f}",
            f"{r['qps_4_clients_unfiltered']} / {r['qps_4_clients_filtered']}",
            f"{b['p50_ms']:.2f} / {b['p99_ms']:.2f}",
        )
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--encoder", default="onnx")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--keep", type=Path, default=None, help="keep stores and indexes here; reuse them"
    )
    args = ap.parse_args()
    result = run([int(s) for s in args.sizes.split(",")], args.encoder, args.quick, args.keep)
    console.print(table(result))
    payload = {
        "benchmark": "matching_rank",
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions("faiss-cpu", "onnxruntime", "grpcio", "SQLAlchemy", "numpy"),
        **result,
    }
    console.print(f"wrote {write('matching_rank', payload, args.out)}")


if __name__ == "__main__":
    main()
