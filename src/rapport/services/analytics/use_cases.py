"""AnalyticsService's use cases: plain Python over the store and the report builders.

Campaign and pool reports read the send ledger, which a background thread keeps following
the timeline (`RAPPORT_ANALYTICS_REFRESH_INTERVAL_S`); each report first catches it up, so
a report always includes what was recorded before it was asked for (on PostgreSQL, before
the grace period). Model reports and model fairness audits load the engagement model
through the registry contract (`rapport.models.engagement.registry`), into the same local
cache EngagementService uses, and keep the last few versions in memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from rapport.core.config import Settings
from rapport.core.errors import (
    NotFound,
    PreconditionFailed,
    Unavailable,
    ValidationFailed,
    Violation,
)
from rapport.core.store import analytics as store
from rapport.core.store import demographics
from rapport.core.store.db import Database
from rapport.core.store.schema import CandidateRow
from rapport.models import analytics, fairness, monitoring

log = logging.getLogger(__name__)

MAX_RANKED = 1_000_000
MAX_AUDIT_GROUPS = 10_000
MAX_GROUP_COLUMNS = 4
LOADED_VERSIONS = 3
HOW_TO_TRAIN = "train and promote one: `rapport train engagement && rapport models promote`"


@dataclass(frozen=True)
class FairnessOutcome:
    target: str  # ranking | model | audit
    label: str
    selection_rule: str
    result: fairness.FairnessResult
    notes: list[str]


def _label(scorer) -> str:
    return f"{getattr(scorer, 'name', 'model')}/{getattr(scorer, 'version', '')}"


class ModelSource:
    """Engagement model versions by alias or number, through the registry contract; the
    downloaded files go to the cache EngagementService uses (`<cache>/<version>/`)."""

    def __init__(self, settings: Settings, registry=None) -> None:
        self._settings = settings
        self._registry = registry  # a rapport.models.engagement.registry.Registry, lazily
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()

    def load(self, version: str = ""):
        from rapport.models.engagement.registry import MODEL_NAME, Registry, load_scorer

        registry = self._registry
        if registry is None:
            uri = self._settings.effective_mlflow_uri
            path = uri.removeprefix("sqlite:///")
            if uri.startswith("sqlite:///") and not Path(path).exists():
                raise PreconditionFailed(
                    f"there is no engagement model registry yet: {HOW_TO_TRAIN}"
                )
            registry = self._registry = Registry(self._settings)
        if version:
            info = registry.get_version(version, MODEL_NAME)
        else:
            alias = self._settings.engagement_alias
            info = registry.resolve_alias(MODEL_NAME, alias)
            if info is None:
                raise PreconditionFailed(f"no engagement model has alias {alias!r}: {HOW_TO_TRAIN}")
        with self._lock:
            scorer = self._loaded.get(info.version)
            if scorer is None:
                cache = Path(self._settings.engagement_cache) / str(info.version)
                scorer = load_scorer(registry.download_version(info, cache))
                self._loaded[info.version] = scorer
                while len(self._loaded) > LOADED_VERSIONS:
                    self._loaded.pop(next(iter(self._loaded)))
        return scorer


class AnalyticsUseCases:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        models: Callable[[str], object] | None = None,
        engagement=None,
    ) -> None:
        """`engagement`: EngagementService's use cases when it runs in this process (an
        `EngagementSource`): model fairness audits of the champion use its served scores."""
        self._db = db
        self._engagement = engagement
        self._settings = settings
        self._models = models or ModelSource(settings).load
        self._limits = analytics.Limits(
            min_n=settings.analytics_min_denominator, dormant_days=settings.analytics_dormant_days
        )
        self._fair = fairness.Limits(
            threshold=settings.analytics_impact_threshold,
            min_share=settings.analytics_fairness_min_share,
            min_count=settings.analytics_fairness_min_count,
        )
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error = ""

    # ----------------------------------------------------------------- the ledger
    def start(self) -> None:
        """Follow the timeline in the background (a no-op when the interval is 0)."""
        if self._settings.analytics_refresh_interval_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._follow, name="analytics-ledger", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=10)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
                self.last_error = ""
            except Exception as exc:  # keep following; the next report retries anyway
                log.exception("analytics ledger refresh failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
            self._stop.wait(self._settings.analytics_refresh_interval_s)

    def refresh(self) -> store.RefreshResult:
        """Catch the send ledger up with the timeline (one caller at a time here; the
        database serialises processes)."""
        with self._refresh_lock:
            with self._db.read() as session:  # caught up: no write transaction at all
                at, head, _ = store.position(session)
            if at >= head:
                return store.RefreshResult(0, 0, 0, 0, at, False)
            return store.refresh(
                self._db.transaction,
                grace=timedelta(seconds=self._settings.analytics_ledger_grace_s),
                batch=self._settings.analytics_ledger_batch,
                should_stop=self._stop.is_set,
            )

    def _range(self, since: datetime | None, until: datetime | None):
        return analytics.resolve_range(since, until, self._settings.analytics_default_days)

    # ----------------------------------------------------------------- reports
    def campaigns(
        self,
        since: datetime | None,
        until: datetime | None,
        templates: Sequence[str] = (),
        metric: str = "",
    ) -> analytics.CampaignReport:
        since, until = self._range(since, until)
        self.refresh()
        with self._db.read() as session:
            _, _, unattributed = store.position(session)
            return analytics.campaign_report(
                session,
                since,
                until,
                templates=templates,
                metric=metric,
                limits=self._limits,
                unattributed=unattributed,
            )

    def pools(
        self,
        since: datetime | None,
        until: datetime | None,
        pool_id: str = "",
        interval: str = "",
    ) -> analytics.PoolReport:
        since, until = self._range(since, until)
        self.refresh()
        with self._db.read() as session:
            pool_pk = store.pool_pk(session, pool_id) if pool_id else None
            return analytics.pool_report(
                session,
                since,
                until,
                pool_pk=pool_pk,
                pool_id=pool_id,
                interval=interval,
                limits=self._limits,
            )

    def models(
        self,
        since: datetime | None,
        until: datetime | None,
        version: str = "",
        sample: int = 0,
    ) -> monitoring.ModelReport:
        since, until = self._range(since, until)
        if sample < 0 or sample > 1_000_000:
            raise ValidationFailed(Violation("sample", "between 0 (the default) and 1,000,000"))
        scorer = self._models(version)
        with self._db.read() as session:
            return monitoring.model_report(
                session,
                scorer,
                since,
                until,
                sample=sample or self._settings.analytics_model_sample,
                psi_warning=self._settings.analytics_psi_warning,
                psi_bins=self._settings.analytics_psi_bins,
                min_n=self._limits.min_n,
            )

    # ----------------------------------------------------------------- fairness
    def fairness_ranking(
        self, ranked_ids: Sequence[str], top_k: int, label: str = ""
    ) -> FairnessOutcome:
        ids = [i.strip() for i in ranked_ids if i.strip()]
        if not ids:
            raise ValidationFailed(Violation("ranking.candidate_ids", "give the ranked ids"))
        if len(ids) > MAX_RANKED:
            raise ValidationFailed(Violation("ranking.candidate_ids", f"at most {MAX_RANKED:,}"))
        if top_k <= 0 or top_k >= len(set(ids)):
            raise ValidationFailed(
                Violation(
                    "ranking.top_k",
                    f"must be between 1 and {len(set(ids)) - 1:,} (fewer than the people "
                    "ranked): with everyone or no one selected there is nothing to compare",
                )
            )
        with self._db.transaction() as session:  # the audit row of the read is kept
            selected, others, missing = demographics.resolve_ranked(session, ids, top_k)
            if len(missing) == len(set(ids)):
                raise NotFound("candidate", ", ".join(missing[:5]))
            counts = demographics.selection_counts(
                session, selected, others, purpose=f"fairness: ranking {label}".strip()
            )
        notes = []
        if missing:
            notes.append(f"{len(missing):,} ranked ids name no candidate and are left out")
        rule = f"top {top_k:,} of {len(selected) + len(others):,} ranked"
        return self._fairness("ranking", label or "ranking", rule, counts, notes)

    def fairness_model(
        self, version: str, threshold: float, until: datetime | None
    ) -> FairnessOutcome:
        """Everyone active scored by a model version, selected above the median (LL144's
        scoring rate) or a threshold. Now, with EngagementService in this process: the
        scores it serves when the version is its own (or none is named), else the features
        it keeps scored by that version (about a second at 100k people). A past date, or
        EngagementService elsewhere: every person's point-in-time features are rebuilt from
        the timeline and scored (seconds at 100k people and 5M events)."""
        if threshold < 0.0 or threshold >= 1.0:
            raise ValidationFailed(Violation("model.threshold", "a probability in [0, 1)"))
        now = self._scores_now(version) if until is None else None
        _, until = self._range(None, until)
        if now is not None:
            label, pks, scores, notes = now
        else:
            scorer = self._models(version)
            with self._db.read() as session:
                # everyone: one pass over the timeline beats a 100k-id IN list
                pks, scores = monitoring.scores_at(session, scorer, until, None)
            label = _label(scorer)
            notes = [f"scores as of {until:%Y-%m-%d %H:%M} UTC, rebuilt from the timeline"]
        if len(pks) == 0:
            raise PreconditionFailed("nobody to score: the store has no active candidates")
        if threshold > 0.0:
            chosen = scores >= threshold
            rule = f"score at or above {threshold:g}"
        else:
            median = float(np.median(scores))
            chosen = scores > median
            rule = f"score above the sample's median ({median:.4f}): LL144 scoring rate"
        with self._db.transaction() as session:  # the audit row of the read is kept
            counts = demographics.selection_counts(
                session,
                pks[chosen].tolist(),
                pks[~chosen].tolist(),
                purpose=f"fairness: model {label}",
            )
        return self._fairness("model", label, rule, counts, notes)

    def _scores_now(self, version: str):
        """(model label, pks, probabilities, notes) of everyone active now from
        EngagementService in this process, or None when it is not here or cannot answer."""
        if self._engagement is None:
            return None
        served = self._engagement.served_version()
        scorer = self._models(version) if version else None
        if scorer is None or (served is not None and str(scorer.version) == served):
            return self._served_scores()
        kept = self._engagement.served_features()
        if kept is None or not len(kept.frame):
            return None
        scores = np.asarray(scorer.predict_proba(kept.frame), dtype="float64")
        as_of = f"{kept.oldest_as_of:%Y-%m-%d %H:%M} UTC"
        note = (
            f"features as kept now by EngagementService (as of {as_of}, people changed "
            f"since later), scored by {_label(scorer)}"
        )
        return _label(scorer), kept.frame.index.to_numpy(dtype="int64"), scores, [note]

    def _served_scores(self):
        """The scores EngagementService serves for everyone active, as `_scores_now`."""
        with self._db.read() as session:
            rows = session.execute(
                select(CandidateRow.id, CandidateRow.pk).where(CandidateRow.status == "active")
            ).all()
        if not rows:
            return None
        try:
            lookup = self._engagement.scores_for([cid for cid, _ in rows])
        except (Unavailable, PreconditionFailed) as exc:
            log.info("engagement scores unavailable, rebuilding features: %s", exc)
            return None
        scored = [(pk, lookup.scores[cid][0]) for cid, pk in rows if cid in lookup.scores]
        if not scored:
            return None
        pks = np.array([pk for pk, _ in scored], dtype="int64")
        probabilities = np.array([p for _, p in scored], dtype="float64")
        return lookup.model, pks, probabilities, ["scores as served now by EngagementService"]

    def fairness_audit(
        self,
        group_columns: Sequence[str],
        rows: Sequence[tuple[Sequence[str], int, int]],
        source: str = "",
    ) -> FairnessOutcome:
        columns = [c.strip() for c in group_columns]
        if not columns or any(not c for c in columns):
            raise ValidationFailed(Violation("audit.group_columns", "name every group column"))
        if len(columns) > MAX_GROUP_COLUMNS:
            raise ValidationFailed(Violation("audit.group_columns", f"at most {MAX_GROUP_COLUMNS}"))
        if not rows:
            raise ValidationFailed(Violation("audit.counts", "no rows: nothing to audit"))
        if len(rows) > MAX_AUDIT_GROUPS:
            raise ValidationFailed(Violation("audit.counts", f"at most {MAX_AUDIT_GROUPS:,}"))
        counts: dict[tuple[str, ...], tuple[int, int]] = {}
        problems = []
        for i, (groups, selected, total) in enumerate(rows):
            if len(groups) != len(columns):
                problems.append(
                    Violation(f"audit.counts[{i}].groups", f"needs {len(columns)} values")
                )
                continue
            if total < 0 or selected < 0 or selected > total:
                problems.append(
                    Violation(f"audit.counts[{i}]", f"{selected} selected of {total} people")
                )
                continue
            key = tuple(fairness.group_value(g) for g in groups)
            s0, t0 = counts.get(key, (0, 0))
            counts[key] = (s0 + selected, t0 + total)
        if problems:
            raise ValidationFailed(problems[:20])
        return self._build(
            "audit", source or "audit file", "as recorded in the audit file", columns, counts, []
        )

    def _fairness(self, target, label, rule, counts: demographics.Counts, notes) -> FairnessOutcome:
        if not counts or all(sex == "" and race == "" for sex, race, _ in counts):
            notes = [
                *notes,
                "nobody in this selection has answered the demographic questions: "
                "record answers (RecordDemographics) or audit a file instead",
            ]
        grouped: dict[tuple[str, ...], tuple[int, int]] = {}
        for (sex, race, chosen), n in counts.items():
            s0, t0 = grouped.get((sex, race), (0, 0))
            grouped[(sex, race)] = (s0 + (n if chosen else 0), t0 + n)
        return self._build(target, label, rule, ["sex", "race_ethnicity"], grouped, notes)

    def _build(self, target, label, rule, columns, counts, notes) -> FairnessOutcome:
        result = fairness.adverse_impact(columns, counts, self._fair)
        return FairnessOutcome(target, label, rule, result, [*notes, *result.notes])

    def record_demographics(self, candidate_id: str, sex: str, race: str) -> tuple[str, str]:
        with self._db.transaction() as session:
            return demographics.record(session, candidate_id, sex, race)


__all__ = ["AnalyticsUseCases", "FairnessOutcome", "ModelSource"]
