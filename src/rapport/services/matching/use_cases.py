"""MatchingService use cases: roles, ranking, similar candidates, the index. No grpc here."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from rapport.core import context
from rapport.core.authorization import PSEUDONYMISED, role_scope
from rapport.core.domain import Condition, Page, Role, Rule, Seniority
from rapport.core.errors import (
    NotFound,
    PreconditionFailed,
    Unavailable,
    ValidationFailed,
    Violation,
)
from rapport.core.roles import validate_role
from rapport.core.store import candidates, pools, profiles, roles, segments
from rapport.core.store.db import Database
from rapport.core.store.paging import page_size
from rapport.core.store.rules import compile_rule
from rapport.models.match_index import FacetFilter, MatchIndex, RankResult
from rapport.models.ranking import RoleQuery, Weights, rank_scored, resolve_role, zones_within
from rapport.models.skills import SkillMatch
from rapport.services.engagement.source import EngagementSource
from rapport.services.matching.index_keeper import IndexKeeper

MAX_TOP_K = 1000
MAX_RANK_DEPTH = 5000  # offset + top_k: deeper pages are not a ranking any more
SIMILAR_SKILLS = 15
# ExtractSkills: a long resume is some 20,000 characters; the cap bounds one call's work.
MAX_EXTRACT_CHARS = 200_000
DEFAULT_EXTRACT_SKILLS = 50
MAX_EXTRACT_SKILLS = 200
# With an engagement weight, this many best matches (at least) are scored for engagement
# and re-ranked; a page deeper than that re-ranks down to its own end.
ENGAGEMENT_DEPTH = 200


@dataclass(frozen=True)
class MatchFilters:
    pool_id: str = ""
    segment_id: str = ""
    not_contacted_days: int = 0
    enforce_seniority: bool = False
    enforce_location: bool = False
    enforce_languages: bool = False


@dataclass(frozen=True)
class EngagementBlend:
    """How engagement entered a ranking: scores by candidate id, or why it could not."""

    weight: float
    model: str = ""  # name/version; empty when engagement was not used
    model_version: str = ""
    scores: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (p, band)
    note: str = ""


@dataclass(frozen=True)
class RankOutcome:
    role: Role
    query: RoleQuery
    result: RankResult
    encoder: str
    index_version: str
    index_seq: int
    offset: int
    next_token: str = ""
    notes: list[str] = field(default_factory=list)
    engagement: EngagementBlend | None = None


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"r1:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "r1" or int(value) < 0:
            raise ValueError(raw)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            Violation("page_token", "not a page token from RankCandidates")
        ) from None


def _check_top_k(top_k: int) -> None:
    if not 1 <= top_k <= MAX_TOP_K:
        raise ValidationFailed(Violation("top_k", f"must be between 1 and {MAX_TOP_K}"))


def _strict_facets(
    role: Role, filters: MatchFilters, query: RoleQuery, now: datetime
) -> FacetFilter:
    """The role's requirements that the filters make strict, as a filter on profiles."""
    seniorities = None
    lo, hi = role.min_seniority, role.max_seniority
    if filters.enforce_seniority and (lo or hi):
        seniorities = frozenset(
            lvl.value
            for lvl in Seniority
            if lvl and (not lo or lvl.rank >= lo.rank) and (not hi or lvl.rank <= hi.rank)
        )
    countries: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()
    if filters.enforce_location:
        countries = frozenset(role.countries)
        if query.utc_window:
            zones = frozenset(zones_within(query.utc_window, now))
    languages = tuple(role.languages) if filters.enforce_languages else ()
    return FacetFilter(seniorities, countries, zones, languages)


class MatchingUseCases:
    def __init__(
        self,
        db: Database,
        keeper: IndexKeeper,
        weights: Weights,
        engagement: EngagementSource | None = None,
    ) -> None:
        self._db = db
        self._keeper = keeper
        self._weights = weights
        self._engagement = engagement

    # ------------------------------------------------------------------ roles
    def create_role(self, role: Role) -> Role:
        with self._db.transaction() as s:
            return roles.create(s, role)

    def get_role(self, role_id: str) -> Role:
        owned = role_scope()
        if owned is not None and role_id not in owned:  # hiring managers: their roles only
            raise NotFound("role", role_id)
        with self._db.read() as s:
            return roles.get(s, role_id)

    def list_roles(self, size: int, token: str) -> Page:
        owned = role_scope()
        with self._db.read() as s:
            page = roles.list_page(s, page_size(size), token)
        if owned is None:
            return page
        return replace(page, items=[r for r in page.items if r.id in owned])

    # ------------------------------------------------------------------ ranking
    def _allowed(
        self, index: MatchIndex, role: Role, filters: MatchFilters, query: RoleQuery
    ) -> np.ndarray | None:
        """Primary keys passing every filter (None: no filter at all).

        Pools, segments and contact history come from the store; the strict seniority,
        location and language filters from the index's own profiles, which answer them
        without a scan (a time-zone window names hundreds of zones).
        """
        if filters.not_contacted_days < 0:
            raise ValidationFailed(Violation("filters.not_contacted_days", "must not be negative"))
        now = datetime.now(UTC)
        within: np.ndarray | None = None
        with self._db.read() as s:
            if filters.pool_id:  # NotFound for an unknown pool
                within = np.asarray(pools.member_pks(s, filters.pool_id), dtype=np.int64)
            conditions: list[Condition] = []
            if filters.segment_id:
                conditions.extend(segments.get(s, filters.segment_id).rule.conditions)
            if filters.not_contacted_days:
                conditions.append(
                    Condition(
                        "last_contacted_days", "not_within", (str(filters.not_contacted_days),)
                    )
                )
            if conditions:
                compiled = compile_rule(Rule(tuple(conditions)), now)
                matched = np.asarray(profiles.rankable_pks(s, compiled), dtype=np.int64)
                within = matched if within is None else np.intersect1d(within, matched)
        facets = _strict_facets(role, filters, query, now)
        if within is None and not facets:
            return None
        return index.filter_pks(facets, within)

    def _rank(
        self,
        role: Role,
        query: RoleQuery,
        query_vector: np.ndarray,
        filters: MatchFilters,
        top_k: int,
        token: str,
        exclude: tuple[int, ...] = (),
        engagement_weight: float = 0.0,
    ) -> RankOutcome:
        _check_top_k(top_k)
        offset = _decode_token(token)
        if offset + top_k > MAX_RANK_DEPTH:
            raise ValidationFailed(
                Violation("page_token", f"rankings go {MAX_RANK_DEPTH} deep at most")
            )
        index, seq = self._keeper.current()
        allowed = self._allowed(index, role, filters, query)
        depth = max(ENGAGEMENT_DEPTH, offset + top_k) if engagement_weight else 0
        result = index.rank(
            query,
            query_vector,
            allowed=allowed,
            offset=0 if depth else offset,
            top_k=depth or top_k,
            weights=self._weights,
            exclude=exclude,
        )
        blend = None
        if engagement_weight:
            result, blend = self._blend(result, engagement_weight, offset, top_k)
        status = index.vectors.status()
        if context.current().role in PSEUDONYMISED:  # data scientists: no names (DESIGN §9)
            result = replace(
                result,
                results=[
                    replace(r, profile=replace(r.profile, display_name="")) for r in result.results
                ],
            )
        self._db.read_audit.note(
            "candidate.ranked_read",
            [r.profile.id for r in result.results],
            details={"role": role.id} if role.id else None,
        )
        return RankOutcome(
            role=role,
            query=query,
            result=result,
            encoder=index.encoder.id,
            index_version=status.index_version,
            index_seq=seq,
            offset=offset,
            next_token=_encode_token(offset + top_k) if result.more else "",
            engagement=blend,
        )

    def _blend(
        self, result: RankResult, weight: float, offset: int, top_k: int
    ) -> tuple[RankResult, EngagementBlend]:
        """Re-rank the best matches by (1 - weight) * match + weight * P(engagement) and
        cut the page. Without an engagement model the ranking is by match alone, and says so."""
        ranked = result.results
        try:
            if self._engagement is None:
                raise Unavailable(
                    "engagement is not served by this process (run both services together, "
                    "or set RAPPORT_ENGAGEMENT_SERVER)"
                )
            lookup = self._engagement.scores_for([s.profile.id for s in ranked])
        except (PreconditionFailed, Unavailable) as exc:
            blend = EngagementBlend(weight, note=f"ranked by match alone: {exc}")
        else:
            # someone the model has no score for (created this instant) keeps the match score
            ranked = rank_scored(
                [
                    replace(
                        s, score=(1 - weight) * s.score + weight * lookup.scores[s.profile.id][0]
                    )
                    if s.profile.id in lookup.scores
                    else s
                    for s in ranked
                ]
            )
            blend = EngagementBlend(
                weight,
                lookup.model,
                lookup.model_version,
                lookup.scores,
                f"engagement from {lookup.model} at weight {weight:g}, "
                f"re-ranking the best {len(ranked)} matches",
            )
        end = offset + top_k
        return RankResult(
            ranked[offset:end], result.considered, result.more or len(ranked) > end
        ), blend

    def rank(
        self,
        role: Role | None,
        role_id: str,
        filters: MatchFilters,
        top_k: int,
        token: str,
        engagement_weight: float = 0.0,
    ) -> RankOutcome:
        if role is None and not role_id:
            raise ValidationFailed(Violation("role", "give a role or a role_id"))
        if not 0.0 <= engagement_weight <= 1.0:  # NaN fails too
            raise ValidationFailed(Violation("engagement_weight", "between 0 and 1"))
        role = self.get_role(role_id) if role is None else validate_role(role)
        _check_top_k(top_k)
        query = resolve_role(role, self._keeper.builder.resolver)
        vector = self._keeper.encoder.encode([query.text()])[0]
        return self._rank(
            role, query, vector, filters, top_k, token, engagement_weight=engagement_weight
        )

    def similar(self, candidate_id: str, filters: MatchFilters, top_k: int) -> RankOutcome:
        _check_top_k(top_k)
        with self._db.read() as s:
            candidates.pk_for(s, candidate_id)  # NotFound for an unknown id
        index, _ = self._keeper.current()
        profile = index.profile_by_id(candidate_id)
        if profile is None:
            raise NotFound("rankable candidate", candidate_id)
        listed = [e.label for e in profile.skills.values() if e.source == "profile"]
        seniority = Seniority(profile.seniority)
        role = Role(
            title=profile.headline or "similar candidates",
            required_skills=tuple(listed[:SIMILAR_SKILLS]),
            min_seniority=seniority,
            max_seniority=seniority,
            countries=(profile.country,) if profile.country else (),
        )
        query = resolve_role(role, self._keeper.builder.resolver)
        vector = index.vector_of(profile.pk)
        return replace(
            self._rank(role, query, vector, filters, top_k, "", exclude=(profile.pk,)),
            role=replace(role, id="", title=f"like {candidate_id}"),
        )

    # ------------------------------------------------------------------ the index
    # ------------------------------------------------------------------ skills
    def extract_skills(self, text: str, limit: int) -> list[SkillMatch]:
        """The canonical skills running text (a resume, a summary) mentions, through the
        same alias table and taxonomy that ranking uses, first mention first."""
        if len(text) > MAX_EXTRACT_CHARS:
            raise ValidationFailed(
                Violation("text", f"longer than {MAX_EXTRACT_CHARS:,} characters")
            )
        if limit < 0 or limit > MAX_EXTRACT_SKILLS:
            raise ValidationFailed(
                Violation("limit", f"must be between 0 and {MAX_EXTRACT_SKILLS} (0: default)")
            )
        if not text.strip():
            return []
        return self._keeper.builder.resolver.extract(text, limit=limit or DEFAULT_EXTRACT_SKILLS)

    def index_status(self) -> dict:
        return self._keeper.status()

    def rebuild(self) -> dict:
        self._keeper.request_rebuild()
        status = self._keeper.status()
        status["rebuilding"] = True
        return status
