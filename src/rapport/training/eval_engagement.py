"""`rapport eval engagement`: how good the engagement models are, on data with a known answer.

(a) A seeded store. `rapport.core.seeding` simulates people whose latent responsiveness and
per-touch reply probabilities are known. A temporary SQLite store is seeded with histories
ending at `now`; both models are trained exactly as `rapport train engagement` trains them
(12 monthly cutoffs, the last one the holdout) and measured on the time-split holdout.
Then, because the truth is known, how well the model recovers it:

* At the end of history (`as_of = now`), the simulator's own `p_reply_next` is exactly the
  probability that each person replies to the next e-mail: features at `now`, truth at
  `now`, nothing reconstructed. Reported: Spearman and Pearson correlation of the predicted
  probability with it, over everyone and over people who can still be reached (not
  unsubscribed, not hired, e-mail not bounced).
* At the holdout cutoff C, the true per-touch reply probability is rebuilt from the
  person's latent responsiveness and the state the simulator tracks, taken from the events
  before C (replied before, unanswered streak): sigmoid(logit r + replied-before bonus -
  fatigue x streak). Our label (any response within 30 days) also depends on whether anyone
  writes to the person in that window, which no person-level truth covers; so the truth is
  also used as an oracle score of the same labels (its ROC-AUC is a reference, not a
  ceiling), and both are compared among people who were actually contacted in the window,
  where the label is mostly about responsiveness.

(b) Hillstrom: a stratified 60/15/25 split, with and without the campaign segment (a
published plain logistic model reaches ROC-AUC about 0.65 with it, 0.63 without).
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from rapport.core.config import Settings
from rapport.core.errors import NotFound
from rapport.core.seeding import (
    FATIGUE_CAP,
    FATIGUE_PER_UNANSWERED,
    REPLIED_BEFORE_EFFECT,
    SeedPerson,
    generate_people,
)
from rapport.core.store import db as store_db
from rapport.core.store import sealing
from rapport.core.store.schema import IdentityRow
from rapport.core.store.seed_loader import load_people
from rapport.models.engagement.features import build_features, data_span
from rapport.training.engagement import (
    DEFAULT_CUTOFFS,
    DEFAULT_HORIZON,
    build_dataset,
    fit_dataset,
    fit_pair,
    fitting_threads,
    plan_cutoffs,
)
from rapport.training.metrics import binary_metrics

DEFAULT_PEOPLE = 5000
DEFAULT_SEED = 7
EVAL_NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # fixed: same figures on every machine
HILLSTROM_REFERENCE = {"with_segment_roc_auc": 0.65, "customer_only_roc_auc": 0.63}
SENDS = ("email_sent", "sms_sent")
REPLIES = ("email_replied", "sms_replied")


def _round(value):
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def _corr(a, b, method: str) -> float:
    a, b = pd.Series(np.asarray(a, dtype="float64")), pd.Series(np.asarray(b, dtype="float64"))
    if len(a) < 3 or a.nunique() < 2 or b.nunique() < 2:
        return float("nan")
    return float(a.corr(b, method=method))


def true_p_reply(person: SeedPerson, at: datetime) -> float:
    """The simulator's probability that `person` replies to an e-mail sent at `at`, from
    their latent responsiveness and the state it tracks (replied before; consecutive
    unanswered touches: a bounced or unsubscribing touch does not count, a reply resets)."""
    replied, streak = False, 0
    for e in person.events:
        if e.occurred_at >= at:
            break
        if e.kind in SENDS:
            streak += 1
        elif e.kind in REPLIES:
            replied, streak = True, 0
        elif e.kind in ("email_bounced", "unsubscribed"):
            streak = max(0, streak - 1)
    x = float(person.truth["logit_responsiveness"])
    x += REPLIED_BEFORE_EFFECT if replied else 0.0
    x -= FATIGUE_PER_UNANSWERED * min(streak, FATIGUE_CAP)
    return 1.0 / (1.0 + math.exp(-x))


def _reachable(person: SeedPerson, at: datetime) -> bool:
    for e in person.events:
        if e.occurred_at >= at:
            break
        if e.kind in ("unsubscribed", "email_bounced"):
            return False
        if e.kind == "stage_changed" and e.stage == "hired":
            return False
    return True


def _touched(person: SeedPerson, start: datetime, end: datetime) -> bool:
    return any(e.kind in SENDS and start <= e.occurred_at < end for e in person.events)


def evaluate_store(
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    now: datetime = EVAL_NOW,
    horizon: timedelta = DEFAULT_HORIZON,
    cutoffs: int = DEFAULT_CUTOFFS,
    progress: Callable[[str], None] = lambda msg: None,
) -> dict:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rapport-eval-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'rapport.db'}"
        store_db.upgrade(url)
        db = store_db.Database(url)
        try:
            progress(f"seeding {people:,} people")
            persons = list(generate_people(people, seed, now=now))
            counts = load_people(db, persons)
            timings["seed"] = round(time.perf_counter() - started, 1)
            with db.read() as session:
                planned = plan_cutoffs(*data_span(session), horizon, count=cutoffs, now=now)
                # identities hold keyed hashes of emails: look people up by theirs
                by_email = dict(
                    session.execute(
                        select(IdentityRow.value, IdentityRow.candidate_pk).where(
                            IdentityRow.kind == "email"
                        )
                    ).all()
                )
                email_hash = sealing.lookup_mapper(session)
            progress(f"training on {len(planned)} cutoffs")
            t0 = time.perf_counter()
            ds = build_dataset(db, planned, horizon)
            fitted = fit_dataset(ds, "rapport-engagement-eval", seed=0)
            timings["train"] = round(time.perf_counter() - t0, 1)
            # people <-> candidate pks (a seed person whose identity matched another one's
            # was merged into it by the loader: leave both out of the truth comparisons)
            pk_of: dict[int, int] = {}  # id(person) -> pk
            seen: dict[int, int] = {}
            for p in persons:
                pk = (
                    by_email.get(email_hash("email", p.draft.emails[0])) if p.draft.emails else None
                )
                if pk is not None:
                    pk_of[id(p)] = pk
                    seen[pk] = seen.get(pk, 0) + 1
            matched = [p for p in persons if id(p) in pk_of and seen[pk_of[id(p)]] == 1]
            progress("comparing with the simulator's truth")
            with db.read() as session:
                X_end = build_features(session, now, [pk_of[id(p)] for p in matched])
                cutoff = planned[-1]
                X_cut = build_features(session, cutoff, [pk_of[id(p)] for p in matched])
        finally:
            db.close()
    truth = {
        "at_end_of_history": _truth_at_end(matched, pk_of, X_end, fitted, now),
        "at_holdout_cutoff": _truth_at_cutoff(matched, pk_of, X_cut, fitted, cutoff, horizon),
    }
    timings["total"] = round(time.perf_counter() - started, 1)
    return _round(
        {
            "params": {
                "people": people,
                "seed": seed,
                "now": now.isoformat(),
                "horizon_days": horizon.days,
                "cutoffs": len(planned),
                "events": counts["events"],
                "holdout_cutoff": planned[-1].isoformat(),
            },
            "rows": fitted.rows,
            "model": fitted.model_metrics,
            "baseline": fitted.baseline_metrics,
            "truth": truth,
            "timings_s": timings,
        }
    )


def _truth_at_end(persons, pk_of, X: pd.DataFrame, fitted, now: datetime) -> dict:
    persons = [p for p in persons if pk_of[id(p)] in X.index]
    X = X.loc[[pk_of[id(p)] for p in persons]]
    p_model = fitted.model.predict_proba(X)
    p_base = fitted.baseline.predict_proba(X)
    truth = np.array([float(p.truth["p_reply_next"]) for p in persons])
    latent = np.array([float(p.truth["logit_responsiveness"]) for p in persons])
    reach = np.array([_reachable(p, now + timedelta(seconds=1)) for p in persons])
    out = {
        "as_of": now.isoformat(),
        "truth": "p_reply_next: the simulator's probability of replying to the next e-mail",
        "people": len(persons),
        "reachable_people": int(reach.sum()),
    }
    for label, mask in (("all", np.ones(len(persons), dtype=bool)), ("reachable", reach)):
        out[label] = {
            "spearman_model": _corr(p_model[mask], truth[mask], "spearman"),
            "spearman_baseline": _corr(p_base[mask], truth[mask], "spearman"),
            "pearson_model": _corr(p_model[mask], truth[mask], "pearson"),
            "pearson_baseline": _corr(p_base[mask], truth[mask], "pearson"),
            "spearman_model_vs_latent_responsiveness": _corr(
                p_model[mask], latent[mask], "spearman"
            ),
        }
    return out


def _truth_at_cutoff(persons, pk_of, X: pd.DataFrame, fitted, cutoff, horizon) -> dict:
    persons = [p for p in persons if pk_of[id(p)] in X.index]
    X = X.loc[[pk_of[id(p)] for p in persons]]
    end = cutoff + horizon
    y = np.array(
        [
            any(
                e.kind in ("email_replied", "sms_replied", "email_clicked", "applied")
                and cutoff <= e.occurred_at < end
                for e in p.events
            )
            for p in persons
        ],
        dtype="int64",
    )
    p_true = np.array([true_p_reply(p, cutoff) for p in persons])
    p_model = fitted.model.predict_proba(X)
    p_base = fitted.baseline.predict_proba(X)
    touched = np.array([_touched(p, cutoff, end) for p in persons])
    out = {
        "cutoff": cutoff.isoformat(),
        "truth": "per-touch reply probability at the cutoff, rebuilt from the latent and the "
        "simulator's state (replied before, unanswered streak)",
        "people": len(persons),
        "spearman_model_vs_true_p_reply": _corr(p_model, p_true, "spearman"),
        "spearman_baseline_vs_true_p_reply": _corr(p_base, p_true, "spearman"),
        "oracle_roc_auc_true_p_reply": binary_metrics(y, p_true)["roc_auc"],
        "model_roc_auc": binary_metrics(y, p_model)["roc_auc"],
    }
    if touched.sum() and 0 < y[touched].sum() < touched.sum():
        out["contacted_in_window"] = {
            "rows": int(touched.sum()),
            "positives": int(y[touched].sum()),
            "model_roc_auc": binary_metrics(y[touched], p_model[touched])["roc_auc"],
            "baseline_roc_auc": binary_metrics(y[touched], p_base[touched])["roc_auc"],
            "oracle_roc_auc_true_p_reply": binary_metrics(y[touched], p_true[touched])["roc_auc"],
            "spearman_model_vs_true_p_reply": _corr(p_model[touched], p_true[touched], "spearman"),
        }
    return out


def evaluate_hillstrom(data_dir: str, settings: Settings, seed: int = 0) -> dict:
    from rapport.training.hillstrom import (
        HILLSTROM_CUSTOMER_SPEC,
        HILLSTROM_SPEC,
        find_hillstrom,
        load_hillstrom,
        split,
    )

    started = time.perf_counter()
    path = find_hillstrom(data_dir, settings)
    X, y = load_hillstrom(path)
    out: dict = {
        "path": str(path),
        "rows": len(y),
        "visit_rate": float(y.mean()),
        "split": "stratified: fit 60%, calibration 15%, holdout 25%",
        "reference": HILLSTROM_REFERENCE,
    }
    for label, spec in (
        ("with_segment", HILLSTROM_SPEC),
        ("customer_only", HILLSTROM_CUSTOMER_SPEC),
    ):
        (X_fit, y_fit), (X_cal, y_cal), (X_hold, y_hold) = split(spec.conform(X), y, seed)
        fitted = fit_pair(X_fit, y_fit, X_cal, y_cal, X_hold, y_hold, spec, "hillstrom", seed)
        out[label] = {
            "model": fitted.model_metrics,
            "baseline": fitted.baseline_metrics,
            "rows": fitted.rows,
        }
    out["timings_s"] = {"total": round(time.perf_counter() - started, 1)}
    return _round(out)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("scikit-learn", "numpy", "pandas", "mlflow", "SQLAlchemy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = ""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "load_average_at_end": load,  # other work on the machine slows every figure
        "python": platform.python_version(),
        "versions": versions,
    }


def evaluate_engagement(
    settings: Settings,
    *,
    data_dir: str = "",
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    hillstrom: bool = True,
    progress: Callable[[str], None] = lambda msg: None,
) -> dict:
    with fitting_threads(settings):
        out = {
            "generated_at": datetime.now(UTC).isoformat(),
            "machine": machine(),
            "store": evaluate_store(people, seed, progress=progress),
        }
        if hillstrom:
            progress("Hillstrom")
            try:
                out["hillstrom"] = evaluate_hillstrom(data_dir, settings)
            except NotFound as err:
                out["hillstrom"] = {"skipped": str(err)}
    return out


def write_results(result: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path
