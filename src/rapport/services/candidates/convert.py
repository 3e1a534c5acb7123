"""Protobuf <-> domain for CandidateService. Nothing else in the service touches protobuf."""

from __future__ import annotations

from google.protobuf import json_format, struct_pb2

from rapport.core.domain import (
    Candidate,
    ChangeEvent,
    Condition,
    DuplicatePair,
    Pool,
    PoolMember,
    Rule,
    Segment,
    Seniority,
    TimelineEvent,
)
from rapport.services.common.timestamps import to_pb
from rapport.v1 import candidates_pb2 as pb
from rapport.v1 import common_pb2

SENIORITIES = list(Seniority)


def candidate_to_pb(c: Candidate) -> pb.Candidate:
    return pb.Candidate(
        id=c.id,
        external_id=c.external_id,
        first_name=c.first_name,
        last_name=c.last_name,
        emails=c.emails,
        phones=c.phones,
        profile_urls=c.profile_urls,
        headline=c.headline,
        summary=c.summary,
        current_company=c.current_company,
        seniority=SENIORITIES.index(c.seniority),
        location=common_pb2.Location(city=c.city, country=c.country, timezone=c.timezone),
        languages=c.languages,
        skills=[
            common_pb2.Skill(
                skill_id=s.skill_id,
                label=s.label,
                level=s.level,
                years=s.years,
                source=s.source,
                evidence=s.evidence,
            )
            for s in c.skills
        ],
        source=c.source,
        tags=c.tags,
        consent_state=str(c.consent_state),
        engagement_band=c.engagement_band,
        created_at=to_pb(c.created_at),
        updated_at=to_pb(c.updated_at),
        version=c.version,
        merged_into=c.merged_into,
    )


def record_from_pb(m: pb.Candidate) -> dict:
    """The client's candidate as a loose record for validation (empty fields left out)."""
    record: dict = {}
    for name in (
        "external_id",
        "first_name",
        "last_name",
        "headline",
        "summary",
        "current_company",
        "source",
    ):
        if value := getattr(m, name):
            record[name] = value
    for name in ("emails", "phones", "profile_urls", "languages", "tags"):
        if values := list(getattr(m, name)):
            record[name] = values
    if m.seniority:
        if not 0 < m.seniority < len(SENIORITIES):
            record["seniority"] = str(m.seniority)  # validation reports it
        else:
            record["seniority"] = SENIORITIES[m.seniority].value
    for name in ("city", "country", "timezone"):
        if value := getattr(m.location, name):
            record[name] = value
    if m.skills:
        record["skills"] = [
            {
                k: v
                for k, v in {
                    "name": s.label or s.skill_id,
                    "level": s.level,
                    "years": s.years,
                    "source": s.source,
                    "evidence": s.evidence,
                }.items()
                if v
            }
            for s in m.skills
        ]
    return record


def rule_from_pb(m: common_pb2.Rule) -> Rule:
    return Rule(tuple(Condition(c.field, c.op, tuple(c.values)) for c in m.conditions))


def rule_to_pb(r: Rule) -> common_pb2.Rule:
    return common_pb2.Rule(
        conditions=[
            common_pb2.Condition(field=c.field, op=c.op, values=c.values) for c in r.conditions
        ]
    )


def event_to_pb(e: TimelineEvent) -> pb.TimelineEvent:
    payload = struct_pb2.Struct()
    payload.update(e.payload)
    return pb.TimelineEvent(
        id=e.id,
        candidate_id=e.candidate_id,
        kind=e.kind,
        occurred_at=to_pb(e.occurred_at),
        channel=e.channel,
        actor=e.actor,
        stage=e.stage,
        payload=payload,
    )


def payload_from_pb(m: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(m)


def pool_to_pb(p: Pool) -> pb.Pool:
    return pb.Pool(
        id=p.id,
        name=p.name,
        description=p.description,
        stages=p.stages,
        member_count=p.member_count,
        created_at=to_pb(p.created_at),
    )


def member_to_pb(m: PoolMember) -> pb.PoolMember:
    return pb.PoolMember(
        candidate=candidate_to_pb(m.candidate),
        stage=m.stage,
        added_at=to_pb(m.added_at),
        stage_changed_at=to_pb(m.stage_changed_at),
    )


def segment_to_pb(s: Segment) -> pb.Segment:
    return pb.Segment(
        id=s.id,
        name=s.name,
        description=s.description,
        rule=rule_to_pb(s.rule),
        created_at=to_pb(s.created_at),
    )


def pair_to_pb(p: DuplicatePair) -> pb.DuplicatePair:
    return pb.DuplicatePair(
        left_id=p.left_id,
        right_id=p.right_id,
        score=p.score,
        exact=p.exact,
        evidence=[
            pb.DuplicateEvidence(
                signal=e.signal, left=e.left, right=e.right, similarity=e.similarity
            )
            for e in p.evidence
        ],
    )


def change_to_pb(e: ChangeEvent) -> common_pb2.ChangeEvent:
    return common_pb2.ChangeEvent(seq=e.seq, candidate_id=e.candidate_id, op=e.op, at=to_pb(e.at))
