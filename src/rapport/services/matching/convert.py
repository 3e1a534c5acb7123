"""Protobuf <-> domain for MatchingService. Nothing else in the service touches protobuf."""

from __future__ import annotations

from rapport.core.domain import Role, Seniority
from rapport.core.errors import ValidationFailed, Violation
from rapport.models.ranking import ScoredCandidate
from rapport.models.skills import SkillMatch
from rapport.services.candidates.convert import SENIORITIES
from rapport.services.common.timestamps import to_pb
from rapport.services.matching.use_cases import EngagementBlend, MatchFilters, RankOutcome
from rapport.v1 import matching_pb2 as pb


def _seniority(value: int, field: str) -> Seniority:
    if not 0 <= value < len(SENIORITIES):
        raise ValidationFailed(Violation(field, f"unknown seniority {value}"))
    return SENIORITIES[value]


def role_from_pb(message: pb.Role, field: str = "role") -> Role:
    window = None
    if message.HasField("timezone_window"):
        w = message.timezone_window
        window = (w.min_utc_offset_hours, w.max_utc_offset_hours)
    return Role(
        id="",
        title=message.title,
        description=message.description,
        required_skills=tuple(message.required_skills),
        nice_to_have_skills=tuple(message.nice_to_have_skills),
        min_seniority=_seniority(message.min_seniority, f"{field}.min_seniority"),
        max_seniority=_seniority(message.max_seniority, f"{field}.max_seniority"),
        countries=tuple(message.countries),
        timezones=tuple(message.timezones),
        timezone_window=window,
        languages=tuple(message.languages),
    )


def role_to_pb(role: Role) -> pb.Role:
    out = pb.Role(
        id=role.id,
        title=role.title,
        description=role.description,
        required_skills=role.required_skills,
        nice_to_have_skills=role.nice_to_have_skills,
        min_seniority=SENIORITIES.index(role.min_seniority),
        max_seniority=SENIORITIES.index(role.max_seniority),
        countries=role.countries,
        timezones=role.timezones,
        languages=role.languages,
    )
    if role.timezone_window is not None:
        out.timezone_window.min_utc_offset_hours = role.timezone_window[0]
        out.timezone_window.max_utc_offset_hours = role.timezone_window[1]
    if role.created_at is not None:
        out.created_at.CopyFrom(to_pb(role.created_at))
    return out


def filters_from_pb(message: pb.MatchFilters) -> MatchFilters:
    return MatchFilters(
        pool_id=message.pool_id,
        segment_id=message.segment_id,
        not_contacted_days=message.not_contacted_days,
        enforce_seniority=message.enforce_seniority,
        enforce_location=message.enforce_location,
        enforce_languages=message.enforce_languages,
    )


def _ranked_to_pb(
    s: ScoredCandidate, rank: int, engagement: EngagementBlend | None
) -> pb.RankedCandidate:
    c = s.components
    probability, band = (0.0, "")
    if engagement is not None and s.profile.id in engagement.scores:
        probability, band = engagement.scores[s.profile.id]
    return pb.RankedCandidate(
        candidate_id=s.profile.id,
        rank=rank,
        score=s.score,
        components=pb.ScoreComponents(
            semantic=c.semantic,
            skills=c.skills if c.skills is not None else 0.0,
            seniority=c.seniority if c.seniority is not None else 0.0,
            location=c.location if c.location is not None else 0.0,
            engagement=probability,
        ),
        matched_skills=[
            pb.MatchedSkill(skill_id=m.skill_id, label=m.label, credit=m.credit, via=m.via)
            for m in s.matched
        ],
        missing_skills=s.missing,
        reason=s.reason,
        display_name=s.profile.display_name,
        headline=s.profile.headline,
        engagement_band=band,
        engagement_model_version=engagement.model_version if band and engagement else "",
    )


def mention_to_pb(match: SkillMatch) -> pb.SkillMapping:
    """A skill found in running text (ExtractSkills)."""
    return pb.SkillMapping(
        text=match.text,
        skill_id=match.skill_id,
        label=match.label,
        confidence=match.confidence,
        method=match.method,
        kind="mentioned",
    )


def outcome_to_pb(outcome: RankOutcome) -> pb.RankCandidatesResponse:
    return pb.RankCandidatesResponse(
        results=[
            _ranked_to_pb(s, outcome.offset + i + 1, outcome.engagement)
            for i, s in enumerate(outcome.result.results)
        ],
        encoder=outcome.encoder,
        index_version=outcome.index_version,
        index_seq=outcome.index_seq,
        skill_mappings=[
            pb.SkillMapping(
                text=s.text,
                skill_id=s.skill_id if s.method != "none" else "",
                label=s.label if s.method != "none" else "",
                confidence=s.confidence,
                method=s.method,
                kind=s.kind,
            )
            for s in outcome.query.skills
        ],
        considered=outcome.result.considered,
        next_page_token=outcome.next_token,
        role=role_to_pb(outcome.role),
        engagement_model=outcome.engagement.model if outcome.engagement else "",
        engagement_note=outcome.engagement.note if outcome.engagement else "",
    )


def status_to_pb(status: dict) -> pb.IndexStatus:
    out = pb.IndexStatus(
        encoder=status["encoder"],
        index_version=status["index_version"],
        kind=status["kind"],
        vectors=status["vectors"],
        seq=status["seq"],
        feed_head=status["feed_head"],
        rebuilding=status["rebuilding"],
        nlist=status["nlist"],
        nprobe=status["nprobe"],
        state=status["state"],
        message=status["message"],
        build_done=status["done"],
        build_total=status["total"],
    )
    if status["built_at"] is not None:
        out.built_at.CopyFrom(to_pb(status["built_at"]))
    return out
