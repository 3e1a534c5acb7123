"""Analytics reports at scale: campaigns, pools, the engagement model and fairness.

For each backend (SQLite and PostgreSQL): seed a store with `rapport seed --candidates N`
(about 12 timeline events per person), then grow the timeline to the target number of
events by replaying every person's history again, time-compressed towards the day they
were created (factors 3/4, 1/2, 1/4, ... so every replayed event still falls between their
creation and now) with campaign ids renamed, so each replay is a new set of campaigns.
That keeps the store's shape: the same people, sources and creation dates, four times the
outreach. Then it builds the send ledger from scratch (timed: what the first report after
a bulk load pays) and times every report through `AnalyticsUseCases`, which is what
AnalyticsService runs per call, over the default range (`--since` unset: the last 365
days) and over all of history.

Baseline in the same run: the same campaign and pipeline figures computed in pandas after
loading the timeline rows (payloads parsed in Python, outcomes attributed to sends with
merge_asof), whose totals must equal the reports' (checked).

    python bench/analytics.py [--candidates 100000] [--events 5000000]
                              [--backends sqlite,postgres] [--repeat 5] [--keep] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from common import clean_env, git_commit, machine, percentiles, versions, write
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rapport.core.config import Settings
from rapport.core.store import analytics as store
from rapport.core.store import demographics
from rapport.core.store.db import Database
from rapport.core.store.schema import CandidateRow
from rapport.services.analytics.use_cases import AnalyticsUseCases

console = Console(width=160)
CACHE = Path(__file__).resolve().parent / ".cache" / "analytics"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/analytics_bench"
SEND_KINDS = ("email_sent", "sms_sent")
# How far each replay compresses a person's history towards their creation date.
FACTORS = (0.75, 0.5, 0.25, 0.875, 0.625, 0.375, 0.125)
OUTCOMES = {
    "email_delivered": "delivered",
    "email_opened": "opened",
    "email_clicked": "clicked",
    "email_replied": "replied",
    "sms_replied": "replied",
    "unsubscribed": "unsubscribed",
    "email_bounced": "bounced",
}


# ------------------------------------------------------------------ building the store


def _env(home: Path, url: str) -> dict:
    env = clean_env()
    return env | {"RAPPORT_HOME": str(home), "RAPPORT_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}


def _fresh_postgres(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def seed(home: Path, url: str, n: int) -> float:
    rapport = str(Path(sys.executable).with_name("rapport"))
    env = _env(home, url)
    subprocess.run([rapport, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run(
        [rapport, "--json", "seed", "--candidates", str(n), "--seed", "5"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def _replay_sql(dialect: str, factor: float, suffix: str, upto: int, people_below: int) -> str:
    """INSERT ... SELECT of one replay of the first `upto` timeline rows (people with pk
    below `people_below`), times compressed towards creation by `factor`."""
    if dialect == "sqlite":
        when = (
            "strftime('%Y-%m-%d %H:%M:%f', julianday(c.created_at) + "
            f"(julianday(e.occurred_at) - julianday(c.created_at)) * {factor}) || '000'"
        )
        payload = (
            "CASE WHEN json_extract(e.payload, '$.campaign') IS NOT NULL THEN "
            "json_set(e.payload, '$.campaign', "
            f"json_extract(e.payload, '$.campaign') || '{suffix}') ELSE e.payload END"
        )
        new_id = "lower(hex(randomblob(16)))"
    else:
        when = f"c.created_at + (e.occurred_at - c.created_at) * {factor}"
        payload = (
            "CASE WHEN e.payload->>'campaign' IS NOT NULL THEN jsonb_set(e.payload::jsonb, "
            f"'{{campaign}}', to_jsonb((e.payload->>'campaign') || '{suffix}'))::json "
            "ELSE e.payload END"
        )
        new_id = "gen_random_uuid()::text"
    return (
        "INSERT INTO timeline_events (id, candidate_pk, kind, occurred_at, channel, actor, "
        f"stage, payload, recorded_at) SELECT {new_id}, e.candidate_pk, e.kind, {when}, "
        f"e.channel, 'bench-replay', e.stage, {payload}, e.recorded_at "
        "FROM timeline_events e JOIN candidates c ON c.pk = e.candidate_pk "
        f"WHERE e.pk <= {upto} AND e.candidate_pk < {people_below} ORDER BY e.pk"
    )


def amplify(url: str, target: int) -> dict:
    """Replay histories until the timeline holds about `target` events."""
    db = Database(url)
    dialect = db.dialect
    with db.engine.connect() as conn:
        base, upto = conn.execute(text("SELECT count(*), max(pk) FROM timeline_events")).one()
        max_pk = conn.execute(text("SELECT max(pk) FROM candidates")).scalar()
    replays = []
    total = base
    k = 0
    t = time.perf_counter()
    while total < target * 0.995 and k < len(FACTORS):
        factor = FACTORS[k]
        k += 1
        wanted = target - total
        share = min(1.0, wanted / base)
        below = max_pk + 1 if share >= 1.0 else int(max_pk * share) + 1
        with db.engine.begin() as conn:
            added = conn.execute(
                text(_replay_sql(dialect, round(factor, 4), f"-r{k}", upto, below))
            ).rowcount
        total += added
        replays.append({"factor": round(factor, 4), "people_pk_below": below, "events": added})
        console.print(f"  replay {k}: +{added:,} events (factor {factor:.2f}), {total:,} in all")
    if dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) timeline_events, candidates"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    db.close()
    return {
        "seeded_events": base,
        "events": total,
        "replays": replays,
        "seconds": round(time.perf_counter() - t, 1),
    }


def load_demographics(url: str) -> int:
    """Synthetic answers for 80% of people (20% unknown), so fairness has data to join."""
    db = Database(url)
    rng = np.random.default_rng(8)
    sexes = np.array(["female", "male", "non_binary"])
    races = np.array(
        ["white", "asian", "black_or_african_american", "hispanic_or_latino", "two_or_more_races"]
    )
    with db.transaction() as s:
        pks = [pk for (pk,) in s.query(CandidateRow.pk).filter(CandidateRow.status == "active")]
        keep = rng.random(len(pks)) < 0.8
        rows = [
            (int(pk), str(sexes[rng.choice(3, p=[0.47, 0.5, 0.03])]), str(rng.choice(races)))
            for pk, k in zip(pks, keep, strict=True)
            if k
        ]
        demographics.record_many(s, rows, source="bench")
    db.close()
    return len(rows)


# ------------------------------------------------------------------ a scorer for the bench


def bench_scorer(now: datetime, seed: int = 0, version: str = "bench"):
    """A real EngagementScorer (HistGradientBoosting on the real feature spec, fitted on
    synthetic rows): the model report's cost is features, scoring and statistics, which
    do not depend on how good the model is. No MLflow registry needed."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from rapport.models.engagement.features import FEATURE_SPEC
    from rapport.models.engagement.scorer import EngagementScorer

    rng = np.random.default_rng(seed)
    n = 2000
    frame = pd.DataFrame({name: rng.exponential(5.0, n) for name in FEATURE_SPEC.numeric})
    for name in FEATURE_SPEC.categorical:
        frame[name] = rng.choice(["referral", "linkedin", "agency", "unknown"], n)
    signal = frame["replies_total"] - 0.1 * frame["days_since_last_contact"]
    labels = (signal + rng.normal(0, 1, n) > np.median(signal)).astype(int)
    categories = EngagementScorer.learn_categories(frame, FEATURE_SPEC)
    x = EngagementScorer.encode(frame, FEATURE_SPEC, categories)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=seed).fit(x, labels)
    return EngagementScorer(
        name="rapport-engagement",
        feature_spec=FEATURE_SPEC,
        estimator=model,
        categories=categories,
        reference=EngagementScorer.learn_reference(frame, FEATURE_SPEC),
        version=version,
        metadata={
            "horizon_days": 30,
            "holdout_cutoff": (now - timedelta(days=120)).isoformat(),
            "trained_at": (now - timedelta(days=60)).isoformat(),
        },
    )


def served_engagement(db: Database, settings: Settings, scorer):
    """EngagementService's use cases in this process with `scorer` as champion and everyone
    scored by the keeper's full pass (what `rapport serve` does in the background after a
    model loads), as AnalyticsService gets them when both run in one server. Returns the
    use cases and the seconds the pass took."""
    from rapport.models.engagement.bands import thresholds_from
    from rapport.services.engagement.keeper import ScoreKeeper
    from rapport.services.engagement.model_holder import LoadedModel, ModelInfo
    from rapport.services.engagement.use_cases import EngagementUseCases

    keeper = ScoreKeeper(db, settings, thresholds_from(settings), write_bands=False)
    keeper.install(LoadedModel(scorer, ModelInfo(scorer.name, scorer.version, "champion")))
    t = time.perf_counter()
    keeper.full_pass(keeper.current())
    return EngagementUseCases(db, settings, None, keeper), time.perf_counter() - t


# ------------------------------------------------------------------ pandas baselines


def _read(url: str, sql: str) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql_query(text(sql), conn)
    engine.dispose()
    return frame


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601")


def baseline_campaigns(url: str, since: datetime, until: datetime) -> dict:
    """Sends in [since, until) and their outcomes, in pandas: load the rows, parse the
    payloads, attribute each outcome to the latest earlier send of its thread."""
    t0 = time.perf_counter()
    kinds = ", ".join(f"'{k}'" for k in (*SEND_KINDS, *OUTCOMES))
    raw = _read(
        url,
        "SELECT pk, candidate_pk, kind, occurred_at, CAST(payload AS TEXT) AS payload "
        f"FROM timeline_events WHERE kind IN ({kinds})",
    )
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    payloads = [json.loads(p) if p else {} for p in raw["payload"]]
    raw["thread"] = [p.get("send_id") or p.get("campaign") or "" for p in payloads]
    raw["template"] = [p.get("template") or "" for p in payloads]
    raw["machine"] = [p.get("machine") is True for p in payloads]
    raw["content"] = [bool(p.get("decision_id")) for p in payloads]
    raw["t"] = _utc(raw["occurred_at"])
    sends = raw[raw.kind.isin(SEND_KINDS)][["pk", "candidate_pk", "thread", "t", "template"]]
    outs = raw[raw.kind.isin(list(OUTCOMES)) & ~raw.content][
        ["candidate_pk", "thread", "t", "kind", "machine"]
    ]
    sends = sends.sort_values("t")
    outs = outs.sort_values("t")
    joined = pd.merge_asof(
        outs,
        sends.rename(columns={"pk": "send", "t": "sent_at"})[
            ["candidate_pk", "thread", "sent_at", "send"]
        ],
        left_on="t",
        right_on="sent_at",
        by=["candidate_pk", "thread"],
        direction="backward",
    ).dropna(subset=["send"])
    joined["what"] = joined.kind.map(OUTCOMES)
    joined.loc[(joined.what == "opened") & joined.machine, "what"] = "machine_opened"
    flags = joined.groupby(["send", "what"]).size().unstack(fill_value=0).gt(0)
    in_range = sends[(sends.t >= since) & (sends.t < until)].set_index("pk")
    flags = flags.reindex(in_range.index, fill_value=False)
    totals = {"sent": len(in_range)} | {c: int(flags[c].sum()) for c in flags.columns}
    per_template = in_range.join(flags).groupby("template").size()
    return {
        "load_s": round(load_s, 3),
        "compute_s": round(time.perf_counter() - t1, 3),
        "rows": len(raw),
        "totals": totals,
        "templates": len(per_template),
    }


def baseline_funnel(url: str, since: datetime, until: datetime) -> dict:
    """The pipeline funnel of the people who joined in [since, until), in pandas."""
    t0 = time.perf_counter()
    people = _read(url, "SELECT pk, created_at, source FROM candidates WHERE status = 'active'")
    events = _read(
        url,
        "SELECT candidate_pk, kind, stage, occurred_at FROM timeline_events WHERE kind IN "
        "('stage_changed', 'email_sent', 'sms_sent', 'call')",
    )
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    people["created_at"] = _utc(people["created_at"])
    events["t"] = _utc(events["occurred_at"])
    cohort = people[(people.created_at >= since) & (people.created_at < until)]
    events = events[(events.t < until) & events.candidate_pk.isin(cohort.pk)]
    rank = {s: i + 1 for i, s in enumerate(store.LADDER)}
    stages = events[events.kind == "stage_changed"].assign(r=lambda d: d.stage.map(rank))
    furthest = stages.groupby("candidate_pk").r.max()
    contacted = set(events[events.kind != "stage_changed"].candidate_pk)
    f = furthest.reindex(cohort.pk, fill_value=0).fillna(0)
    funnel = {"sourced": len(cohort)}
    funnel["contacted"] = int(((f >= 1) | cohort.pk.isin(contacted).to_numpy()).sum())
    for stage in store.LADDER[1:]:
        funnel[stage] = int((f >= rank[stage]).sum())
    return {
        "load_s": round(load_s, 3),
        "compute_s": round(time.perf_counter() - t1, 3),
        "funnel": funnel,
    }


# ------------------------------------------------------------------ timing the reports


def time_reports(
    uc: AnalyticsUseCases, served: AnalyticsUseCases, ranges: dict, repeat: int, ids, top
) -> list:
    out = []
    for label, (since, until) in ranges.items():
        calls = {
            "campaigns": lambda s=since, u=until: uc.campaigns(s, u),
            "pools": lambda s=since, u=until: uc.pools(s, u),
            "models": lambda s=since, u=until: uc.models(s, u),
        }
        for name, call in calls.items():
            call()  # warm: caches, planner statistics
            samples = []
            for _ in range(repeat):
                t = time.perf_counter()
                call()
                samples.append((time.perf_counter() - t) * 1000)
            out.append(
                {"report": name, "range": label}
                | percentiles(samples)
                | {"max_ms": round(max(samples), 1)}
            )
            console.print(f"  {name:<10} {label:<8} {out[-1]}")
    fairness = {
        f"fairness (ranking of {len(ids):,}, top {top:,})": lambda: uc.fairness_ranking(
            ids, top, "bench"
        ),
        "fairness (champion now, scores as served)": lambda: served.fairness_model("", 0.0, None),
        "fairness (another version now, on the served features)": (
            lambda: served.fairness_model("challenger", 0.0, None)
        ),
        "fairness (rebuilt from the timeline: a past date, or no EngagementService here)": (
            lambda: uc.fairness_model("", 0.0, None)
        ),
    }
    for name, call in fairness.items():
        call()
        samples = []
        for _ in range(max(1, repeat // 2)):
            t = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t) * 1000)
        out.append(
            {"report": name, "range": "now"}
            | percentiles(samples)
            | {"max_ms": round(max(samples), 1)}
        )
        console.print(f"  {name:<10} {out[-1]}")
    return out


def run_backend(name: str, url: str, args, home: Path) -> dict:
    console.rule(f"{name}: {args.candidates:,} candidates, {args.events:,} events")
    result: dict = {"backend": name}
    if not args.keep or not home.exists():
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        if name == "postgresql":
            _fresh_postgres(url)
        result["seed_s"] = round(seed(home, url, args.candidates), 1)
        console.print(f"seeded in {result['seed_s']} s")
        result["amplify"] = amplify(url, args.events)
        result["demographics"] = load_demographics(url)
        (home / "built.json").write_text(json.dumps(result, default=str))
    elif (home / "built.json").exists():
        result |= json.loads((home / "built.json").read_text())
    if args.build_only:
        return result
    db = Database(url)
    with db.engine.connect() as conn:
        result["timeline_events"] = conn.execute(
            text("SELECT count(*) FROM timeline_events")
        ).scalar()
        result["candidates"] = conn.execute(text("SELECT count(*) FROM candidates")).scalar()
    settings = Settings(
        home=home,
        database_url=url,
        analytics_ledger_grace_s=0.0,
        analytics_refresh_interval_s=0.0,
    )
    scorer = bench_scorer(datetime.now(UTC))
    uc = AnalyticsUseCases(db, settings, models=lambda version: scorer)
    with db.transaction() as s:
        store.rebuild(s)
    t = time.perf_counter()
    built = uc.refresh()
    ledger_s = time.perf_counter() - t
    if name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) analytics_sends, analytics_people"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    result["ledger_build"] = {
        "seconds": round(ledger_s, 1),
        "events": built.events,
        "sends": built.sends,
        "outcomes": built.outcomes,
        "unattributed": built.unattributed,
        "events_per_s": round(built.events / ledger_s) if ledger_s else None,
    }
    console.print(f"ledger built from scratch: {result['ledger_build']}")
    t = time.perf_counter()
    uc.refresh()
    result["ledger_noop_refresh_ms"] = round((time.perf_counter() - t) * 1000, 1)
    now = datetime.now(UTC)
    with db.read() as s:
        first = s.execute(text("SELECT min(occurred_at) FROM timeline_events")).scalar()
    first = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
    first = first.replace(tzinfo=UTC) if first.tzinfo is None else first
    ranges = {
        "365 days": (now - timedelta(days=settings.analytics_default_days), now),
        "all": (first - timedelta(days=1), now),
    }
    rng = np.random.default_rng(4)
    with db.read() as s:
        all_ids = [
            cid for (cid,) in s.query(CandidateRow.id).filter(CandidateRow.status == "active")
        ]
    ids = [
        all_ids[i]
        for i in rng.choice(len(all_ids), size=min(20_000, len(all_ids) - 1), replace=False)
    ]
    top = max(1, len(ids) // 10)
    engagement, pass_s = served_engagement(db, settings, scorer)
    result["engagement_full_pass_s"] = round(pass_s, 1)
    console.print(f"engagement keeper scored everyone in {pass_s:.1f}s")
    challenger = bench_scorer(now, seed=1, version="bench-challenger")
    served = AnalyticsUseCases(
        db,
        settings,
        models=lambda version: challenger if version == "challenger" else scorer,
        engagement=engagement,
    )
    result["reports"] = time_reports(uc, served, ranges, args.repeat, ids, top)
    # baselines, checked against the reports
    checks = []
    for label, (since, until) in ranges.items():
        report = uc.campaigns(since, until)
        base = baseline_campaigns(url, since, until)
        mine = {
            "sent": report.totals.sent,
            "delivered": report.totals.delivered,
            "opened": report.totals.opened,
            "machine_opened": report.totals.machine_opens,
            "clicked": report.totals.clicked,
            "replied": report.totals.replied,
            "unsubscribed": report.totals.unsubscribed,
            "bounced": report.totals.bounced,
        }
        agree = all(base["totals"].get(k, 0) == v for k, v in mine.items())
        checks.append({"report": "campaigns", "range": label, "agree": agree} | base)
        pools_report = uc.pools(since, until)
        fb = baseline_funnel(url, since, until)
        funnel = {f.stage: f.count for f in pools_report.funnel}
        checks.append(
            {"report": "pools (funnel)", "range": label, "agree": funnel == fb["funnel"]} | fb
        )
        console.print(f"  baselines {label}: {checks[-2]['agree']=}, {checks[-1]['agree']=}")
    result["baselines"] = checks
    db.close()
    return result


def table(results: list[dict]) -> Table:
    t = Table(title="Analytics reports (in-process use cases, ms)")
    for col in ("backend", "report", "range", "p50", "p95", "max", "pandas baseline"):
        t.add_column(col, justify="left" if col in ("backend", "report", "range") else "right")
    for r in results:
        base = {(b["report"].split(" ")[0], b["range"]): b for b in r["baselines"]}
        for x in r["reports"]:
            b = base.get((x["report"], x["range"]))
            t.add_row(
                r["backend"],
                x["report"],
                x["range"],
                f"{x['p50_ms']:,.0f}",
                f"{x['p95_ms']:,.0f}",
                f"{x['max_ms']:,.0f}",
                f"{1000 * (b['load_s'] + b['compute_s']):,.0f}" if b else "",
            )
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=5_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg-url", default=PG_DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="reuse stores built by an earlier run")
    ap.add_argument("--quick", action="store_true", help="CI smoke: 2,000 people, 60k events")
    ap.add_argument("--build-only", action="store_true", help="build the stores and stop")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.quick:
        args.candidates, args.events, args.repeat = 2000, 60_000, 2
    load_before = os.getloadavg()
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "sqlite":
            home = CACHE / f"sqlite-{args.candidates}-{args.events}"
            url = f"sqlite:///{home / 'rapport.db'}"
        elif backend in ("postgresql", "postgres"):
            backend = "postgresql"
            home = CACHE / f"pg-{args.candidates}-{args.events}"
            url = args.pg_url
        else:
            raise SystemExit(f"unknown backend {backend}")
        results.append(run_backend(backend, url, args, home))
    if args.build_only:
        console.print(results)
        return
    console.print(table(results))
    payload = {
        "benchmark": "analytics",
        "commit": git_commit(),
        "machine": machine()
        | {"load_average_before": load_before, "load_average_after": os.getloadavg()},
        "versions": versions(
            "SQLAlchemy", "psycopg", "numpy", "pandas", "scikit-learn", "matplotlib"
        ),
        "parameters": {
            "candidates": args.candidates,
            "events_target": args.events,
            "repeat": args.repeat,
            "quick": args.quick,
            "how": (
                "rapport seed --candidates N --seed 5, then each person's history replayed, "
                "time-compressed towards their creation date, with campaign ids renamed, up "
                "to the event target; synthetic demographics for 80% of people; reports "
                "timed through AnalyticsUseCases (what AnalyticsService runs per call) after "
                "one warm-up call; the ledger built from scratch first and timed separately"
            ),
        },
        "results": results,
    }
    name = "analytics_quick" if args.quick else "analytics"
    console.print(f"wrote {write(name, payload, args.out)}")
    if not all(c["agree"] for r in results for c in r["baselines"]):
        raise SystemExit("a report disagrees with its pandas baseline")


if __name__ == "__main__":
    main()
