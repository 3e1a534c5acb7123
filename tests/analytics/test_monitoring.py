"""Model monitoring (calibration, score distribution, PSI drift) and model fairness audits
on a seeded store, with small real scorers (the `tiny_scorer` fixture)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
from analytics_data import NOW
from sqlalchemy import select

from rapport.core.store import demographics
from rapport.core.store.schema import CandidateRow
from rapport.models import monitoring
from rapport.models.engagement.features import FEATURE_SPEC
from rapport.services.analytics import convert
from rapport.services.analytics.use_cases import AnalyticsUseCases


def test_training_reference_comes_from_the_training_metadata(scorer):
    as_of, horizon = monitoring.training_reference(scorer)
    assert horizon == 30.0
    assert as_of == NOW - timedelta(days=90) - timedelta(days=60)  # holdout - 2 horizons
    bare = SimpleNamespace(metadata={"trained_at": "2026-01-01T00:00:00+00:00"})
    as_of, horizon = monitoring.training_reference(bare)
    assert as_of == datetime(2026, 1, 1, tzinfo=UTC) and horizon == 30.0
    assert monitoring.training_reference(SimpleNamespace(metadata={}))[0] is None


def test_drift_flags_the_shifted_feature_only():
    rng = np.random.default_rng(5)
    n = 5000
    ref = pd.DataFrame({name: rng.exponential(5.0, n) for name in FEATURE_SPEC.numeric})
    new = pd.DataFrame({name: rng.exponential(5.0, n) for name in FEATURE_SPEC.numeric})
    shifted = FEATURE_SPEC.numeric[0]
    new[shifted] = rng.exponential(12.0, n)
    for name in FEATURE_SPEC.categorical:
        ref[name] = rng.choice(["a", "b"], n)
        new[name] = rng.choice(["a", "b"], n)
    drifts = monitoring.drift(ref, new, FEATURE_SPEC, warning=0.2, bins=10)
    assert drifts[0].feature == shifted and drifts[0].warning
    assert [d.feature for d in drifts if d.warning] == [shifted]
    assert {d.feature for d in drifts} == set(FEATURE_SPEC.names)


def test_model_report_on_a_seeded_store(seeded, scorer):
    with seeded.read() as s:
        report = monitoring.model_report(
            s, scorer, NOW - timedelta(days=365), NOW, sample=10_000, min_n=10
        )
        active = s.query(CandidateRow).filter(CandidateRow.status == "active").count()
    assert report.model_version == "7"
    assert report.scored == active  # everyone created before now, no sampling at 300
    assert sum(n for _, _, n in report.score_histogram) == report.scored
    assert sum(b.count for b in report.calibration.bins) == report.outcomes > 0
    observed = report.calibration.observed
    assert 0 < observed.numerator < observed.denominator == report.outcomes
    assert 0.0 <= report.calibration.brier <= 1.0
    assert report.reference_as_of == NOW - timedelta(days=150)
    assert {d.feature for d in report.drift} == set(FEATURE_SPEC.names)
    assert all(d.psi >= 0 or math.isnan(d.psi) for d in report.drift)
    assert not report.ranking_usage.available and "not logged" in report.ranking_usage.note
    message = convert.model_to_pb(report)
    assert message.scored == report.scored and len(message.drift) == len(report.drift)


def test_model_report_with_a_short_history_says_so(db, scorer):
    with db.read() as s:
        report = monitoring.model_report(s, scorer, NOW - timedelta(days=10), NOW, min_n=10)
    assert report.scored == 0 and report.outcomes == 0
    assert any("not enough recent outcomes" in n for n in report.notes)
    assert any("shorter than" in n for n in report.notes)


def test_model_fairness_uses_the_ll144_scoring_rate(seeded, scorer, settings):
    """Half the people score above the median; answers are planted so that everyone
    scoring above it is female: the report must flag men."""
    with seeded.read() as s:
        people = monitoring.sample_people(s, 10_000, NOW)
        pks, scores = monitoring.scores_at(s, scorer, NOW, people)
    above = scores > np.median(scores)
    with seeded.transaction() as s:
        demographics.record_many(
            s,
            [(int(pk), "female" if a else "male", "") for pk, a in zip(pks, above, strict=True)],
            source="test",
        )
    uc = AnalyticsUseCases(seeded, settings, models=lambda version: scorer)
    outcome = uc.fairness_model("", 0.0, NOW)
    assert outcome.selection_rule.startswith("score above the sample's median")
    sex = next(t for t in outcome.result.tables if t.characteristic == "sex")
    men = next(g for g in sex.groups if g.group == "male")
    women = next(g for g in sex.groups if g.group == "female")
    assert women.reference and women.rate.value == 1.0
    assert men.flagged and men.impact_ratio == 0.0
    race = next(t for t in outcome.result.tables if t.characteristic == "race_ethnicity")
    assert race.unknown == len(pks) and not race.judged
    message = convert.fairness_to_pb(outcome)
    assert message.flagged_groups == outcome.result.flagged_groups


def test_model_report_through_the_use_cases(seeded, scorer, settings):
    uc = AnalyticsUseCases(seeded, settings, models=lambda version: scorer)
    report = uc.models(NOW - timedelta(days=365), NOW, "", 100)
    assert report.scored == 100
    assert any("random sample of 100" in n for n in report.notes)


class ServedScores:
    """EngagementService's scores_for, as matching sees it: one model, a score per id."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.asked = 0

    def served_version(self):
        return "12"

    def served_features(self):
        raise AssertionError("the served model's own scores are audited, not its features")

    def scores_for(self, candidate_ids):
        self.asked += len(candidate_ids)
        return SimpleNamespace(
            model="rapport-engagement/12",
            scores={c: (self.scores[c], "warm") for c in candidate_ids if c in self.scores},
        )


def test_model_fairness_uses_the_served_scores_when_engagement_runs_here(db, known, settings):
    """With EngagementService in the process, the champion's served scores are audited
    (no feature rebuild, no registry): the men score highest; the median is D's 0.6."""
    high = {"A", "B", "C", "D"}
    score = {"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.6, "E": 0.3, "F": 0.2, "G": 0.1}
    served = ServedScores({cid: score[n] for n, cid in known.items()})
    with db.transaction() as s:
        from rapport.core.store import candidates

        demographics.record_many(
            s,
            [
                (candidates.pk_for(s, cid), "male" if n in high else "female", "")
                for n, cid in known.items()
            ],
            source="test",
        )

    def no_registry(version):
        raise AssertionError("the registry must not be needed")

    uc = AnalyticsUseCases(
        db,
        settings.model_copy(update={"analytics_fairness_min_count": 1}),
        models=no_registry,
        engagement=served,
    )
    outcome = uc.fairness_model("", 0.0, None)
    assert served.asked == 7 and outcome.label == "rapport-engagement/12"
    assert outcome.notes[0] == "scores as served now by EngagementService"
    sex = next(t for t in outcome.result.tables if t.characteristic == "sex")
    women = next(g for g in sex.groups if g.group == "female")
    men = next(g for g in sex.groups if g.group == "male")
    assert (men.selected, men.total) == (3, 4)  # above the median: strictly
    assert (women.selected, women.total, women.flagged) == (0, 3, True)


def keeper_serving(db, settings, model):
    """EngagementService's use cases in this process, `model` served and everyone scored
    by the keeper's full pass."""
    from rapport.models.engagement.bands import thresholds_from
    from rapport.services.engagement.keeper import ScoreKeeper
    from rapport.services.engagement.model_holder import LoadedModel, ModelInfo
    from rapport.services.engagement.use_cases import EngagementUseCases

    keeper = ScoreKeeper(db, settings, thresholds_from(settings), write_bands=False)
    keeper.install(LoadedModel(model, ModelInfo(model.name, model.version, "champion")))
    keeper.full_pass(keeper.current())
    return keeper, EngagementUseCases(db, settings, None, keeper)


def test_model_fairness_of_another_version_scores_the_served_features(
    seeded, scorer, tiny_scorer, settings, monkeypatch
):
    """A challenger is audited on the features the keeper computed for the champion: no
    timeline rebuild, and the same scores as its features rebuilt at the pass's instant
    (answers planted so that everyone above the challenger's median is female)."""
    from rapport.models.engagement.features import build_features

    challenger = tiny_scorer(3, version="8")
    _, engagement = keeper_serving(seeded, settings, scorer)
    kept = engagement.served_features()
    assert kept is not None
    with seeded.read() as s:
        rebuilt = build_features(s, kept.oldest_as_of, kept.frame.index.tolist())
    pd.testing.assert_frame_equal(kept.frame, rebuilt.loc[kept.frame.index], check_names=False)
    scores = challenger.predict_proba(rebuilt)
    above = scores > np.median(scores)
    with seeded.transaction() as s:
        demographics.record_many(
            s,
            [
                (int(pk), "female" if a else "male", "")
                for pk, a in zip(rebuilt.index, above, strict=True)
            ],
            source="test",
        )
    uc = AnalyticsUseCases(
        seeded,
        settings,
        models=lambda version: {"8": challenger, "7": scorer}[version],
        engagement=engagement,
    )

    def no_rebuild(*args):
        raise AssertionError("the timeline must not be read again")

    monkeypatch.setattr(monitoring, "scores_at", no_rebuild)
    outcome = uc.fairness_model("8", 0.0, None)
    assert outcome.label == "rapport-engagement/8"
    assert outcome.notes[0].startswith("features as kept now by EngagementService")
    sex = next(t for t in outcome.result.tables if t.characteristic == "sex")
    women = next(g for g in sex.groups if g.group == "female")
    men = next(g for g in sex.groups if g.group == "male")
    assert (women.selected, women.total) == (int(above.sum()), int(above.sum()))
    assert (men.selected, men.flagged) == (0, True)
    # the served version by number is its served scores
    assert uc.fairness_model("7", 0.0, None).notes[0] == "scores as served now by EngagementService"


def test_the_kept_features_follow_rescoring_and_forgetting(seeded, scorer, settings):
    keeper, engagement = keeper_serving(seeded, settings, scorer)
    kept = engagement.served_features()
    assert kept is not None
    first, second = kept.frame.index[:2].tolist()
    with seeded.read() as s:
        ids = dict(s.execute(select(CandidateRow.pk, CandidateRow.id)).all())
    keeper.score_now(keeper.current(), [first])
    engagement.forget([ids[second]])
    after = engagement.served_features()
    assert after is not None
    assert first in after.frame.index and second not in after.frame.index
    assert len(after.frame) == len(kept.frame) - 1
