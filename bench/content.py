"""NextBestContent end to end over gRPC, with the uniform-random policy as the baseline.

Seeds a SQLite store (`rapport seed`), records consent for the people (2% opted out), starts
`rapport serve`, adds a realistic library over gRPC (CreateContent embeds each item), then
times NextBestContent for random people, sequentially (p50/p95/p99, per answer kind) and
with 4 concurrent clients (QPS). Two ways a person's vector can come:

  index   matching runs in the same process (the embedded default): the person's vector is
          the matching index's (the bench builds that index first, like `rapport index
          rebuild`), so a decision encodes nothing;
  encode  content runs alone: the person's profile is encoded on each request.

The baseline (same store, same run) serves RAPPORT_CONTENT_POLICY=uniform. Finally the
softmax log is given simulated outcomes (a known click probability per person and item, from
the logged relevance) through RecordOutcome, and `rapport eval content`'s store part
estimates other policies from it: the truth is known, so the relative error is reported.

    python bench/content.py [--candidates 100000] [--items 1000] [--encoder onnx]
        [--vectors index,encode] [--quick] [--out PATH]
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import numpy as np
from common import Server, channel, clean_env, git_commit, machine, percentiles, versions, write
from google.protobuf import timestamp_pb2
from matching_rank import index_from_scratch, seed, wait_ready
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, update

from rapport.core.config import Settings
from rapport.core.store import content as content_store
from rapport.core.store import db as store_db
from rapport.core.store.db import Database
from rapport.core.store.decisions import eligible_arrays
from rapport.core.store.schema import CandidateRow, ContentDecisionRow
from rapport.core.taxonomy import Taxonomy
from rapport.training.eval_content import evaluate_store
from rapport.v1 import common_pb2, matching_pb2_grpc
from rapport.v1 import content_pb2 as pb
from rapport.v1 import content_pb2_grpc as pb_grpc

console = Console(width=150)
KINDS = [
    (pb.CONTENT_KIND_ARTICLE, 0.35),
    (pb.CONTENT_KIND_JOB_AD, 0.25),
    (pb.CONTENT_KIND_EVENT_INVITE, 0.15),
    (pb.CONTENT_KIND_WHITEPAPER, 0.15),
    (pb.CONTENT_KIND_EMAIL_TEMPLATE, 0.10),
]
TITLES = {
    pb.CONTENT_KIND_ARTICLE: [
        "What great {family}s do differently with {s1}",
        "{s1} and {s2}: a field guide for {family}s",
        "Salary report 2026: {family}s with {s1}",
        "From {s1} to {s2}: growing as a {family}",
    ],
    pb.CONTENT_KIND_JOB_AD: [
        "We are hiring: {level} {family} ({s1}, {s2})",
        "{level} {family} role, {s1} focus",
    ],
    pb.CONTENT_KIND_EVENT_INVITE: [
        "Meetup: {s1} for {family}s",
        "Webinar: scaling {s1} with {s2}",
    ],
    pb.CONTENT_KIND_WHITEPAPER: [
        "Whitepaper: the state of {s1} in 2026",
        "{s1} benchmarks every {family} should know",
    ],
    pb.CONTENT_KIND_EMAIL_TEMPLATE: [
        "Check-in for {family}s who know {s1}",
        "Still working with {s1}? A quick hello",
    ],
}
BODY = (
    "Hi {{ first_name }},\n\n"
    "{% if top_skill %}As someone who works with {{ top_skill }}, {% endif %}"
    'you might like "{{ content_title }}": {topic}.\n'
    "{{ content_url }}\n\n{{ recruiter_name }}\n"
)


def make_items(n: int, seed_: int = 5) -> list[pb.ContentItem]:
    """A library that looks like a recruiting team's: every role family, five kinds, some
    audiences (country or seniority), some German or French items, some not active now."""
    rng = random.Random(seed_)
    taxonomy = Taxonomy.bundled()
    families = taxonomy.role_families
    now = datetime.now(UTC)
    items = []
    for i in range(n):
        family = families[i % len(families)]
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        skills = rng.sample(list(family.core_skills) + list(family.optional_skills[:12]), k=3)
        labels = [taxonomy.skill(s).label if s in taxonomy else s for s in skills]
        level = rng.choice(["Senior", "Lead", "Junior", ""]) or "Mid-level"
        title = rng.choice(TITLES[kind]).format(
            family=family.name, s1=labels[0], s2=labels[1], level=level
        )
        item = pb.ContentItem(
            kind=kind,
            title=f"{title} #{i}",
            subject="{{ first_name | default('Hello') }}, " + title[:80],
            body=BODY.replace("{topic}", f"{labels[0]}, {labels[1]} and {labels[2]}"),
            url=f"https://careers.example.com/content/{i}",
            topics=[family.name, *labels],
            skills=labels,
            channels=rng.choices([["email"], ["email", "linkedin"], ["web"]], [0.8, 0.15, 0.05])[0],
            fallbacks={"recruiter_name": "The talent team"},
        )
        roll = rng.random()
        if roll < 0.08:
            item.locale = rng.choice(["de", "fr"])
        elif roll < 0.12:
            item.audience.CopyFrom(
                common_pb2.Rule(
                    conditions=[
                        common_pb2.Condition(
                            field="country",
                            op="in",
                            values=rng.choice([["DE", "AT", "CH"], ["US", "CA"], ["GB", "IE"]]),
                        )
                    ]
                )
            )
        elif roll < 0.16:
            item.audience.CopyFrom(
                common_pb2.Rule(
                    conditions=[
                        common_pb2.Condition(field="seniority", op="gte", values=["senior"])
                    ]
                )
            )
        elif roll < 0.19:  # not active now: ended, or starts next month
            ended = rng.random() < 0.5
            when = now - timedelta(days=10) if ended else now + timedelta(days=30)
            target = item.active_until if ended else item.active_from
            target.FromDatetime(when)
        items.append(item)
    return items


def grant_consent(url: str, opted_out_share: float = 0.02) -> dict:
    """Seeded people carry no consent; a real CRM records it. Everyone gets `granted` but
    a share who opted out (by key, so the run is repeatable)."""
    db = Database(url)
    every = max(1, round(1 / opted_out_share))
    with db.transaction() as s:
        s.execute(update(CandidateRow).values(consent_state="granted"))
        s.execute(
            update(CandidateRow)
            .where(CandidateRow.pk % every == 0)
            .values(consent_state="opted_out")
        )
        zones = dict(
            s.execute(
                select(CandidateRow.id, CandidateRow.timezone).where(
                    CandidateRow.status == "active"
                )
            ).all()
        )
    db.close()
    return {"granted": len(zones) - len(zones) // every, "opted_out_every": every, "zones": zones}


def daytime(zone: str, rng: random.Random) -> timestamp_pb2.Timestamp:
    """A send time the scheduler would pick: a working hour, in the person's own zone, in
    the next day (the rules and the policy do the same work at any hour; quiet hours only
    turn the answer into "send nothing, ask again at 08:00")."""
    tz = ZoneInfo(zone) if zone else UTC
    local = datetime.now(tz) + timedelta(days=1)
    local = local.replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59), second=0)
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(local.astimezone(UTC))
    return out


def create_items(address: str, items: list[pb.ContentItem]) -> tuple[float, str, str]:
    with channel(address) as ch:
        stub = pb_grpc.ContentServiceStub(ch)
        t = time.perf_counter()
        last = None
        for item in items:
            last = stub.CreateContent(pb.CreateContentRequest(item=item), timeout=120)
        seconds = time.perf_counter() - t
        deadline = time.monotonic() + 900
        while True:  # items created before the encoder was ready are embedded by a refresh
            got = stub.GetContent(pb.GetContentRequest(id=last.id), timeout=30)
            if got.embedding_encoder or time.monotonic() > deadline:
                return seconds, got.embedding_encoder, last.id
            time.sleep(0.2)


def _wait_content(stub, people: list[str], zones: dict, timeout: float = 1800.0) -> None:
    """Until a dry run sends something: the encoder has loaded (with matching, the skill
    mapper too) and the library is embedded in its space."""
    deadline = time.monotonic() + timeout
    rng = random.Random(0)
    for cid in itertools.cycle(people):
        try:
            request = _request(cid, zones, rng)
            request.dry_run = True
            if stub.NextBestContent(request, timeout=120).send:
                return
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAVAILABLE:
                raise
        if time.monotonic() > deadline:
            raise SystemExit("content never became ready")
        time.sleep(0.5)


def _request(cid: str, zones: dict[str, str], rng: random.Random) -> pb.NextBestContentRequest:
    return pb.NextBestContentRequest(
        candidate_id=cid, context=pb.ContentContext(send_at=daytime(zones[cid], rng))
    )


def measure(address: str, zones: dict[str, str], repeat: int, seconds: float) -> dict:
    """Sequential latencies over `repeat` distinct people, then QPS with 4 clients."""
    rng = random.Random(11)
    ids = sorted(zones)
    people = rng.sample(ids, min(len(ids), repeat + 50))
    answers: Counter = Counter()
    encoder = ""
    by_kind: dict[str, list[float]] = {"send": [], "nothing": []}
    every: list[float] = []
    log: list[tuple[str, str]] = []  # (decision id, content id) of sends
    with channel(address) as ch:
        stub = pb_grpc.ContentServiceStub(ch)
        _wait_content(stub, people, zones)
        for cid in people[:50]:  # warm-up
            stub.NextBestContent(_request(cid, zones, rng), timeout=30)
        for cid in people[50:]:
            request = _request(cid, zones, rng)
            t = time.perf_counter()
            r = stub.NextBestContent(request, timeout=30)
            ms = (time.perf_counter() - t) * 1000
            every.append(ms)
            name = (
                "send"
                if r.send
                else pb.NoSendReason.Name(r.no_send).removeprefix("NO_SEND_REASON_").lower()
            )
            answers[name] += 1
            by_kind["send" if r.send else "nothing"].append(ms)
            if r.send:
                log.append((r.decision_id, r.item.id))
                encoder = r.encoder
    done = [0] * 4
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        local = random.Random(100 + i)
        with channel(address) as ch:
            stub = pb_grpc.ContentServiceStub(ch)
            n = 0
            while time.monotonic() < stop:
                stub.NextBestContent(_request(local.choice(ids), zones, local), timeout=30)
                n += 1
            done[i] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "all": percentiles(every),
        "send_answers": percentiles(by_kind["send"]) if len(by_kind["send"]) > 1 else None,
        "send_nothing_answers": percentiles(by_kind["nothing"])
        if len(by_kind["nothing"]) > 1
        else None,
        "answers": dict(answers),
        "qps_4_clients": round(sum(done) / seconds, 1),
        "encoder": encoder,
        "_sends": log,
    }


def true_click(relevance: np.ndarray) -> np.ndarray:
    """The simulated world: P(click) rises with relevance (known, so OPE can be checked)."""
    return np.clip(0.6 * (relevance - 0.45), 0.005, 0.35)


def simulate_outcomes(address: str, url: str, sends: list[tuple[str, str]], seed_: int) -> dict:
    """Delivered + clicked (drawn from `true_click`) for each logged send, over gRPC; then
    the store part of `rapport eval content`, beside the true value of each policy."""
    rng = np.random.default_rng(seed_)
    db = Database(url)
    with db.read() as s:
        rows = {
            r.id: r
            for r in s.execute(
                select(ContentDecisionRow).where(ContentDecisionRow.id.in_([d for d, _ in sends]))
            ).scalars()
        }
    db.close()
    truth_rows = []
    started = time.perf_counter()
    with channel(address) as ch:
        stub = pb_grpc.ContentServiceStub(ch)
        for decision_id, _ in sends:
            row = rows[decision_id]
            arrays = eligible_arrays(row.eligible)
            p = true_click(np.asarray(arrays["r"]))
            at = arrays["ids"].index(row.content_pk)
            stub.RecordOutcome(
                pb.RecordOutcomeRequest(decision_id=decision_id, kind=pb.OUTCOME_KIND_DELIVERED),
                timeout=30,
            )
            if rng.random() < p[at]:
                stub.RecordOutcome(
                    pb.RecordOutcomeRequest(decision_id=decision_id, kind=pb.OUTCOME_KIND_CLICKED),
                    timeout=30,
                )
            truth_rows.append((np.asarray(arrays["p"]), np.asarray(arrays["s"]), p))
    outcome_s = time.perf_counter() - started

    def value(kind: str) -> float:
        out = []
        for logged_p, s, p in truth_rows:
            if kind == "logged":
                dist = logged_p / logged_p.sum()
            elif kind == "uniform":
                dist = np.full(len(s), 1.0 / len(s))
            elif kind == "greedy":
                dist = (s == s.max()).astype(float)
                dist /= dist.sum()
            else:
                logits = np.log(np.maximum(s, 1e-9)) / 0.05
                dist = np.exp(logits - logits.max())
                dist /= dist.sum()
            out.append(float(dist @ p))
        return float(np.mean(out))

    settings = Settings(database_url=url)
    report = evaluate_store(settings)
    checks = {}
    for kind, ests in report.get("policies", {}).items():
        truth = value("softmax" if kind.startswith("softmax") else kind)
        checks[kind] = {
            "truth": round(truth, 6),
            **{
                name: {
                    "value": e["value"],
                    "lower": e["lower"],
                    "upper": e["upper"],
                    "relative_error": round(abs(e["value"] - truth) / truth, 4),
                    "covers_truth": bool(e["lower"] <= truth <= e["upper"]),
                }
                for name, e in ests.items()
                if name in ("ips", "snips", "dr")
            },
        }
    return {
        "decisions": len(sends),
        "outcomes_per_s": round(len(sends) / outcome_s, 1),
        "click_model": "P(click) = clip(0.6 (relevance - 0.45), 0.005, 0.35)",
        "policies": checks,
    }


def run_config(
    home: Path, url: str, work: Path, encoder: str, vectors: str, policy: str, args, zones, items
) -> dict:
    services = "candidates,matching,content" if vectors == "index" else "candidates,content"
    server = Server(
        home,
        url,
        encoder=encoder,
        model_cache_dir=str(work / "models"),
        services=services,
        content_policy=policy,
        index_snapshot_interval_s="100000",
    )
    try:
        out: dict = {"vectors": vectors, "policy": policy, "services": services}
        if items is not None:
            seconds, embedded_by, _ = create_items(server.address, items)
            out["library"] = {
                "items": len(items),
                "create_s": round(seconds, 1),
                "items_per_s": round(len(items) / seconds, 1),
                "embedded_by": embedded_by,
            }
        if vectors == "index":
            with channel(server.address) as ch:
                wait_ready(matching_pb2_grpc.MatchingServiceStub(ch))
        out |= measure(server.address, zones, args.repeat, args.seconds)
        if args.simulate and policy == "softmax" and vectors == args.vectors[-1]:
            sends = out.pop("_sends")
            out["ope_on_simulated_outcomes"] = simulate_outcomes(
                server.address, url, sends[: args.simulate], seed_=17
            )
        out.pop("_sends", None)
        return out
    finally:
        server.stop()


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="rapport-content-bench-"))
    try:
        home = work / "store"
        home.mkdir()
        url = f"sqlite:///{home / 'rapport.db'}"
        env = clean_env()
        env |= {"RAPPORT_HOME": str(home), "RAPPORT_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
        if args.store:  # a store seeded before (`--keep`): seeding 100k takes minutes
            for f in args.store.glob("rapport.db*"):
                shutil.copy(f, home / f.name)
            seed_s = 0.0
        else:
            seed_s = seed(home, url, args.candidates, env)
        store_db.upgrade(url)  # a kept store may predate the latest migration
        consent = grant_consent(url)
        zones = consent.pop("zones")
        console.print(f"seeded {len(zones):,} candidates in {seed_s:.1f}s")
        out: dict = {
            "candidates": len(zones),
            "seed_s": round(seed_s, 1),
            "consent": consent,
            "encoder": args.encoder,
            "index_encoder": args.index_encoder,
            "configs": [],
        }
        kept_index = args.store / "index" if args.store else None
        if kept_index is not None and kept_index.is_dir():
            shutil.copytree(kept_index, home / "index")  # built by an earlier run (--keep)
            out["matching_index"] = {"reused_from": str(kept_index)}
        elif "index" in args.vectors:
            settings = Settings(
                home=home,
                database_url=url,
                encoder=args.index_encoder,
                model_cache_dir=work / "models",
            )
            out["matching_index"] = index_from_scratch(settings)
            console.print(f"matching index: {out['matching_index']}")
        db = Database(url)
        with db.read() as s:
            stored = len(content_store.load_all(s))
        db.close()
        items = make_items(args.items) if stored < args.items else None  # a kept library
        out["library_reused"] = items is None
        first = True
        for vectors in args.vectors:
            policies = ("softmax", "uniform") if vectors == args.vectors[0] else ("softmax",)
            for policy in policies:
                result = run_config(
                    home,
                    url,
                    work,
                    args.index_encoder if vectors == "index" else args.encoder,
                    vectors,
                    policy,
                    args,
                    zones,
                    items if first else None,
                )
                first = False
                console.print(result)
                out["configs"].append(result)
        return out
    finally:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in (work / "store").glob("rapport.db*"):
                shutil.copy(f, args.keep / f.name)
            if (work / "store" / "index").is_dir() and not (args.keep / "index").exists():
                shutil.copytree(work / "store" / "index", args.keep / "index")
            console.print(f"kept the store (with its decision log) in {args.keep}")
        shutil.rmtree(work, ignore_errors=True)


def table(result: dict) -> Table:
    t = Table(
        title=f"NextBestContent over gRPC: {result['candidates']:,} candidates, "
        f"{result['configs'][0].get('library', {}).get('items', '?')} items"
    )
    for col in (
        "encoder",
        "person vector",
        "policy",
        "all p50/p99 ms",
        "send p50/p99 ms",
        "QPS x4",
        "answers",
    ):
        t.add_column(
            col, justify="left" if col in ("person vector", "policy", "answers") else "right"
        )
    for c in result["configs"]:
        send = c["send_answers"] or {}
        t.add_row(
            c["encoder"].split("@")[0],
            c["vectors"],
            c["policy"],
            f"{c['all']['p50_ms']:.1f} / {c['all']['p99_ms']:.1f}",
            f"{send.get('p50_ms', 0):.1f} / {send.get('p99_ms', 0):.1f}",
            f"{c['qps_4_clients']}",
            ", ".join(f"{k} {v}" for k, v in sorted(c["answers"].items())),
        )
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=1_000)
    ap.add_argument("--encoder", default="onnx", help="encoder of the `encode` config")
    ap.add_argument(
        "--index-encoder",
        default="",
        help="encoder of the `index` config (default: --encoder); it only builds the matching "
        "index and embeds the library, a decision then encodes nothing",
    )
    ap.add_argument("--store", type=Path, default=None, help="reuse a store kept with --keep")
    ap.add_argument("--vectors", default="index,encode", help="index, encode or both")
    ap.add_argument("--repeat", type=int, default=1000, help="sequential calls per config")
    ap.add_argument("--seconds", type=float, default=10.0, help="QPS measurement per config")
    ap.add_argument("--simulate", type=int, default=5000, help="sends given simulated outcomes")
    ap.add_argument("--quick", action="store_true", help="a smoke run (CI)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--keep", type=Path, default=None, help="copy the store here (for `rapport eval content`)"
    )
    args = ap.parse_args()
    args.vectors = [v.strip() for v in args.vectors.split(",") if v.strip()]
    if args.quick:
        args.candidates, args.items, args.encoder = 2_000, 100, "fake"
        args.repeat, args.seconds, args.simulate = 100, 2.0, 100
    args.index_encoder = args.index_encoder or args.encoder
    result = run(args)
    console.print(table(result))
    payload = {
        "benchmark": "content",
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions("rapport", "onnxruntime", "grpcio", "SQLAlchemy", "numpy", "Jinja2"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "note": "2-core shared machine: figures vary run to run. Latencies are client-side "
        "over a local channel; every non-dry-run decision (send or not) is logged.",
        "target": "NextBestContent p99 <= 20 ms with 1,000 items and 100k candidates",
        **result,
    }
    name = "content_quick" if args.quick else "content"
    console.print(f"wrote {write(name, payload, args.out)}")


if __name__ == "__main__":
    main()
