"""Protobuf <-> domain for OutreachService. Nothing else in the service touches protobuf."""

from __future__ import annotations

import math

from rapport.core.errors import ValidationFailed, Violation
from rapport.core.outreach import (
    Enrolment,
    EnrolOutcome,
    ReplyOutcome,
    SendInfo,
    Sequence,
    Step,
    StepCondition,
    Trigger,
)
from rapport.services.common.timestamps import from_pb, to_pb
from rapport.services.outreach.use_cases import InboundReply, RenderedEmail
from rapport.v1 import common_pb2
from rapport.v1 import outreach_pb2 as pb

CONDITIONS = {
    pb.STEP_CONDITION_UNSPECIFIED: StepCondition.ALWAYS.value,
    pb.STEP_CONDITION_IF_NOT_OPENED: StepCondition.NOT_OPENED.value,
    pb.STEP_CONDITION_IF_NO_REPLY: StepCondition.NO_REPLY.value,
}
CONDITION_PB = {v: k for k, v in CONDITIONS.items()}
STOP_RULES = {
    pb.STOP_RULE_REPLY: "reply",
    pb.STOP_RULE_UNSUBSCRIBE: "unsubscribe",
    pb.STOP_RULE_APPLICATION: "application",
}
STOP_RULE_PB = {v: k for k, v in STOP_RULES.items()}
MAX_PB_DELAY_S = 10 * 365 * 86400  # beyond any sane plan; the domain says what is allowed


def _delay_s(step: pb.SequenceStep, field: str) -> int:
    """Whole seconds, a fraction rounded away from zero (so -0.5 s is still negative)."""
    total = step.delay.seconds + step.delay.nanos / 1e9
    if abs(total) > MAX_PB_DELAY_S:
        raise ValidationFailed(Violation(field, "at most 365 days after the previous step"))
    return math.ceil(total) if total >= 0 else math.floor(total)


def sequence_from_pb(m: pb.Sequence) -> Sequence:
    problems = []
    steps = []
    for i, st in enumerate(m.steps):
        where = f"sequence.steps[{i}]"
        if st.condition not in CONDITIONS:
            problems.append(Violation(f"{where}.condition", f"unknown condition {st.condition}"))
            continue
        steps.append(
            Step(
                key=st.key,
                channel=st.channel,
                subject=st.subject,
                body=st.body,
                content_id=st.content_id,
                delay_s=_delay_s(st, f"{where}.delay"),
                condition=CONDITIONS[st.condition],
                next_key=st.next_key,
            )
        )
    stop_on = []
    for i, rule in enumerate(m.stop_on):
        if rule not in STOP_RULES:
            problems.append(Violation(f"sequence.stop_on[{i}]", f"unknown stop rule {rule}"))
        else:
            stop_on.append(STOP_RULES[rule])
    if problems:
        raise ValidationFailed(problems)
    return Sequence(
        name=m.name,
        description=m.description,
        steps=tuple(steps),
        stop_on=tuple(stop_on),
        sender_name=m.sender_name,
    )


def step_to_pb(s: Step) -> pb.SequenceStep:
    out = pb.SequenceStep(
        key=s.key,
        channel=s.channel,
        subject=s.subject,
        body=s.body,
        content_id=s.content_id,
        condition=CONDITION_PB.get(s.condition, pb.STEP_CONDITION_UNSPECIFIED),
        next_key=s.next_key,
        position=s.position,
    )
    out.delay.seconds = s.delay_s
    return out


def sequence_to_pb(seq: Sequence) -> pb.Sequence:
    out = pb.Sequence(
        id=seq.id,
        name=seq.name,
        description=seq.description,
        steps=[step_to_pb(s) for s in seq.steps],
        stop_on=[STOP_RULE_PB[r] for r in seq.stop_on if r in STOP_RULE_PB],
        sender_name=seq.sender_name,
        counts=pb.EnrolmentCounts(
            active=seq.counts.active, completed=seq.counts.completed, stopped=seq.counts.stopped
        ),
    )
    if seq.created_at is not None:
        out.created_at.CopyFrom(to_pb(seq.created_at))
    return out


def send_to_pb(s: SendInfo) -> pb.SendRecord:
    out = pb.SendRecord(
        id=s.id,
        step_key=s.step_key,
        state=s.state,
        reason=s.reason,
        message_id=s.message_id,
        attempts=s.attempts,
    )
    if s.sent_at is not None:
        out.sent_at.CopyFrom(to_pb(s.sent_at))
    return out


def enrolment_to_pb(e: Enrolment) -> pb.Enrolment:
    out = pb.Enrolment(
        id=e.id,
        sequence_id=e.sequence_id,
        candidate_id=e.candidate_id,
        state=e.state,
        stop_reason=e.stop_reason,
        next_step_key=e.next_step_key,
        source=e.source,
        sends=[send_to_pb(s) for s in e.sends],
    )
    for name in ("next_due_at", "enrolled_at", "updated_at"):
        value = getattr(e, name)
        if value is not None:
            getattr(out, name).CopyFrom(to_pb(value))
    return out


def enrol_outcome_to_pb(o: EnrolOutcome) -> pb.EnrolResponse:
    return pb.EnrolResponse(
        enrolled=o.enrolled_count,
        enrolments=[enrolment_to_pb(e) for e in o.enrolled],
        skipped=o.skipped_count,
        skips=[
            pb.EnrolSkip(candidate_id=s.candidate_id, reason=s.reason, detail=s.detail)
            for s in o.skips
        ],
    )


def page_info(next_token: str) -> common_pb2.PageInfo:
    return common_pb2.PageInfo(next_page_token=next_token)


def trigger_from_pb(m: pb.OutreachTrigger) -> Trigger:
    which = m.WhichOneof("when")
    common = {
        "name": m.name,
        "add_tag": m.actions.add_tag,
        "add_to_pool_id": m.actions.add_to_pool_id,
        "enrol_sequence_id": m.actions.enrol_sequence_id,
    }
    if which == "on_event":
        return Trigger(
            kind="event",
            event_kind=m.on_event.event_kind,
            payload_equals=tuple(sorted(m.on_event.payload_equals.items())),
            **common,
        )
    if which == "dormant":
        return Trigger(
            kind="dormant",
            dormant_days=m.dormant.dormant_days,
            segment_id=m.dormant.segment_id,
            **common,
        )
    return Trigger(kind="", **common)


def trigger_to_pb(t: Trigger) -> pb.OutreachTrigger:
    out = pb.OutreachTrigger(
        id=t.id,
        name=t.name,
        actions=pb.TriggerActions(
            add_tag=t.add_tag,
            add_to_pool_id=t.add_to_pool_id,
            enrol_sequence_id=t.enrol_sequence_id,
        ),
        enabled=t.enabled,
        fired=t.fired,
    )
    if t.kind == "event":
        out.on_event.event_kind = t.event_kind
        out.on_event.payload_equals.update(dict(t.payload_equals))
    elif t.kind == "dormant":
        out.dormant.dormant_days = t.dormant_days
        out.dormant.segment_id = t.segment_id
    if t.created_at is not None:
        out.created_at.CopyFrom(to_pb(t.created_at))
    return out


def rendered_to_pb(r: RenderedEmail) -> pb.RenderedEmail:
    return pb.RenderedEmail(
        subject=r.subject,
        body=r.body,
        to_address=r.to_address,
        from_address=r.from_address,
        headers=r.headers,
        fallbacks_used=list(r.fallbacks_used),
    )


def reply_from_pb(m: pb.RecordReplyRequest) -> InboundReply:
    received = from_pb(m, "received_at")
    return InboundReply(
        message_id=m.message_id,
        in_reply_to=m.in_reply_to,
        references=tuple(m.references),
        to_addresses=tuple(m.to_addresses),
        from_address=m.from_address,
        subject=m.subject,
        received_at=received,
        automatic=m.automatic,
    )


def reply_outcome_to_pb(o: ReplyOutcome) -> pb.RecordReplyResponse:
    return pb.RecordReplyResponse(
        matched=o.matched,
        method=o.method,
        candidate_id=o.candidate_id,
        enrolment_id=o.enrolment_id,
        send_id=o.send_id,
        stopped=o.stopped,
        duplicate=o.duplicate,
        automatic=o.automatic,
    )
