"""Monitoring of an engagement model (DESIGN §7) on the store's own recent history.

Three questions, on a random sample of people (features are point-in-time, so every view
is rebuilt from the timeline rather than from a log of served scores):

- Calibration on recent outcomes: features as of `until - horizon`, the model's scores,
  and whether each person responded within the horizon that followed (the model's own
  label). Reliability bins with Wilson intervals, Brier score, ECE and ROC-AUC.
- Score distribution now: features as of `until`, the scores, a histogram.
- Drift of each input against the data the model was trained on: the features as of its
  latest training cutoff (the holdout cutoff minus two horizons: the oldest cutoffs fit,
  the next calibrates, the last is the holdout) against the features as of `until`, by the
  population stability index (quantile bins of the reference; categories as they are).
  PSI >= 0.2 is the usual "significant shift" warning; 0.1-0.2 a moderate one.

The three feature sets are built in one read of the timeline (`build_feature_sets`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.core.store.schema import CandidateRow
from rapport.models.analytics_stats import (
    Calibration,
    calibration,
    categorical_psi,
    histogram,
    numeric_psi,
)
from rapport.models.engagement.features import build_feature_sets, build_labels

CALIBRATION_EDGES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1.0)
HISTOGRAM_BINS = 25
DEFAULT_HORIZON_DAYS = 30.0


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    warning: bool
    kind: str  # numeric | categorical
    reference_mean: float = float("nan")
    recent_mean: float = float("nan")


@dataclass(frozen=True)
class RankingUsage:
    available: bool
    runs: int = 0
    note: str = ""


@dataclass
class ModelReport:
    model_name: str
    model_version: str
    trained_at: datetime | None
    reference_as_of: datetime | None
    scored_as_of: datetime
    until: datetime
    since: datetime
    horizon_days: float
    scored: int
    score_histogram: list[tuple[float, float, int]]
    calibration: Calibration
    outcomes: int
    calibration_enough_data: bool
    drift: list[FeatureDrift]
    psi_warning: float
    ranking_usage: RankingUsage
    notes: list[str] = field(default_factory=list)


def _parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def histogram_edges(scores: np.ndarray) -> np.ndarray:
    """Equal bins from 0 to just above the highest score (rounded up to 0.05): engagement
    probabilities mostly sit far below 1, and bins up to 1 would squash them into two."""
    top = float(np.max(scores)) if len(scores) else 1.0
    top = min(1.0, max(0.05, np.ceil(top * 20.0 + 1e-9) / 20.0))
    return np.linspace(0.0, top, HISTOGRAM_BINS + 1)


def training_reference(scorer) -> tuple[datetime | None, float]:
    """(the as-of time of the model's latest training features, its horizon in days),
    from the metadata training records; None when the model does not say."""
    meta = getattr(scorer, "metadata", {}) or {}
    horizon = float(meta.get("horizon_days") or DEFAULT_HORIZON_DAYS)
    holdout = _parse_time(meta.get("holdout_cutoff"))
    if holdout is not None:
        return holdout - timedelta(days=2 * horizon), horizon
    return _parse_time(meta.get("trained_at")), horizon


def sample_people(session: Session, size: int, before: datetime, seed: int = 0) -> list[int]:
    """A reproducible random sample of active people created before `before`."""
    pks = list(
        session.execute(
            select(CandidateRow.pk).where(
                CandidateRow.status == "active", CandidateRow.created_at < before
            )
        ).scalars()
    )
    if len(pks) <= size:
        return pks
    return sorted(random.Random(seed).sample(pks, size))


def drift(reference, recent, spec, warning: float, bins: int) -> list[FeatureDrift]:
    """PSI of every feature of `spec`, most drifted first."""
    out = []
    for name in spec.numeric:
        ref = reference[name].to_numpy(dtype="float64")
        new = recent[name].to_numpy(dtype="float64")
        psi = numeric_psi(ref, new, bins) if len(ref) and len(new) else float("nan")
        out.append(
            FeatureDrift(
                name,
                psi,
                bool(psi >= warning),
                "numeric",
                float(np.nanmean(ref)) if len(ref) else float("nan"),
                float(np.nanmean(new)) if len(new) else float("nan"),
            )
        )
    for name in spec.categorical:
        ref = reference[name].astype(str).tolist()
        new = recent[name].astype(str).tolist()
        psi = categorical_psi(ref, new) if ref and new else float("nan")
        out.append(FeatureDrift(name, psi, bool(psi >= warning), "categorical"))
    return sorted(out, key=lambda d: (-(d.psi if d.psi == d.psi else -1.0), d.feature))


def model_report(
    session: Session,
    scorer,
    since: datetime,
    until: datetime,
    *,
    sample: int = 10_000,
    psi_warning: float = 0.2,
    psi_bins: int = 10,
    min_n: int = 30,
    seed: int = 0,
) -> ModelReport:
    """How the model `scorer` (an EngagementScorer) does on recent history."""
    reference_as_of, horizon_days = training_reference(scorer)
    horizon = timedelta(days=horizon_days)
    scored_as_of = until - horizon
    notes: list[str] = []
    if scored_as_of < since:
        notes.append(
            f"the range is shorter than the model's {horizon_days:g}-day horizon: calibration "
            f"uses the latest fully observed window ({scored_as_of:%Y-%m-%d} to {until:%Y-%m-%d})"
        )
    people = sample_people(session, sample, until, seed)
    cutoffs = [scored_as_of, until]
    if reference_as_of is not None and reference_as_of < until:
        cutoffs.append(reference_as_of)
    else:
        notes.append("the model does not record when its training data was taken: no drift")
        reference_as_of = None
    frames = build_feature_sets(session, cutoffs, people) if people else []
    spec = scorer.feature_spec
    if frames:
        at_cut, now, *ref = frames
    else:
        at_cut = now = None
        ref = []
    # calibration on recent outcomes
    if at_cut is not None and len(at_cut):
        predicted = np.asarray(scorer.predict_proba(at_cut), dtype="float64")
        labels = build_labels(session, scored_as_of, horizon, at_cut.index)
        outcome = labels.to_numpy(dtype="int64")
    else:
        predicted, outcome = np.empty(0), np.empty(0, dtype="int64")
    cal = calibration(predicted, outcome, CALIBRATION_EDGES, min_n)
    enough = len(outcome) >= min_n and 0 < int(outcome.sum()) < len(outcome)
    if not enough:
        notes.append(
            "not enough recent outcomes to judge calibration "
            f"({len(outcome)} people, {int(outcome.sum()) if len(outcome) else 0} responses)"
        )
    # scores now
    if now is not None and len(now):
        current = np.asarray(scorer.predict_proba(now), dtype="float64")
    else:
        current = np.empty(0)
    hist = histogram(current, histogram_edges(current)) if len(current) else []
    # drift against the training data
    drifts: list[FeatureDrift] = []
    if ref and now is not None and len(ref[0]) >= min_n and len(now) >= min_n:
        drifts = drift(ref[0], now, spec, psi_warning, psi_bins)
        warned = [d.feature for d in drifts if d.warning]
        if warned:
            notes.append(
                f"{len(warned)} feature(s) drifted past PSI {psi_warning:g}: "
                + ", ".join(warned[:8])
            )
    elif reference_as_of is not None:
        notes.append("too few people at the training cutoff or now to measure drift")
    if len(people) == sample:
        notes.append(f"a random sample of {sample:,} people (RAPPORT_ANALYTICS_MODEL_SAMPLE)")
    meta = getattr(scorer, "metadata", {}) or {}
    return ModelReport(
        model_name=getattr(scorer, "name", ""),
        model_version=str(getattr(scorer, "version", "") or ""),
        trained_at=_parse_time(meta.get("trained_at")),
        reference_as_of=reference_as_of,
        scored_as_of=scored_as_of,
        until=until,
        since=since,
        horizon_days=horizon_days,
        scored=len(current),
        score_histogram=hist,
        calibration=cal,
        outcomes=len(outcome),
        calibration_enough_data=enough,
        drift=drifts,
        psi_warning=psi_warning,
        ranking_usage=RankingUsage(
            available=False,
            note=(
                "ranking runs are not logged yet: MatchingService keeps no record of which "
                "candidates a ranking showed, so whether recruiters contact its top k cannot "
                "be measured"
            ),
        ),
        notes=notes,
    )


def scores_at(session: Session, scorer, as_of: datetime, people: list[int] | None):
    """(candidate pks, probabilities) of `people` (None: every active person created
    before `as_of`, read in one pass over the timeline) scored with features as of
    `as_of`."""
    frames = build_feature_sets(session, [as_of], people) if people != [] else []
    if not frames or not len(frames[0]):
        return np.empty(0, dtype="int64"), np.empty(0)
    frame = frames[0]
    return frame.index.to_numpy(dtype="int64"), np.asarray(scorer.predict_proba(frame))


__all__ = [
    "FeatureDrift",
    "ModelReport",
    "RankingUsage",
    "drift",
    "histogram_edges",
    "model_report",
    "sample_people",
    "scores_at",
    "training_reference",
]
