"""Import and read-path benchmark (issue: foundation).

Streams N realistic candidates (rapport.core.seeding) as CSV over gRPC into a `rapport
serve` process backed by SQLite and by PostgreSQL, then re-imports the unchanged file
(which must write nothing), then times a page of 50 from ListCandidates and PreviewSegment.
Baselines measured in the same run: one CreateCandidate call per record (what a client
without the streaming import would do) and a page deep in the keyset order beside the first page.

    python bench/import.py [--rows 100000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import Server, channel, git_commit, machine, percentiles, timed, versions, write
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select

from rapport.core.seeding import generate_people
from rapport.core.store.schema import AuditRow, CandidateRow, ChangeFeedRow
from rapport.v1 import candidates_pb2 as pb
from rapport.v1 import candidates_pb2_grpc as pb_grpc
from rapport.v1 import common_pb2

HEADER = [
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "headline",
    "country",
    "timezone",
    "languages",
    "skills",
    "source",
    "linkedin",
    "seniority",
    "city",
    "company",
]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
console = Console(width=150)


def make_csv(path: Path, rows: int, seed: int) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i, p in enumerate(generate_people(rows, seed, now=now)):
            d = p.draft
            w.writerow(
                [
                    d.external_id or f"bench-{i}",
                    d.first_name,
                    d.last_name,
                    d.emails[0] if d.emails else "",
                    d.phones[0] if d.phones else "",
                    d.headline,
                    d.country,
                    d.timezone,
                    ";".join(d.languages),
                    ";".join(s.label for s in d.skills),
                    d.source,
                    d.profile_urls[0] if d.profile_urls else "",
                    d.seniority.value,
                    d.city,
                    d.current_company,
                ]
            )


def requests(path: Path):
    yield pb.ImportCandidatesRequest(
        header=pb.ImportHeader(format=pb.IMPORT_FORMAT_CSV, file_name=path.name)
    )
    with path.open("rb") as f:
        while chunk := f.read(256 * 1024):
            yield pb.ImportCandidatesRequest(chunk=chunk)


def writes(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as c:
        out = {
            "candidates": c.execute(select(func.count()).select_from(CandidateRow)).scalar_one(),
            "feed": c.execute(select(func.count()).select_from(ChangeFeedRow)).scalar_one(),
            "audit": c.execute(select(func.count()).select_from(AuditRow)).scalar_one(),
            "max_updated": str(c.execute(select(func.max(CandidateRow.updated_at))).scalar_one()),
        }
    engine.dispose()
    return out


def bench_backend(
    name: str, url: str, csv_path: Path, rows: int, baseline_rows: int, home: Path
) -> dict:
    server = Server(home, url, services="candidates")  # matching would index meanwhile
    try:
        with channel(server.address, options=[("grpc.max_receive_message_length", 64 << 20)]) as ch:
            stub = pb_grpc.CandidateServiceStub(ch)
            t = time.perf_counter()
            first = stub.ImportCandidates(requests(csv_path), timeout=3600)
            first_s = time.perf_counter() - t
            before = writes(url)
            t = time.perf_counter()
            again = stub.ImportCandidates(requests(csv_path), timeout=3600)
            again_s = time.perf_counter() - t
            after = writes(url)

            list_ms = percentiles(
                timed(
                    lambda: stub.ListCandidates(pb.ListCandidatesRequest(page_size=50), timeout=10),
                    200,
                )
            )
            token = ""
            for _ in range(min(20, rows // 2000)):  # walk up to 20,000 rows in, then time there
                token = stub.ListCandidates(
                    pb.ListCandidatesRequest(page_size=1000, page_token=token), timeout=10
                ).page.next_page_token
            deep_ms = percentiles(
                timed(
                    lambda: stub.ListCandidates(
                        pb.ListCandidatesRequest(page_size=50, page_token=token), timeout=10
                    ),
                    200,
                )
            )
            rule = common_pb2.Rule(
                conditions=[
                    common_pb2.Condition(field="skill", op="in", values=["python"]),
                    common_pb2.Condition(field="seniority", op="gte", values=["senior"]),
                    common_pb2.Condition(field="country", op="in", values=["US", "DE", "GB"]),
                ]
            )
            preview_ms = percentiles(
                timed(
                    lambda: stub.PreviewSegment(
                        pb.PreviewSegmentRequest(rule=rule, page_size=50), timeout=10
                    ),
                    200,
                )
            )
            matched = stub.PreviewSegment(pb.PreviewSegmentRequest(rule=rule, page_size=1)).count

            # baseline: one unary CreateCandidate per record
            people = list(generate_people(baseline_rows, 99, now=datetime(2026, 11, 1, tzinfo=UTC)))
            t = time.perf_counter()
            for i, p in enumerate(people):
                d = p.draft
                stub.CreateCandidate(
                    pb.CreateCandidateRequest(
                        candidate=pb.Candidate(
                            first_name=d.first_name,
                            last_name=d.last_name,
                            emails=[f"baseline{i}@bench.example"],
                            headline=d.headline,
                            location=common_pb2.Location(country=d.country, timezone=d.timezone),
                            languages=d.languages,
                            source=d.source,
                            skills=[common_pb2.Skill(label=s.label) for s in d.skills],
                        )
                    ),
                    timeout=10,
                )
            baseline_s = time.perf_counter() - t
    finally:
        server.stop()
    s1, s2 = first.summary, again.summary
    return {
        "backend": name,
        "import": {
            "records": s1.records,
            "created": s1.created,
            "failed": s1.failed,
            "seconds": round(first_s, 2),
            "records_per_s": round(rows / first_s),
        },
        "reimport": {
            "unchanged": s2.unchanged,
            "created": s2.created,
            "updated": s2.updated,
            "seconds": round(again_s, 2),
            "records_per_s": round(rows / again_s),
            "writes": {k: after[k] - before[k] for k in ("candidates", "feed", "audit")},
            "max_updated_at_changed": after["max_updated"] != before["max_updated"],
        },
        "list_first_page_50": list_ms,
        "list_deep_page_50": deep_ms,
        "preview_segment_50": preview_ms | {"matched": matched},
        "baseline_create_per_record": {
            "records": baseline_rows,
            "seconds": round(baseline_s, 2),
            "records_per_s": round(baseline_rows / baseline_s),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--baseline-rows", type=int, default=0, help="default: min(2000, rows)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    baseline_rows = args.baseline_rows or min(2000, args.rows)

    work = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    try:
        csv_path = work / f"candidates-{args.rows}.csv"
        t = time.perf_counter()
        make_csv(csv_path, args.rows, args.seed)
        console.print(
            f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - t:.1f}s"
        )
        results = []
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            home = work / backend
            if backend == "sqlite":
                url = f"sqlite:///{home / 'rapport.db'}"
                results.append(
                    bench_backend(backend, url, csv_path, args.rows, baseline_rows, home)
                )
            elif backend == "postgresql":
                name = f"rapport_bench_{os.getpid()}"
                subprocess.run(
                    [sys.executable, "scripts/pg_database.py", "create", PG_ADMIN, name], check=True
                )
                try:
                    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
                    results.append(
                        bench_backend(backend, url, csv_path, args.rows, baseline_rows, home)
                    )
                finally:
                    subprocess.run(
                        [sys.executable, "scripts/pg_database.py", "drop", PG_ADMIN, name],
                        check=True,
                    )
            else:
                raise SystemExit(f"unknown backend {backend}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = Table(
        title=f"import benchmark, {args.rows:,} candidates (2-core machine figures vary run to run)"
    )
    for col in (
        "backend",
        "import rec/s",
        "re-import rec/s",
        "re-import writes",
        "list p50/p99 ms",
        "deep page p99 ms",
        "preview p50/p99 ms",
        "baseline unary rec/s",
    ):
        table.add_column(col, justify="right")
    for r in results:
        w = r["reimport"]["writes"]
        table.add_row(
            r["backend"],
            f"{r['import']['records_per_s']:,}",
            f"{r['reimport']['records_per_s']:,}",
            f"{w['candidates']}/{w['feed']}/{w['audit']}",
            f"{r['list_first_page_50']['p50_ms']}/{r['list_first_page_50']['p99_ms']}",
            f"{r['list_deep_page_50']['p99_ms']}",
            f"{r['preview_segment_50']['p50_ms']}/{r['preview_segment_50']['p99_ms']}",
            f"{r['baseline_create_per_record']['records_per_s']:,}",
        )
    console.print(table)
    path = write(
        "import",
        {
            "benchmark": "import",
            "when": datetime.now(UTC).isoformat(),
            "commit": git_commit(),
            "machine": machine(),
            "versions": versions("rapport", "grpcio", "SQLAlchemy", "psycopg", "protobuf"),
            "parameters": {
                "rows": args.rows,
                "baseline_rows": baseline_rows,
                "seed": args.seed,
                "chunk_bytes": 256 * 1024,
                "page_size": 50,
                "timed_calls": 200,
            },
            "results": results,
        },
        args.out,
    )
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
