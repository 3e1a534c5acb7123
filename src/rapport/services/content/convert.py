"""Protobuf <-> domain for ContentService. Nothing else in the service touches protobuf."""

from __future__ import annotations

from rapport.core.content import ContentItem, ContentKind, NoSend, Outcome, OutcomeKind
from rapport.core.errors import ValidationFailed, Violation
from rapport.services.candidates.convert import rule_from_pb, rule_to_pb
from rapport.services.common.timestamps import from_pb, to_pb
from rapport.services.content.use_cases import NextBest, NextContext
from rapport.v1 import content_pb2 as pb

# Enum numbers of the contract <-> domain values (UNSPECIFIED is 0 and maps to None).
KINDS = {
    pb.CONTENT_KIND_EMAIL_TEMPLATE: ContentKind.EMAIL_TEMPLATE,
    pb.CONTENT_KIND_ARTICLE: ContentKind.ARTICLE,
    pb.CONTENT_KIND_WHITEPAPER: ContentKind.WHITEPAPER,
    pb.CONTENT_KIND_JOB_AD: ContentKind.JOB_AD,
    pb.CONTENT_KIND_EVENT_INVITE: ContentKind.EVENT_INVITE,
}
KIND_NUMBERS = {kind: number for number, kind in KINDS.items()}
OUTCOMES = {
    pb.OUTCOME_KIND_DELIVERED: OutcomeKind.DELIVERED,
    pb.OUTCOME_KIND_OPENED: OutcomeKind.OPENED,
    pb.OUTCOME_KIND_CLICKED: OutcomeKind.CLICKED,
    pb.OUTCOME_KIND_REPLIED: OutcomeKind.REPLIED,
    pb.OUTCOME_KIND_UNSUBSCRIBED: OutcomeKind.UNSUBSCRIBED,
    pb.OUTCOME_KIND_BOUNCED: OutcomeKind.BOUNCED,
}
OUTCOME_NUMBERS = {kind: number for number, kind in OUTCOMES.items()}
NO_SEND = {
    NoSend.NONE: pb.NO_SEND_REASON_UNSPECIFIED,
    NoSend.OPTED_OUT: pb.NO_SEND_REASON_OPTED_OUT,
    NoSend.NO_CONSENT: pb.NO_SEND_REASON_NO_CONSENT,
    NoSend.NO_ADDRESS: pb.NO_SEND_REASON_NO_ADDRESS,
    NoSend.QUIET_HOURS: pb.NO_SEND_REASON_QUIET_HOURS,
    NoSend.FREQUENCY_CAP: pb.NO_SEND_REASON_FREQUENCY_CAP,
    NoSend.CONTACT_BUDGET: pb.NO_SEND_REASON_CONTACT_BUDGET,
    NoSend.NOTHING_ELIGIBLE: pb.NO_SEND_REASON_NOTHING_ELIGIBLE,
    NoSend.MERGED: pb.NO_SEND_REASON_MERGED,
}


def kind_from_pb(number: int, field: str, *, required: bool) -> ContentKind | None:
    kind = KINDS.get(number)
    if kind is None and (required or number != pb.CONTENT_KIND_UNSPECIFIED):
        raise ValidationFailed(
            Violation(field, "one of " + ", ".join(k.value for k in ContentKind))
        )
    return kind


def item_from_pb(m: pb.ContentItem) -> ContentItem:
    kind = kind_from_pb(m.kind, "item.kind", required=True)
    assert kind is not None
    return ContentItem(
        kind=kind,
        title=m.title,
        subject=m.subject,
        body=m.body,
        url=m.url,
        topics=tuple(m.topics),
        skills=tuple(m.skills),
        audience=rule_from_pb(m.audience),
        locale=m.locale,
        channels=tuple(m.channels),
        fallbacks=dict(m.fallbacks),
        role_id=m.role_id,
        active_from=from_pb(m, "active_from"),
        active_until=from_pb(m, "active_until"),
    )


def item_to_pb(item: ContentItem, encoder: str = "") -> pb.ContentItem:
    out = pb.ContentItem(
        id=item.id,
        kind=KIND_NUMBERS[item.kind],
        title=item.title,
        subject=item.subject,
        body=item.body,
        url=item.url,
        topics=item.topics,
        skills=item.skills,
        audience=rule_to_pb(item.audience),
        locale=item.locale,
        channels=item.channels,
        fallbacks=dict(item.fallbacks),
        role_id=item.role_id,
        embedding_encoder=encoder,
    )
    for name in ("active_from", "active_until", "created_at"):
        value = getattr(item, name)
        if value is not None:
            getattr(out, name).CopyFrom(to_pb(value))
    return out


def context_from_pb(m: pb.ContentContext) -> NextContext:
    kinds = []
    for i, number in enumerate(m.kinds):
        kind = kind_from_pb(number, f"context.kinds[{i}]", required=True)
        assert kind is not None
        kinds.append(kind)
    return NextContext(
        role_id=m.role_id,
        channel=m.channel,
        sequence_step=m.sequence_step,
        sequence_id=m.sequence_id,
        send_at=from_pb(m, "send_at"),
        kinds=tuple(dict.fromkeys(kinds)),
    )


def next_best_to_pb(r: NextBest, encoder_of) -> pb.NextBestContentResponse:
    out = pb.NextBestContentResponse(
        decision_id=r.decision_id,
        send=r.item is not None,
        score=r.score,
        propensity=r.propensity,
        reason=r.reason,
        policy_name=r.policy_name,
        policy_version=r.policy_version,
        eligible_count=r.eligible_count,
        relevance=r.relevance,
        predicted_response=r.response,
        engagement_model=r.engagement_model,
        no_send=NO_SEND[r.no_send],
        encoder=r.encoder,
        alternatives=[
            pb.ContentOption(
                content_id=o.item.id,
                title=o.item.title,
                propensity=o.propensity,
                score=o.score,
                relevance=o.relevance,
            )
            for o in r.alternatives
        ],
    )
    if r.item is not None:
        out.item.CopyFrom(item_to_pb(r.item, encoder_of(r.item.pk)))
        out.preview.CopyFrom(pb.RenderedPreview(subject=r.subject, body=r.body))
    if r.not_before is not None:
        out.not_before.CopyFrom(to_pb(r.not_before))
    return out


def outcome_kind_from_pb(number: int) -> OutcomeKind | None:
    return OUTCOMES.get(number)


def outcome_to_pb(o: Outcome) -> pb.Outcome:
    out = pb.Outcome(
        id=o.id,
        decision_id=o.decision_id,
        candidate_id=o.candidate_id,
        content_id=o.content_id,
        kind=OUTCOME_NUMBERS[o.kind],
        machine=o.machine,
        machine_reason=o.machine_reason,
        timeline_event_id=o.timeline_event_id,
        reward=o.reward if o.reward is not None else 0.0,
        opted_out=o.opted_out,
        outcome_key=o.outcome_key,
    )
    if o.occurred_at is not None:
        out.occurred_at.CopyFrom(to_pb(o.occurred_at))
    return out


__all__ = [
    "context_from_pb",
    "item_from_pb",
    "item_to_pb",
    "kind_from_pb",
    "next_best_to_pb",
    "outcome_kind_from_pb",
    "outcome_to_pb",
]
