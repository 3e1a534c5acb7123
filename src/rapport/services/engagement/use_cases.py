"""EngagementService use cases: score one person, stream scores for a selection, describe
the model, and engagement for rankings (`scores_for`). No grpc here.

Answers come from the keeper's score book when it holds a score from the served model,
and are computed on the spot otherwise (a person created a moment ago, factors not yet
explained, more factors than the book keeps): the same features and model either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select

from rapport.core.config import Settings
from rapport.core.domain import Condition, Rule
from rapport.core.errors import NotFound, PreconditionFailed, ValidationFailed, Violation
from rapport.core.store import pools, segments
from rapport.core.store.candidates import ACTIVE
from rapport.core.store.db import Database
from rapport.core.store.rules import compile_rule
from rapport.core.store.schema import CandidateRow
from rapport.services.engagement.keeper import ScoreKeeper, Serving
from rapport.services.engagement.model_holder import ModelHolder, ModelInfo
from rapport.services.engagement.scores import FACTOR_SLOTS, Score
from rapport.services.engagement.served_features import FeatureSnapshot
from rapport.services.engagement.source import EngagementLookup

MAX_TOP_FACTORS = 20
MAX_IDS = 10_000
DEFAULT_BATCH = 1_000
MAX_BATCH = 10_000
PAGE = 10_000  # candidates read per query while streaming a selection


@dataclass(frozen=True)
class Selection:
    """Who ScoreCandidates scores: exactly one of these."""

    pool_id: str = ""
    segment_id: str = ""
    rule: Rule | None = None
    candidate_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ScoredOne:
    score: Score
    factors: tuple  # of scores.Factor, at most the number asked for
    model: ModelInfo


@dataclass(frozen=True)
class ScoreChunk:
    scores: list[Score]
    factors: list[tuple] | None  # per score, when asked for
    model: ModelInfo
    total: int
    sent: int


class EngagementUseCases:
    def __init__(
        self, db: Database, settings: Settings, holder: ModelHolder, keeper: ScoreKeeper
    ) -> None:
        self._db = db
        self._settings = settings
        self._holder = holder
        self._keeper = keeper

    # ------------------------------------------------------------------ helpers
    def _serving(self) -> Serving:
        serving = self._keeper.current()
        if serving is None:
            self._holder.require()  # raises why there is no model
            raise PreconditionFailed("the engagement model is being installed; retry shortly")
        return serving

    def _top(self, top: int, field: str) -> int:
        if top < 0 or top > MAX_TOP_FACTORS:
            raise ValidationFailed(Violation(field, f"between 0 and {MAX_TOP_FACTORS}"))
        return top or self._settings.engagement_top_factors

    def forget(self, candidate_ids: Sequence[str]) -> None:
        """Drop these people's scores now (erased); the keeper would on its next feed look."""
        serving = self._keeper.current()
        if serving is None:
            return
        pks = [s.pk for s in (serving.book.get(cid, 0) for cid in candidate_ids) if s is not None]
        self._keeper.forget(serving, pks)

    # ------------------------------------------------------------------ for audits
    def served_version(self) -> str | None:
        """The version of the model whose scores are served, if one is installed."""
        serving = self._keeper.current()
        return serving.model.info.version if serving is not None else None

    def served_features(self) -> FeatureSnapshot | None:
        """Every active person's features as the keeper holds them (its last full pass and
        whoever was rescored since), None before its first pass: another model version
        scores them without reading the timeline again."""
        return self._keeper.features.snapshot()

    # ------------------------------------------------------------------ one person
    def score_one(self, candidate_id: str, top_factors: int = 0) -> ScoredOne:
        top = self._top(top_factors, "top_factors")
        if not candidate_id:
            raise ValidationFailed(Violation("candidate_id", "required"))
        serving = self._serving()
        score = serving.book.get(candidate_id, factors=top)
        if score is None or score.factors is None or top > FACTOR_SLOTS:
            pk = self._active_pk(candidate_id)
            batch = self._keeper.score_now(serving, [pk], factors=max(top, FACTOR_SLOTS))
            if not len(batch):  # created after the instant scored, or gone meanwhile
                raise NotFound("candidate", candidate_id)
            score = batch.scores()[0]
        return ScoredOne(score, tuple((score.factors or ())[:top]), serving.model.info)

    def _active_pk(self, candidate_id: str) -> int:
        with self._db.read() as s:
            row = s.execute(
                select(CandidateRow.pk, CandidateRow.status, CandidateRow.merged_into_pk).where(
                    CandidateRow.id == candidate_id
                )
            ).first()
            if row is None:
                raise NotFound("candidate", candidate_id)
            if row.status != ACTIVE:
                survivor = s.execute(
                    select(CandidateRow.id).where(CandidateRow.pk == row.merged_into_pk)
                ).scalar()
                raise PreconditionFailed(
                    f"candidate {candidate_id} was merged into {survivor}: score that record"
                )
            return row.pk

    # ------------------------------------------------------------------ many people
    def score_many(
        self, selection: Selection, include_factors: bool, top_factors: int, batch_size: int
    ) -> Iterator[ScoreChunk]:
        """Checks the request and resolves the selection now (errors before any message),
        then returns the batches as an iterator. One model version serves the whole call."""
        top = self._top(top_factors, "top_factors") if include_factors else 0
        if batch_size < 0 or batch_size > MAX_BATCH:
            raise ValidationFailed(Violation("batch_size", f"between 0 and {MAX_BATCH}"))
        batch_size = batch_size or DEFAULT_BATCH
        serving = self._serving()
        if selection.candidate_ids is not None:
            pairs = self._explicit(selection.candidate_ids)
            return self._stream(serving, iter([pairs]), len(pairs), batch_size, top)
        conditions = self._conditions(selection)
        with self._db.read() as s:
            total = s.execute(
                select(func.count()).select_from(CandidateRow).where(*conditions)
            ).scalar_one()
        return self._stream(serving, self._pages(conditions), total, batch_size, top)

    def _conditions(self, selection: Selection) -> list:
        chosen = [
            bool(selection.pool_id),
            bool(selection.segment_id),
            selection.rule is not None,
        ]
        if sum(chosen) != 1:
            raise ValidationFailed(
                Violation("selection", "give one of pool_id, segment_id, rule or candidate_ids")
            )
        now = datetime.now(UTC)
        with self._db.read() as s:
            if selection.pool_id:
                pools.get(s, selection.pool_id)  # NotFound for an unknown pool
                rule = Rule((Condition("pool", "in", (selection.pool_id,)),))
            elif selection.segment_id:
                rule = segments.get(s, selection.segment_id).rule
            else:
                rule = selection.rule
        return [CandidateRow.status == ACTIVE, *compile_rule(rule, now)]

    def _explicit(self, ids: Sequence[str]) -> list[tuple[int, str]]:
        if not ids:
            raise ValidationFailed(Violation("candidate_ids.ids", "at least one id"))
        if len(ids) > MAX_IDS:
            raise ValidationFailed(Violation("candidate_ids.ids", f"at most {MAX_IDS} ids"))
        unique = list(dict.fromkeys(ids))
        found: dict[str, tuple[int, str]] = {}
        with self._db.read() as s:
            for start in range(0, len(unique), 5_000):
                chunk = unique[start : start + 5_000]
                found.update(
                    (cid, (pk, status))
                    for pk, cid, status in s.execute(
                        select(CandidateRow.pk, CandidateRow.id, CandidateRow.status).where(
                            CandidateRow.id.in_(chunk)
                        )
                    )
                )
        missing = [cid for cid in unique if cid not in found]
        if missing:
            raise NotFound("candidate", missing[0])
        merged = [
            Violation(f"candidate_ids.ids[{ids.index(cid)}]", "merged into another record")
            for cid in unique
            if found[cid][1] != ACTIVE
        ]
        if merged:
            raise ValidationFailed(merged)
        return [(found[cid][0], cid) for cid in unique]

    def _pages(self, conditions: list) -> Iterator[list[tuple[int, str]]]:
        after = 0
        while True:
            with self._db.read() as s:
                page = list(
                    s.execute(
                        select(CandidateRow.pk, CandidateRow.id)
                        .where(*conditions, CandidateRow.pk > after)
                        .order_by(CandidateRow.pk)
                        .limit(PAGE)
                    )
                )
            if not page:
                return
            yield page
            after = page[-1][0]

    def _stream(
        self,
        serving: Serving,
        pages: Iterator[list[tuple[int, str]]],
        total: int,
        batch_size: int,
        top: int,
    ) -> Iterator[ScoreChunk]:
        sent = 0
        for page in pages:
            for start in range(0, len(page), batch_size):
                part = page[start : start + batch_size]
                scores = self._scores(serving, part, top)
                sent += len(scores)
                factors = [tuple((s.factors or ())[:top]) for s in scores] if top else None
                yield ScoreChunk(scores, factors, serving.model.info, total, sent)

    def _scores(self, serving: Serving, part: list[tuple[int, str]], top: int) -> list[Score]:
        """Scores of `part` from the book, the missing ones computed in one go."""
        pks = np.fromiter((pk for pk, _ in part), np.int64, len(part))
        found = serving.book.get_many(pks, factors=top)
        need = [
            pk
            for pk, score in zip(pks.tolist(), found, strict=True)
            if score is None or (top and (score.factors is None or top > FACTOR_SLOTS))
        ]
        if need:
            fresh = self._keeper.score_now(
                serving, need, factors=max(top, FACTOR_SLOTS) if top else 0
            )
            by_pk = {s.pk: s for s in fresh.scores()}
            found = [by_pk.get(pk, score) for pk, score in zip(pks.tolist(), found, strict=True)]
        # a person who became inactive or was created after the scoring instant has none
        return [s for s in found if s is not None]

    # ------------------------------------------------------------------ rankings
    def scores_for(self, candidate_ids: Sequence[str]) -> EngagementLookup:
        """Probability and band of each of these candidates (matching blends them in)."""
        serving = self._serving()
        scores: dict[str, tuple[float, str]] = {}
        missing = []
        for cid in candidate_ids:
            score = serving.book.get(cid, factors=0)
            if score is None:
                missing.append(cid)
            else:
                scores[cid] = (score.probability, score.band)
        if missing:
            with self._db.read() as s:
                pks = list(
                    s.execute(
                        select(CandidateRow.pk).where(
                            CandidateRow.id.in_(missing), CandidateRow.status == ACTIVE
                        )
                    ).scalars()
                )
            if pks:
                for score in self._keeper.score_now(serving, pks).scores():
                    scores[score.candidate_id] = (score.probability, score.band)
        info = serving.model.info
        return EngagementLookup(info.name, info.version, scores)

    # ------------------------------------------------------------------ the model
    def model_info(self) -> dict:
        held = self._holder.status()
        kept = self._keeper.status()
        serving = self._keeper.current()
        state = held["state"]
        return {
            "state": state,
            "message": held["message"] if state != "ready" else "",
            "model": serving.model.info if serving else None,
            "alias": held["alias"],
            "last_refresh": held["last_refresh"],
            "last_error": held["last_error"] or kept["last_error"],
            "tracking_uri": held["tracking_uri"],
            "scored": len(serving.book) if serving else 0,
            "feed_seq": kept["feed_seq"],
            "bands_as_of": kept["bands_as_of"],
            "scoring": kept["state"],
        }
