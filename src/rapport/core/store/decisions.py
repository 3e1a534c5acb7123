"""The decision log of NextBestContent and the outcomes that fill in its rewards.

A decision row keeps everything an off-policy estimate needs: the eligible set with each
item's propensity and score, the item drawn and its propensity, the policy version. An
outcome is recorded once per outcome key, goes on the person's timeline in the same
transaction, and updates its decision: when it went out, human opens, clicks, replies,
unsubscribes, bounces, and the reward (1 for a click or reply, else 0 once anything is
known). Machine opens are stored and put on the timeline flagged, never counted.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rapport.core.content import (
    REWARDING,
    TIMELINE_KIND,
    Decision,
    NoSend,
    Outcome,
    OutcomeKind,
    machine_open_reason,
)
from rapport.core.domain import CONTACT_KINDS, ConsentState
from rapport.core.errors import AlreadyExists, NotFound, ValidationFailed, Violation
from rapport.core.ids import uuid7
from rapport.core.store import audit, candidates, consent, timeline
from rapport.core.store import content as content_store
from rapport.core.store.schema import (
    CandidateRow,
    ContentDecisionRow,
    ContentItemRow,
    ContentOutcomeRow,
    TimelineEventRow,
)

# The eligible set of a decision: aligned columns of content pks (ids), propensities (p),
# scores (s) and relevances (r), each a little-endian array in base64. A thousand-item set
# is written with every decision: packed, that costs a tenth of JSON numbers. Write it with
# `pack_eligible`, read it with `eligible_arrays`.
ELIGIBLE_FORMAT = "le-b64/1"
ELIGIBLE_TYPES = {"ids": "q", "p": "d", "s": "f", "r": "f"}  # array typecodes
FUTURE_TOLERANCE = timedelta(minutes=5)
DECISIONS = ContentDecisionRow.__table__
CLOCK_SKEW = timedelta(minutes=1)
MAX_CONTACT_EVENTS = 500  # newest contact events read per decision
MAX_KEY_CHARS = 300


# ------------------------------------------------------------------ decisions


@dataclass(frozen=True)
class NewDecision:
    candidate_pk: int
    candidate_id: str
    content_pk: int | None
    content_id: str
    channel: str
    context: Mapping
    eligible: Mapping  # pack_eligible(...)
    propensity: float
    score: float
    relevance: float
    predicted_response: float
    no_send: NoSend
    reason: str
    policy_name: str
    policy_version: str
    engagement_model: str = ""


def log(session: Session, d: NewDecision) -> Decision:
    """Appends a decision; returns it with its id."""
    now = datetime.now(UTC)
    values = {
        "id": uuid7(),
        "candidate_pk": d.candidate_pk,
        "content_pk": d.content_pk,
        "channel": d.channel,
        "context": dict(d.context),
        "eligible": dict(d.eligible),
        "propensity": d.propensity,
        "score": d.score,
        "relevance": d.relevance,
        "predicted_response": d.predicted_response,
        "no_send": d.no_send.value,
        "reason": d.reason[:500],
        "policy_name": d.policy_name,
        "policy_version": d.policy_version,
        "engagement_model": d.engagement_model,
        "created_at": now,
    }
    session.connection().execute(DECISIONS.insert(), values)  # Core: no ORM work per decision
    return Decision(
        id=values["id"],
        candidate_id=d.candidate_id,
        content_id=d.content_id,
        channel=d.channel,
        propensity=d.propensity,
        score=d.score,
        relevance=d.relevance,
        predicted_response=d.predicted_response,
        no_send=d.no_send,
        reason=d.reason,
        policy_name=d.policy_name,
        policy_version=d.policy_version,
        engagement_model=d.engagement_model,
        created_at=now,
        context=dict(d.context),
        eligible=dict(d.eligible),
    )


def pack_eligible(
    ids: Sequence[int] | bytes,
    p: Sequence[float] | bytes,
    s: Sequence[float] | bytes,
    r: Sequence[float] | bytes,
) -> dict:
    """The logged form of an eligible set. Each column is a sequence of numbers, or already
    the little-endian bytes of its array type (numpy: `.astype("<i8"|"<f8"|"<f4").tobytes()`)."""
    out: dict = {"format": ELIGIBLE_FORMAT}
    for key, column in zip(ELIGIBLE_TYPES, (ids, p, s, r), strict=True):
        if isinstance(column, bytes | bytearray | memoryview):
            raw = bytes(column)
        else:
            packed = array(ELIGIBLE_TYPES[key], column)
            if sys.byteorder == "big":
                packed.byteswap()
            raw = packed.tobytes()
        out[key] = base64.b64encode(raw).decode("ascii")
    return out


def eligible_arrays(eligible: Mapping) -> dict[str, list]:
    """A logged eligible set as plain numbers: {"ids", "p", "s", "r"}, aligned (empty for a
    decision that sent nothing)."""
    out: dict[str, list] = {}
    for key, code in ELIGIBLE_TYPES.items():
        column = array(code, base64.b64decode(eligible.get(key, "")))
        if sys.byteorder == "big":
            column.byteswap()
        out[key] = column.tolist()
    return out


@dataclass(frozen=True)
class ContactHistory:
    """What the eligibility rules need to know about someone's past contacts."""

    by_channel: dict[str, list[datetime]]  # contact times per channel (timeline + sent decisions)
    sent_content_pks: set[int]  # items already sent to this person


_CONTACT_EVENTS = (
    select(TimelineEventRow.channel, TimelineEventRow.occurred_at, TimelineEventRow.payload)
    .where(
        TimelineEventRow.candidate_pk == bindparam("pk"),
        TimelineEventRow.kind.in_(sorted(CONTACT_KINDS)),
    )
    .order_by(TimelineEventRow.occurred_at.desc())
    .limit(MAX_CONTACT_EVENTS)
)
_SENT_DECISIONS = select(
    ContentDecisionRow.content_pk, ContentDecisionRow.channel, ContentDecisionRow.sent_at
).where(ContentDecisionRow.candidate_pk == bindparam("pk"), ContentDecisionRow.sent_at.is_not(None))


def contact_history(session: Session, candidate_pk: int, since: datetime) -> ContactHistory:
    """Contacts since `since` per channel, and every item ever sent to this person.

    A contact is a timeline contact event (email_sent, sms_sent, call) or a decision that
    went out; a send logged both ways (the outreach scheduler writes email_sent and reports
    the delivery) counts once per channel: the larger of the two counts is kept.
    """
    conn = session.connection()  # Core: these run on every decision, no ORM layer needed
    events = conn.execute(_CONTACT_EVENTS, {"pk": candidate_pk}).all()
    from_timeline: dict[str, list[datetime]] = {}
    sent_ids: set[str] = set()
    for channel, at, payload in events:
        if at >= since:
            from_timeline.setdefault(channel or "email", []).append(at)
        cid = (payload or {}).get("content_id") if isinstance(payload, dict) else None
        if isinstance(cid, str) and cid:
            sent_ids.add(cid)
    sent = conn.execute(_SENT_DECISIONS, {"pk": candidate_pk}).all()
    from_decisions: dict[str, list[datetime]] = {}
    pks = {pk for pk, _, _ in sent if pk is not None}
    for _pk, channel, at in sent:
        if at >= since:
            from_decisions.setdefault(channel, []).append(at)
    if sent_ids:
        pks |= set(
            session.execute(
                select(ContentItemRow.pk).where(ContentItemRow.id.in_(sorted(sent_ids)))
            ).scalars()
        )
    by_channel = {}
    for channel in set(from_timeline) | set(from_decisions):
        a, b = from_timeline.get(channel, []), from_decisions.get(channel, [])
        by_channel[channel] = a if len(a) >= len(b) else b
    return ContactHistory(by_channel, pks)


def item_statistics(session: Session) -> dict[int, tuple[int, float]]:
    """content pk -> (sends with a known outcome, summed reward): the item response rates
    the policy's posteriors start from."""
    rows = session.execute(
        select(
            ContentDecisionRow.content_pk,
            func.count(ContentDecisionRow.pk),
            func.coalesce(func.sum(ContentDecisionRow.reward), 0.0),
        )
        .where(ContentDecisionRow.reward.is_not(None), ContentDecisionRow.content_pk.is_not(None))
        .group_by(ContentDecisionRow.content_pk)
    ).all()
    return {pk: (int(n), float(r)) for pk, n, r in rows}


@dataclass(frozen=True)
class LoggedDecision:
    """One row of the log as off-policy evaluation reads it."""

    id: str
    candidate_pk: int
    content_pk: int
    propensity: float
    reward: float
    eligible: Mapping
    policy_name: str
    policy_version: str
    created_at: datetime


def logged_with_rewards(
    session: Session, *, since: datetime | None = None, limit: int = 1_000_000
) -> list[LoggedDecision]:
    """Decisions that chose an item and have a known reward, oldest first."""
    query = (
        select(
            ContentDecisionRow.id,
            ContentDecisionRow.candidate_pk,
            ContentDecisionRow.content_pk,
            ContentDecisionRow.propensity,
            ContentDecisionRow.reward,
            ContentDecisionRow.eligible,
            ContentDecisionRow.policy_name,
            ContentDecisionRow.policy_version,
            ContentDecisionRow.created_at,
        )
        .where(ContentDecisionRow.content_pk.is_not(None), ContentDecisionRow.reward.is_not(None))
        .order_by(ContentDecisionRow.pk)
        .limit(limit)
    )
    if since is not None:
        query = query.where(ContentDecisionRow.created_at >= since)
    return [LoggedDecision(*row) for row in session.execute(query).all()]


# ------------------------------------------------------------------ outcomes


def _decision_row(session: Session, decision_id: str) -> ContentDecisionRow:
    row = session.execute(
        select(ContentDecisionRow).where(ContentDecisionRow.id == decision_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("decision", decision_id)
    return row


def _delivered_at(
    session: Session, decision: ContentDecisionRow | None, candidate_pk: int, content_pk: int
) -> datetime | None:
    if decision is not None:
        query = select(func.min(ContentOutcomeRow.occurred_at)).where(
            ContentOutcomeRow.decision_pk == decision.pk,
            ContentOutcomeRow.kind == OutcomeKind.DELIVERED.value,
        )
    else:
        query = select(func.max(ContentOutcomeRow.occurred_at)).where(
            ContentOutcomeRow.candidate_pk == candidate_pk,
            ContentOutcomeRow.content_pk == content_pk,
            ContentOutcomeRow.kind == OutcomeKind.DELIVERED.value,
        )
    return session.execute(query).scalar_one_or_none()


def record_outcome(
    session: Session,
    kind: OutcomeKind,
    *,
    decision_id: str = "",
    candidate_id: str = "",
    content_id: str = "",
    occurred_at: datetime | None = None,
    machine_hint: bool = False,
    user_agent: str = "",
    outcome_key: str = "",
    machine_window: timedelta = timedelta(seconds=60),
) -> Outcome:
    """Records one outcome, once: AlreadyExists if its key was recorded before (nothing
    changes). Writes the timeline event, updates the decision's reward, and opts the person
    out on an unsubscribe, all in the caller's transaction."""
    now = datetime.now(UTC)
    when = occurred_at or now
    if when > now + FUTURE_TOLERANCE:
        raise ValidationFailed(Violation("occurred_at", "is in the future"))
    if len(user_agent) > 500:
        user_agent = user_agent[:500]
    decision: ContentDecisionRow | None = None
    if decision_id:
        decision = _decision_row(session, decision_id)
        if decision.content_pk is None:
            raise ValidationFailed(
                Violation("decision_id", "this decision chose to send nothing: no outcome")
            )
        candidate_pk, content_pk = decision.candidate_pk, decision.content_pk
        candidate_id = session.execute(
            select(CandidateRow.id).where(CandidateRow.pk == candidate_pk)
        ).scalar_one()
        content_id = session.execute(
            select(ContentItemRow.id).where(ContentItemRow.pk == content_pk)
        ).scalar_one()
        if when < decision.created_at - CLOCK_SKEW:
            raise ValidationFailed(Violation("occurred_at", "is before the decision was made"))
    else:
        if not candidate_id or not content_id:
            raise ValidationFailed(
                Violation("target", "give a decision id, or a candidate id and a content id")
            )
        candidate_pk = candidates.pk_for(session, candidate_id)
        content_pk = content_store.pk_for(session, content_id)
        decision = session.execute(
            select(ContentDecisionRow)
            .where(
                ContentDecisionRow.candidate_pk == candidate_pk,
                ContentDecisionRow.content_pk == content_pk,
            )
            .order_by(ContentDecisionRow.pk.desc())
            .limit(1)
        ).scalar_one_or_none()
    target = decision.id if decision is not None else f"{candidate_id}/{content_id}"
    key = outcome_key.strip() or f"{target}|{kind.value}|{when.astimezone(UTC).isoformat()}"
    if len(key) > MAX_KEY_CHARS:
        raise ValidationFailed(Violation("outcome_key", f"at most {MAX_KEY_CHARS} characters"))
    existing = session.execute(
        select(ContentOutcomeRow.id).where(ContentOutcomeRow.outcome_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        raise AlreadyExists(f"outcome {key!r} was already recorded (outcome {existing})")

    machine_reason = ""
    if kind == OutcomeKind.OPENED:
        machine_reason = machine_open_reason(
            user_agent,
            machine_hint,
            when,
            _delivered_at(session, decision, candidate_pk, content_pk),
            machine_window,
        )
    machine = bool(machine_reason)
    channel = decision.channel if decision is not None else "email"
    timeline_kind = TIMELINE_KIND[kind]
    if kind == OutcomeKind.REPLIED and channel == "sms":
        timeline_kind = "sms_replied"
    outcome_id = uuid7()
    payload: dict = {"content_id": content_id, "outcome_id": outcome_id}
    if decision is not None:
        payload["decision_id"] = decision.id
    if machine:
        payload |= {"machine": True, "machine_reason": machine_reason}
    event = timeline.add(
        session,
        candidate_id,
        timeline_kind,
        occurred_at=when,
        channel=channel,
        actor="content",
        payload=payload,
    )

    reward: float | None = None
    if decision is not None:
        changes = _decision_changes(decision, kind, when, machine)
        if changes:
            session.execute(
                update(ContentDecisionRow)
                .where(ContentDecisionRow.pk == decision.pk)
                .values(**changes)
            )
        reward = changes.get("reward", decision.reward)

    opted_out = False
    if kind == OutcomeKind.UNSUBSCRIBED:
        state = session.execute(
            select(CandidateRow.consent_state).where(CandidateRow.pk == candidate_pk)
        ).scalar_one()
        if state != ConsentState.OPTED_OUT.value:
            consent.set_state(
                session, candidate_id, ConsentState.OPTED_OUT, basis="unsubscribe (content)"
            )
            opted_out = True

    try:
        with session.begin_nested():
            session.execute(
                insert(ContentOutcomeRow),
                {
                    "id": outcome_id,
                    "outcome_key": key,
                    "decision_pk": decision.pk if decision is not None else None,
                    "candidate_pk": candidate_pk,
                    "content_pk": content_pk,
                    "kind": kind.value,
                    "occurred_at": when,
                    "machine": machine,
                    "machine_reason": machine_reason,
                    "user_agent": user_agent,
                    "timeline_event_id": event.id,
                    "recorded_at": now,
                },
            )
    except IntegrityError:  # the same key raced in from another request
        raise AlreadyExists(f"outcome {key!r} was already recorded") from None
    audit.record(
        session,
        "content.outcome",
        [candidate_id],
        details={"kind": kind.value, "machine": machine, "content_id": content_id},
    )
    return Outcome(
        id=outcome_id,
        outcome_key=key,
        decision_id=decision.id if decision is not None else "",
        candidate_id=candidate_id,
        content_id=content_id,
        kind=kind,
        occurred_at=when,
        machine=machine,
        machine_reason=machine_reason,
        timeline_event_id=event.id,
        reward=reward,
        opted_out=opted_out,
    )


def _decision_changes(
    decision: ContentDecisionRow, kind: OutcomeKind, when: datetime, machine: bool
) -> dict:
    """Column updates an outcome makes to its decision (first times win; a machine open
    only tells that the mail arrived)."""
    changes: dict = {}

    def first(column: str) -> None:
        current = getattr(decision, column)
        if current is None or when < current:
            changes[column] = when

    first("sent_at")
    column = {
        OutcomeKind.OPENED: "opened_at",
        OutcomeKind.CLICKED: "clicked_at",
        OutcomeKind.REPLIED: "replied_at",
        OutcomeKind.UNSUBSCRIBED: "unsubscribed_at",
        OutcomeKind.BOUNCED: "bounced_at",
    }.get(kind)
    if column and not machine:
        first(column)
    if kind in REWARDING:
        if decision.reward != 1.0:
            changes["reward"] = 1.0
    elif decision.reward is None:
        changes["reward"] = 0.0
    return changes


__all__ = [
    "ContactHistory",
    "LoggedDecision",
    "NewDecision",
    "contact_history",
    "eligible_arrays",
    "item_statistics",
    "log",
    "logged_with_rewards",
    "pack_eligible",
    "record_outcome",
]
