"""The engagement benchmark of issue 5, in one run -> bench/results/engagement.json.

1. train: `rapport seed` a store (100k people, about 1.2M interaction events), then
   `train_engagement` on it (dataset, both models, MLflow logging and registration) and
   promote the challenger to champion.
2. unary: ScoreCandidate over gRPC, 8 concurrent clients (one channel each) drawing random
   seeded people, against `rapport serve --services engagement` (sync gRPC, thread pool,
   with the interceptor) and against the grpc.aio variant (bench/engagement_aio.py), both
   warmed first (every score and its factors in memory): p50/p95/p99 and requests/s.
3. bands: `candidates.set_engagement_bands` alone over 100k candidates on SQLite and
   PostgreSQL (when RAPPORT_BENCH_PG_URL or a local server is there): all new, 10% changed,
   none changed.
4. stream: profile-only candidates added in bulk up to 1M (people a CRM holds but never
   contacted), the server restarted; the full rescore is
   timed (scores and bands; no factors), then ScoreCandidates over everyone (an empty
   rule), batches of 1,000 and 10,000.

    python bench/engagement.py [--quick] [--seeded 100000] [--candidates 1000000]
        [--clients 8] [--seconds 15] [--parts train,unary,bands,stream] [--workdir DIR]

`--workdir` keeps the stores between runs (seeding 100k takes minutes); `--quick` is a
smoke run at 2k/20k.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
from common import (
    API_KEYS,
    NO_RATE_LIMIT,
    channel,
    clean_env,
    create_admin_key,
    git_commit,
    machine,
    percentiles,
    versions,
    write,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from rapport.core.config import Settings
from rapport.core.ids import uuid7s
from rapport.core.store import bulk, candidates
from rapport.core.store import db as store_db
from rapport.core.store.db import Database
from rapport.core.store.schema import CandidateRow, TimelineEventRow
from rapport.v1 import engagement_pb2 as pb
from rapport.v1 import engagement_pb2_grpc as pb_grpc

console = Console(width=150)
ROOT = Path(__file__).resolve().parent.parent
RAPPORT = str(Path(sys.executable).with_name("rapport"))
BANDS = ("hot", "warm", "cold", "dormant")
PG_ADMIN = os.environ.get(
    "RAPPORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# --------------------------------------------------------------------------------- setup
def base_env(home: Path, url: str) -> dict:
    env = clean_env()
    return env | {
        "RAPPORT_HOME": str(home),
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }


def count(url: str, table) -> int:
    db = Database(url)
    with db.read() as s:
        n = s.execute(select(func.count()).select_from(table)).scalar_one()
    db.close()
    return n


def seed_store(home: Path, url: str, n: int, env: dict) -> dict:
    """A store of `n` seeded people with histories (kept in --workdir between runs)."""
    if (home / "seeded").exists():
        return {"seeded": n, "reused": True, "events": count(url, TimelineEventRow)}
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([RAPPORT, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run(
        [RAPPORT, "--json", "seed", "--candidates", str(n), "--seed", "5"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    took = time.perf_counter() - t
    (home / "seeded").touch()
    return {"seeded": n, "seed_s": round(took, 1), "events": count(url, TimelineEventRow)}


def train(home: Path, url: str) -> dict:
    """`rapport train engagement` in this process (the same entry point), then promote."""
    from rapport.models.engagement.registry import CHAMPION, MODEL_NAME, Registry
    from rapport.training.engagement import train_engagement

    settings = Settings(home=home, database_url=url)
    t = time.perf_counter()
    result = train_engagement(settings, progress=lambda m: console.print(f"  [dim]{m}[/dim]"))
    wall = time.perf_counter() - t
    Registry(settings).set_alias(MODEL_NAME, CHAMPION, result.version.version)
    out = result.to_dict()
    out["wall_s"] = round(wall, 1)
    return out


def pad_store(url: str, total: int) -> dict:
    """Profile-only candidates (no identities, no history) in bulk up to `total`: the
    bulk of a real CRM is people imported or sourced and never contacted."""
    db = Database(url)
    with db.read() as s:
        have = s.execute(select(func.count()).select_from(CandidateRow)).scalar_one()
    missing = total - have
    t = time.perf_counter()
    rng = random.Random(9)
    now = datetime.now(UTC)
    sources = ("linkedin", "imported_csv", "github", "agency", "event", "referral")
    levels = ("junior", "mid", "senior", "lead", "principal")
    chunk = 50_000
    for start in range(0, max(missing, 0), chunk):
        n = min(chunk, missing - start)
        ids = uuid7s(n)
        rows = (
            (
                cid,
                "Bench",
                f"Person {start + i}",
                "Software Engineer",
                rng.choice(levels),
                rng.choice(("DE", "NL", "GB", "FR", "US")),
                rng.choice(sources),
                now,
                now,
            )
            for i, cid in enumerate(ids)
        )
        with db.transaction() as s:
            bulk.copy_rows(
                s,
                CandidateRow.__table__,
                (
                    "id",
                    "first_name",
                    "last_name",
                    "headline",
                    "seniority",
                    "country",
                    "source",
                    "created_at",
                    "updated_at",
                ),
                rows,
            )
    db.refresh_statistics()
    db.close()
    return {"added": max(missing, 0), "seconds": round(time.perf_counter() - t, 1)}


class Proc:
    """A server subprocess that prints `... listening on HOST:PORT` when up."""

    def __init__(self, args: list[str], env: dict) -> None:
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise SystemExit(f"server did not start: {line!r}")
        self.address = "127.0.0.1:" + line.rsplit(":", 1)[1].strip()
        self.started = time.monotonic()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sync_server(env: dict) -> Proc:
    env = env | NO_RATE_LIMIT
    key = create_admin_key(env)
    proc = Proc([RAPPORT, "serve", "--services", "engagement", "--port", "0"], env)
    API_KEYS[proc.address] = key
    return proc


def aio_server(env: dict) -> Proc:  # the bare grpc.aio comparison: no interceptors, no auth
    return Proc([sys.executable, str(Path(__file__).with_name("engagement_aio.py"))], env)


def wait_warm(address: str, people: int, *, factors: bool, timeout: float = 7200) -> dict:
    """Poll GetModelInfo until every person is scored with bands written (and, with
    `factors`, explained). Returns seconds to each milestone from the first poll."""
    start = time.monotonic()
    scored_at = None
    with channel(address) as ch:
        stub = pb_grpc.EngagementServiceStub(ch)
        while time.monotonic() - start < timeout:
            info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
            if info.state == "none":
                raise SystemExit(f"no model served: {info.message}")
            if scored_at is None and info.scored >= people and info.HasField("bands_as_of"):
                scored_at = time.monotonic() - start
            if scored_at is not None and (not factors or info.scoring == "idle"):
                return {
                    "scores_and_bands_s": round(scored_at, 1),
                    "with_factors_s": round(time.monotonic() - start, 1),
                    "model": f"{info.name}/{info.version}",
                    "scored": info.scored,
                }
            time.sleep(0.5)
    raise SystemExit("the engagement server did not warm up in time")


def sample_ids(url: str, n: int) -> list[str]:
    db = Database(url)
    with db.read() as s:
        ids = list(
            s.execute(select(CandidateRow.id).where(CandidateRow.status == "active")).scalars()
        )
    db.close()
    return random.Random(1).sample(ids, min(n, len(ids)))


# --------------------------------------------------------------------------------- unary
def unary_load(address: str, ids: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads, each with its own channel, calling ScoreCandidate back to back."""
    samples: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    go = threading.Barrier(clients + 1)
    state = {"stop": 0.0}

    def worker(k: int) -> None:
        rng = random.Random(k)
        with channel(address) as ch:
            stub = pb_grpc.EngagementServiceStub(ch)
            for cid in rng.sample(ids, min(50, len(ids))):  # connect and warm up
                stub.ScoreCandidate(pb.ScoreCandidateRequest(candidate_id=cid), timeout=10)
            go.wait()
            mine = samples[k]
            while time.monotonic() < state["stop"]:
                request = pb.ScoreCandidateRequest(candidate_id=ids[rng.randrange(len(ids))])
                t = time.perf_counter()
                try:
                    stub.ScoreCandidate(request, timeout=10)
                except grpc.RpcError:
                    errors[k] += 1
                    continue
                mine.append((time.perf_counter() - t) * 1000)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    state["stop"] = time.monotonic() + 1e9
    go.wait()
    began = time.monotonic()
    state["stop"] = began + seconds
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    flat = [x for per in samples for x in per]
    return percentiles(flat) | {
        "requests_per_s": round(len(flat) / wall, 1),
        "errors": sum(errors),
        "clients": clients,
        "seconds": round(wall, 1),
    }


def unary(home: Path, url: str, env: dict, people: int, clients: int, seconds: float) -> dict:
    ids = sample_ids(url, 20_000)
    out: dict = {"store_candidates": people, "distinct_ids_drawn_from": len(ids)}
    for name, start in (("sync", sync_server), ("aio", aio_server)):
        console.print(f"[bold]unary: {name} server[/bold]")
        server = start(env)
        try:
            out[f"{name}_warmup"] = wait_warm(server.address, people, factors=True)
            before = os.getloadavg()[0]
            out[name] = unary_load(server.address, ids, clients, seconds)
            # other work on the machine shows here: the 1-minute load before and after
            out[name]["load_average_1m"] = [round(before, 2), round(os.getloadavg()[0], 2)]
        finally:
            server.stop()
        console.print(f"  {out[name]}")
    return out


# --------------------------------------------------------------------------------- bands
def _bands_on(url: str, n: int) -> dict:
    """Time set_engagement_bands over `n` bulk-inserted candidates at `url` (migrated)."""
    db = Database(url)
    now = datetime.now(UTC)
    with db.transaction() as s:
        bulk.copy_rows(
            s,
            CandidateRow.__table__,
            ("id", "first_name", "created_at", "updated_at"),
            ((cid, "B", now, now) for cid in uuid7s(n)),
        )
    db.refresh_statistics()
    with db.read() as s:
        pks = list(s.execute(select(CandidateRow.pk)).scalars())
    rng = random.Random(4)
    first = {pk: rng.choice(BANDS) for pk in pks}
    some = dict(first)
    for pk in rng.sample(pks, len(pks) // 10):
        some[pk] = BANDS[(BANDS.index(some[pk]) + 1) % 4]
    out = {}
    for label, bands in (("all_new", first), ("ten_percent_changed", some), ("unchanged", some)):
        t = time.perf_counter()
        with db.transaction() as s:
            changed = candidates.set_engagement_bands(s, bands)
        took = time.perf_counter() - t
        out[label] = {
            "candidates": len(bands),
            "rows_changed": changed,
            "seconds": round(took, 3),
            "candidates_per_s": round(len(bands) / took),
        }
    db.close()
    return out


def bands(work: Path, n: int) -> dict:
    out = {}
    path = work / "bands.db"
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    store_db.upgrade(url)
    out["sqlite"] = _bands_on(url, n)
    path.unlink(missing_ok=True)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(PG_ADMIN)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no PostgreSQL here: the SQLite figures stand alone
        out["postgresql"] = {"skipped": str(exc).splitlines()[0]}
        return out
    pg = make_url(PG_ADMIN).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = pg.render_as_string(hide_password=False)
    try:
        store_db.upgrade(rendered)
        out["postgresql"] = _bands_on(rendered, n)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return out


# --------------------------------------------------------------------------------- stream
def stream_all(address: str, batch_size: int) -> dict:
    request = pb.ScoreCandidatesRequest(batch_size=batch_size)
    request.rule.SetInParent()  # an empty rule: everyone
    got, messages, nbytes, bands_seen = 0, 0, 0, dict.fromkeys(BANDS, 0)
    t = time.perf_counter()
    first = None
    with channel(address, options=[("grpc.max_receive_message_length", 64 << 20)]) as ch:
        stub = pb_grpc.EngagementServiceStub(ch)
        for batch in stub.ScoreCandidates(request, timeout=600):
            if first is None:
                first = time.perf_counter() - t
            messages += 1
            got += len(batch.scores)
            nbytes += batch.ByteSize()
            for s in batch.scores:
                bands_seen[s.band] += 1
            total = batch.total
    took = time.perf_counter() - t
    return {
        "batch_size": batch_size,
        "candidates": got,
        "selection_total": total,
        "messages": messages,
        "megabytes": round(nbytes / 1e6, 1),
        "seconds": round(took, 2),
        "first_batch_s": round(first or 0.0, 3),
        "scores_per_s": round(got / took),
        "bands": bands_seen,
    }


def stream(url: str, env: dict, total: int) -> dict:
    out = {"pad": pad_store(url, total)}
    people = count(url, CandidateRow)
    out["store_candidates"] = people
    console.print(f"[bold]stream: {people:,} candidates; full rescore, then the streams[/bold]")
    # Streams carry no factors: explaining nobody keeps a background pass off the cores
    # while the streams are measured (the unary part times explaining everyone).
    server = sync_server(env | {"RAPPORT_ENGAGEMENT_EXPLAIN_LIMIT": "0"})
    try:
        out["full_rescore"] = wait_warm(server.address, people, factors=True)
        console.print(f"  {out['full_rescore']}")
        out["runs"] = []
        for size in (1_000, 10_000):
            before = os.getloadavg()[0]
            run = stream_all(server.address, size)
            run["load_average_1m"] = [round(before, 2), round(os.getloadavg()[0], 2)]
            out["runs"].append(run)
        for run in out["runs"]:
            console.print(f"  {run}")
    finally:
        server.stop()
    return out


# --------------------------------------------------------------------------------- report
def table(payload: dict) -> Table:
    t = Table(title="Engagement benchmark", show_lines=False)
    for col in ("what", "figure", "target"):
        t.add_column(col, overflow="fold")
    tr = payload.get("train")
    if tr:
        t.add_row(
            f"train on {payload['store']['events']:,} events ({tr['rows']})",
            f"{tr['wall_s']} s (dataset {tr['timings_s'].get('dataset')} s, fit "
            f"{tr['timings_s'].get('fit')} s, MLflow {tr['timings_s'].get('mlflow')} s); "
            f"holdout ROC-AUC {tr['model'].get('roc_auc')}",
            "<= 180 s",
        )
    un = payload.get("unary")
    if un:
        warm = un["sync_warmup"]
        t.add_row(
            f"full rescore of {un['store_candidates']:,} (scores and bands, then factors)",
            f"{warm['scores_and_bands_s']} s, then {warm['with_factors_s']} s with factors",
            "",
        )
        for name in ("sync", "aio"):
            r = un[name]
            t.add_row(
                f"ScoreCandidate, {name} server, {r['clients']} clients",
                f"p50 {r['p50_ms']} ms · p99 {r['p99_ms']} ms · {r['requests_per_s']:,} req/s",
                "p99 <= 10 ms, >= 1,500 req/s",
            )
    bd = payload.get("bands")
    if bd:
        for backend, res in bd.items():
            if "all_new" in res:
                t.add_row(
                    f"set_engagement_bands, {backend}",
                    " · ".join(
                        f"{k.replace('_', ' ')}: {v['seconds']} s ({v['candidates_per_s']:,}/s)"
                        for k, v in res.items()
                    ),
                    "",
                )
    st = payload.get("stream")
    if st:
        fr = st["full_rescore"]
        t.add_row(
            f"full rescore of {st['store_candidates']:,} (scores and bands)",
            f"{fr['scores_and_bands_s']} s",
            "",
        )
        for run in st["runs"]:
            t.add_row(
                f"ScoreCandidates over {run['candidates']:,}, batches of {run['batch_size']:,}",
                f"{run['seconds']} s ({run['scores_per_s']:,}/s, {run['megabytes']} MB)",
                "<= 30 s",
            )
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2k seeded, 20k streamed: a smoke run")
    ap.add_argument("--seeded", type=int, default=100_000)
    ap.add_argument("--candidates", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--bands-n", type=int, default=100_000)
    ap.add_argument("--parts", default="train,unary,bands,stream")
    ap.add_argument("--workdir", type=Path, default=None, help="keep stores here between runs")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.seeded, args.candidates, args.seconds, args.bands_n = 2_000, 20_000, 3.0, 20_000
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rapport-bench-engagement-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / f"seeded-{args.seeded}"
    url = f"sqlite:///{home / 'rapport.db'}"
    env = base_env(home, url)
    payload: dict = {
        "benchmark": "engagement",
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions(
            "rapport", "grpcio", "mlflow", "scikit-learn", "pandas", "numpy", "SQLAlchemy"
        ),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "parameters": {
            "seeded": args.seeded,
            "candidates": args.candidates,
            "clients": args.clients,
            "seconds": args.seconds,
            "bands_n": args.bands_n,
            "backend": "sqlite",
        },
        "note": "2-core shared machine: servers and clients share the cores; figures vary",
    }
    try:
        payload["store"] = seed_store(home, url, args.seeded, env)
        console.print(f"store: {payload['store']}")
        if "train" in parts or not (home / "mlflow.db").exists():
            console.print("[bold]train[/bold]")
            payload["train"] = train(home, url)
            console.print(f"  {payload['train']['timings_s']} {payload['train']['model']}")
        if "unary" in parts:
            people = count(url, CandidateRow)
            payload["unary"] = unary(home, url, env, people, args.clients, args.seconds)
        if "bands" in parts:
            console.print("[bold]bands[/bold]")
            payload["bands"] = bands(work, args.bands_n)
            console.print(f"  {payload['bands']}")
        if "stream" in parts:
            streamed = work / f"streamed-{args.candidates}"
            if not streamed.exists():  # pad a copy: the seeded store stays reusable
                shutil.copytree(home, streamed)
            s_url = f"sqlite:///{streamed / 'rapport.db'}"
            payload["stream"] = stream(s_url, base_env(streamed, s_url), args.candidates)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    console.print(table(payload))
    console.print(f"wrote {write('engagement', payload, args.out)}")


if __name__ == "__main__":
    main()
