"""Outreach in the store: sequences, enrolments, triggers and inbound replies (DESIGN §8).

Delivery (claiming due steps, recording what SMTP said) is in `outreach_delivery`. Every
write here is part of the caller's transaction and audited; people are only enrolled when
they may be mailed (consent on record, an email address, an active record).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, insert, select, update
from sqlalchemy.orm import Session

from rapport.core.domain import Page, Rule
from rapport.core.errors import AlreadyExists, NotFound, ValidationFailed, Violation
from rapport.core.ids import uuid7
from rapport.core.outreach import (
    MAILABLE_CONSENT,
    Enrolment,
    EnrolmentCounts,
    EnrolmentState,
    EnrolOutcome,
    EnrolSkip,
    SendInfo,
    SendState,
    Sequence,
    Step,
    Trigger,
)
from rapport.core.store import audit, paging
from rapport.core.store.candidates import ACTIVE
from rapport.core.store.db import dialect_insert
from rapport.core.store.rules import compile_rule
from rapport.core.store.schema import (
    CandidateRow,
    ContentItemRow,
    OutreachCursorRow,
    OutreachEnrolmentRow,
    OutreachSendRow,
    OutreachSequenceRow,
    OutreachStepRow,
    OutreachTriggerFiringRow,
    OutreachTriggerRow,
)
from rapport.core.store.sealing import KIND_BITS

SEQ, STEP, ENR, SEND = OutreachSequenceRow, OutreachStepRow, OutreachEnrolmentRow, OutreachSendRow
MAX_ENROL = 100_000  # people per Enrol call (a segment larger than this is enrolled in parts)
LISTED = 1000  # enrolments and skips listed in an EnrolOutcome
_CHUNK = 5000


# ------------------------------------------------------------------------ sequences


def _step(row: OutreachStepRow) -> Step:
    return Step(
        key=row.key,
        channel=row.channel,
        subject=row.subject,
        body=row.body,
        content_id=row.content_id,
        delay_s=row.delay_s,
        condition=row.condition,
        next_key=row.next_key,
        position=row.position,
        next_position=row.next_position,
    )


def _sequence(row: OutreachSequenceRow, steps: list[Step], counts=EnrolmentCounts()) -> Sequence:
    return Sequence(
        id=row.id,
        name=row.name,
        description=row.description,
        steps=tuple(sorted(steps, key=lambda s: s.position)),
        stop_on=tuple(row.stop_on or ()),
        sender_name=row.sender_name,
        created_at=row.created_at,
        counts=counts,
        pk=row.pk,
    )


def create_sequence(session: Session, seq: Sequence) -> Sequence:
    """Stores a sequence already checked by `rapport.core.outreach.normalise_sequence`."""
    if session.execute(select(SEQ.pk).where(SEQ.name == seq.name)).first():
        raise AlreadyExists(f"sequence.name: a sequence named {seq.name!r} exists")
    row = SEQ(
        id=uuid7(),
        name=seq.name,
        description=seq.description,
        stop_on=list(seq.stop_on),
        sender_name=seq.sender_name,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    session.execute(
        insert(STEP),
        [
            {
                "sequence_pk": row.pk,
                "position": s.position,
                "key": s.key,
                "channel": s.channel,
                "subject": s.subject,
                "body": s.body,
                "content_id": s.content_id,
                "delay_s": s.delay_s,
                "condition": s.condition,
                "next_key": s.next_key,
                "next_position": s.next_position,
            }
            for s in seq.steps
        ],
    )
    audit.record(session, "outreach.sequence.create", [row.id], target_type="sequence")
    return _sequence(row, list(seq.steps))


def sequences_by_pk(session: Session, pks: Iterable[int]) -> dict[int, Sequence]:
    pks = list(set(pks))
    if not pks:
        return {}
    rows = session.execute(select(SEQ).where(SEQ.pk.in_(pks))).scalars().all()
    steps: dict[int, list[Step]] = {}
    for r in session.execute(select(STEP).where(STEP.sequence_pk.in_(pks))).scalars():
        steps.setdefault(r.sequence_pk, []).append(_step(r))
    counts = _counts(session, pks)
    return {
        r.pk: _sequence(r, steps.get(r.pk, []), counts.get(r.pk, EnrolmentCounts())) for r in rows
    }


def _sequence_pk(session: Session, sequence_id: str, field: str = "sequence_id") -> int:
    if not sequence_id:
        raise ValidationFailed(Violation(field, "required"))
    pk = session.execute(select(SEQ.pk).where(SEQ.id == sequence_id)).scalar_one_or_none()
    if pk is None:
        raise NotFound("sequence", sequence_id)
    return pk


def get_sequence(session: Session, sequence_id: str) -> Sequence:
    pk = _sequence_pk(session, sequence_id, "id")
    return sequences_by_pk(session, [pk])[pk]


def _counts(session: Session, pks: list[int]) -> dict[int, EnrolmentCounts]:
    out: dict[int, dict[str, int]] = {}
    for pk, state, n in session.execute(
        select(ENR.sequence_pk, ENR.state, func.count())
        .where(ENR.sequence_pk.in_(pks))
        .group_by(ENR.sequence_pk, ENR.state)
    ):
        out.setdefault(pk, {})[state] = n
    return {pk: EnrolmentCounts(**by_state) for pk, by_state in out.items()}


def list_sequences(session: Session, size: int, token: str) -> Page:
    """Newest first; the token continues below the last key returned."""
    size = paging.page_size(size)
    before = paging.decode(token)
    query = select(SEQ.pk).order_by(SEQ.pk.desc()).limit(size + 1)
    if before:
        query = query.where(SEQ.pk < before)
    pks = list(session.execute(query).scalars())
    more = len(pks) > size
    pks = pks[:size]
    loaded = sequences_by_pk(session, pks)
    return Page([loaded[pk] for pk in pks], paging.encode(pks[-1]) if more and pks else "")


@dataclass(frozen=True)
class ContentTemplate:
    subject: str
    body: str
    fallbacks: dict
    extra: dict  # content_title, content_url


def content_template(session: Session, content_id: str) -> ContentTemplate | None:
    """A content item's templates, for a step that names one (None if there is no such item)."""
    row = session.execute(
        select(
            ContentItemRow.subject,
            ContentItemRow.body,
            ContentItemRow.fallbacks,
            ContentItemRow.title,
            ContentItemRow.url,
        ).where(ContentItemRow.id == content_id)
    ).first()
    if row is None:
        return None
    return ContentTemplate(
        row.subject,
        row.body,
        dict(row.fallbacks or {}),
        {"content_title": row.title, "content_url": row.url},
    )


# ------------------------------------------------------------------------ enrolment


def _people(session: Session, where: list[ColumnElement], limit: int):
    return session.execute(
        select(
            CandidateRow.pk,
            CandidateRow.id,
            CandidateRow.status,
            CandidateRow.consent_state,
            CandidateRow.contact_kinds,  # whether there is an email, without opening it
        )
        .where(*where)
        .order_by(CandidateRow.pk)
        .limit(limit)
    ).all()


def why_not_mailable(status: str, consent_state: str, emails) -> tuple[str, str] | None:
    """(reason, detail) when a person may not be mailed, else None. `emails`: their
    addresses, or anything true when they have one."""
    if status != ACTIVE:
        return "merged", "merged into another record; enrol the surviving one"
    if consent_state not in MAILABLE_CONSENT:
        return "no_consent", f"consent is {consent_state!r}; granted or legitimate_interest needed"
    if not emails:
        return "no_email", "no email address on record"
    return None


def enrol(
    session: Session,
    sequence_id: str,
    *,
    candidate_ids: Seq[str] = (),
    rule: Rule | None = None,
    source: str = "manual",
    start_at: datetime | None = None,
) -> EnrolOutcome:
    """Enrol the given candidates, or everyone `rule` selects now (a segment), in a sequence.

    People who may not be mailed, or are in the sequence already, are reported with the
    reason and left out; the rest start at step one, due `start_at` + its delay.
    """
    seq_pk = _sequence_pk(session, sequence_id)
    seq = sequences_by_pk(session, [seq_pk])[seq_pk]
    now = datetime.now(UTC)
    start = max(start_at or now, now)
    outcome = EnrolOutcome()
    if rule is None:
        ids = list(dict.fromkeys(candidate_ids))
        if not ids:
            raise ValidationFailed(Violation("candidates", "at least one candidate id"))
        if len(ids) > MAX_ENROL:
            raise ValidationFailed(Violation("candidates", f"at most {MAX_ENROL} per call"))
        rows = []
        for i in range(0, len(ids), _CHUNK):
            rows += _people(session, [CandidateRow.id.in_(ids[i : i + _CHUNK])], _CHUNK)
        found = {r.id for r in rows}
        for cid in ids:
            if cid not in found:
                _skip(outcome, EnrolSkip(cid, "not_found", "no such candidate"))
    else:
        rows = _people(
            session, [CandidateRow.status == ACTIVE, *compile_rule(rule, now)], MAX_ENROL
        )
    eligible = []
    for r in rows:
        why = why_not_mailable(r.status, r.consent_state, r.contact_kinds & KIND_BITS["email"])
        if why:
            _skip(outcome, EnrolSkip(r.id, *why))
        else:
            eligible.append(r)
    first = seq.steps[0]
    due = start + timedelta(seconds=first.delay_s)
    by_pk = {r.pk: r.id for r in eligible}
    created: list[tuple[int, str, int]] = []
    for i in range(0, len(eligible), _CHUNK):
        values = [
            {
                "id": uuid7(),
                "sequence_pk": seq_pk,
                "candidate_pk": r.pk,
                "state": EnrolmentState.ACTIVE.value,
                "stop_reason": "",
                "step_position": 0,
                "next_due_at": due,
                "source": source[:80],
                "enrolled_at": now,
                "updated_at": now,
            }
            for r in eligible[i : i + _CHUNK]
        ]
        stmt = (
            dialect_insert(session, ENR.__table__)
            .on_conflict_do_nothing()
            .returning(ENR.__table__.c.pk, ENR.__table__.c.id, ENR.__table__.c.candidate_pk)
        )
        created += [tuple(r) for r in session.execute(stmt, values)]
    new_pks = {c for _, _, c in created}
    for pk, cid in by_pk.items():
        if pk not in new_pks:
            _skip(outcome, EnrolSkip(cid, "already_enrolled", "active in this sequence"))
    outcome.enrolled_count = len(created)
    outcome.enrolled = [
        Enrolment(
            id=eid,
            sequence_id=seq.id,
            candidate_id=by_pk[cpk],
            state=EnrolmentState.ACTIVE.value,
            next_step_key=first.key,
            next_due_at=due,
            enrolled_at=now,
            updated_at=now,
            source=source,
        )
        for _, eid, cpk in sorted(created)[:LISTED]
    ]
    if created:
        audit.record(
            session,
            "outreach.enrol",
            [by_pk[c] for _, _, c in created],
            details={"sequence_id": seq.id, "source": source},
        )
    return outcome


def _skip(outcome: EnrolOutcome, skip: EnrolSkip) -> None:
    outcome.skipped_count += 1
    if len(outcome.skips) < LISTED:
        outcome.skips.append(skip)


def stop(session: Session, enrolment_pks: Seq[int], reason: str, now: datetime) -> int:
    """Stop active enrolments; their queued (not yet claimed) sends become skipped."""
    if not enrolment_pks:
        return 0
    done = session.execute(
        update(ENR)
        .where(ENR.pk.in_(list(enrolment_pks)), ENR.state == EnrolmentState.ACTIVE.value)
        .values(
            state=EnrolmentState.STOPPED.value,
            stop_reason=reason,
            next_due_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        update(SEND)
        .where(SEND.enrolment_pk.in_(list(enrolment_pks)), SEND.state == SendState.QUEUED.value)
        .values(
            state=SendState.SKIPPED.value, reason=f"enrolment stopped: {reason}", updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    return done


def stop_for_candidate(session: Session, candidate_pk: int, rule: str, reason: str) -> list[str]:
    """Stop the candidate's active enrolments in sequences that stop on `rule` (every one
    for "unsubscribe"). Returns the stopped enrolment ids."""
    rows = session.execute(
        select(ENR.pk, ENR.id, SEQ.stop_on)
        .join(SEQ, SEQ.pk == ENR.sequence_pk)
        .where(ENR.candidate_pk == candidate_pk, ENR.state == EnrolmentState.ACTIVE.value)
    ).all()
    chosen = [r for r in rows if rule == "unsubscribe" or rule in (r.stop_on or ())]
    stop(session, [r.pk for r in chosen], reason, datetime.now(UTC))
    return [r.id for r in chosen]


def unenrol(
    session: Session, *, enrolment_id: str = "", sequence_id: str = "", candidate_id: str = ""
) -> Enrolment:
    if enrolment_id:
        pk = session.execute(select(ENR.pk).where(ENR.id == enrolment_id)).scalar_one_or_none()
        if pk is None:
            raise NotFound("enrolment", enrolment_id)
    else:
        if not (sequence_id and candidate_id):
            raise ValidationFailed(
                Violation("target", "an enrolment id, or a sequence id and a candidate id")
            )
        seq_pk = _sequence_pk(session, sequence_id)
        pk = session.execute(
            select(ENR.pk)
            .join(CandidateRow, CandidateRow.pk == ENR.candidate_pk)
            .where(
                ENR.sequence_pk == seq_pk,
                CandidateRow.id == candidate_id,
                ENR.state == EnrolmentState.ACTIVE.value,
            )
        ).scalar_one_or_none()
        if pk is None:
            raise NotFound("active enrolment of candidate", candidate_id)
    stop(session, [pk], "unenrolled", datetime.now(UTC))
    enrolment = enrolments_by_pk(session, [pk])[0]
    audit.record(
        session,
        "outreach.unenrol",
        [enrolment.candidate_id],
        details={"enrolment_id": enrolment.id},
    )
    return enrolment


def enrolments_by_pk(
    session: Session, pks: Seq[int], *, include_sends: bool = False
) -> list[Enrolment]:
    if not pks:
        return []
    rows = session.execute(
        select(ENR, SEQ.id.label("sequence_id"), CandidateRow.id.label("candidate_id"))
        .join(SEQ, SEQ.pk == ENR.sequence_pk)
        .join(CandidateRow, CandidateRow.pk == ENR.candidate_pk)
        .where(ENR.pk.in_(list(pks)))
    ).all()
    seq_of = {r[0].pk: r[0].sequence_pk for r in rows}
    seq_pks = set(seq_of.values())
    keys = {
        (s.sequence_pk, s.position): s.key
        for s in session.execute(
            select(STEP.sequence_pk, STEP.position, STEP.key).where(STEP.sequence_pk.in_(seq_pks))
        )
    }
    sends: dict[int, list[SendInfo]] = {}
    if include_sends:
        for s in session.execute(
            select(SEND).where(SEND.enrolment_pk.in_(list(pks))).order_by(SEND.pk)
        ).scalars():
            seq_pk = seq_of[s.enrolment_pk]
            sends.setdefault(s.enrolment_pk, []).append(
                SendInfo(
                    id=s.id,
                    step_key=keys.get((seq_pk, s.step_position), ""),
                    state=s.state,
                    reason=s.reason,
                    message_id=s.message_id,
                    sent_at=s.sent_at,
                    attempts=s.attempts,
                )
            )
    by_pk = {}
    for e, sequence_id, candidate_id in rows:
        by_pk[e.pk] = Enrolment(
            id=e.id,
            sequence_id=sequence_id,
            candidate_id=candidate_id,
            state=e.state,
            stop_reason=e.stop_reason,
            next_step_key=keys.get((e.sequence_pk, e.step_position), "")
            if e.state == EnrolmentState.ACTIVE.value
            else "",
            next_due_at=e.next_due_at,
            enrolled_at=e.enrolled_at,
            updated_at=e.updated_at,
            source=e.source,
            sends=tuple(sends.get(e.pk, ())),
        )
    return [by_pk[pk] for pk in pks if pk in by_pk]


def list_enrolments(
    session: Session,
    *,
    sequence_id: str = "",
    candidate_id: str = "",
    state: str = "",
    include_sends: bool = False,
    size: int = 0,
    token: str = "",
) -> Page:
    size = paging.page_size(size)
    after = paging.decode(token)
    query = select(ENR.pk).order_by(ENR.pk).limit(size + 1).where(ENR.pk > after)
    if sequence_id:
        query = query.where(ENR.sequence_pk == _sequence_pk(session, sequence_id))
    if candidate_id:
        cpk = session.execute(
            select(CandidateRow.pk).where(CandidateRow.id == candidate_id)
        ).scalar_one_or_none()
        if cpk is None:
            raise NotFound("candidate", candidate_id)
        query = query.where(ENR.candidate_pk == cpk)
    if state:
        if state not in {s.value for s in EnrolmentState}:
            raise ValidationFailed(Violation("state", "active, completed or stopped"))
        query = query.where(ENR.state == state)
    pks = list(session.execute(query).scalars())
    more = len(pks) > size
    pks = pks[:size]
    return Page(
        enrolments_by_pk(session, pks, include_sends=include_sends),
        paging.encode(pks[-1]) if more and pks else "",
    )


# ------------------------------------------------------------------------ triggers

TRIG, FIRING, CURSOR = OutreachTriggerRow, OutreachTriggerFiringRow, OutreachCursorRow
TRIGGER_CURSOR = "triggers.timeline"


def _trigger(row: OutreachTriggerRow, fired: int = 0) -> Trigger:
    actions = row.actions or {}
    return Trigger(
        id=row.id,
        name=row.name,
        kind=row.kind,
        event_kind=row.event_kind,
        payload_equals=tuple(sorted((row.payload_equals or {}).items())),
        dormant_days=row.dormant_days,
        segment_id=row.segment_id,
        add_tag=actions.get("add_tag", ""),
        add_to_pool_id=actions.get("add_to_pool_id", ""),
        enrol_sequence_id=actions.get("enrol_sequence_id", ""),
        enabled=row.enabled,
        created_at=row.created_at,
        fired=fired,
    )


def create_trigger(session: Session, t: Trigger) -> Trigger:
    """Stores a trigger checked by `normalise_trigger`, after checking the ids it names.

    The first trigger also starts the timeline cursor at the current end of the timeline:
    a new trigger reacts to what happens from now on, not to years of history."""
    from rapport.core.store import pools, segments
    from rapport.core.store.schema import TimelineEventRow

    problems = []
    if (
        t.enrol_sequence_id
        and not session.execute(select(SEQ.pk).where(SEQ.id == t.enrol_sequence_id)).first()
    ):
        problems.append(Violation("trigger.actions.enrol_sequence_id", "no such sequence"))
    if t.add_to_pool_id:
        try:
            pools.get(session, t.add_to_pool_id)
        except NotFound:
            problems.append(Violation("trigger.actions.add_to_pool_id", "no such pool"))
    if t.segment_id:
        try:
            segments.get(session, t.segment_id)
        except NotFound:
            problems.append(Violation("trigger.dormant.segment_id", "no such segment"))
    if problems:
        raise ValidationFailed(problems)
    if session.execute(select(TRIG.pk).where(TRIG.name == t.name)).first():
        raise AlreadyExists(f"trigger.name: a trigger named {t.name!r} exists")
    now = datetime.now(UTC)
    if session.get(CURSOR, TRIGGER_CURSOR) is None:
        head = session.execute(select(func.max(TimelineEventRow.pk))).scalar_one() or 0
        session.add(CURSOR(name=TRIGGER_CURSOR, position=head, updated_at=now))
    row = TRIG(
        id=uuid7(),
        name=t.name,
        kind=t.kind,
        event_kind=t.event_kind if t.kind == "event" else "",
        payload_equals=dict(t.payload_equals),
        dormant_days=t.dormant_days if t.kind == "dormant" else 0,
        segment_id=t.segment_id,
        actions={
            "add_tag": t.add_tag,
            "add_to_pool_id": t.add_to_pool_id,
            "enrol_sequence_id": t.enrol_sequence_id,
        },
        enabled=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(session, "outreach.trigger.create", [row.id], target_type="trigger")
    return _trigger(row)


def list_triggers(session: Session, *, enabled_only: bool = False) -> list[Trigger]:
    fired = dict(
        session.execute(select(FIRING.trigger_pk, func.count()).group_by(FIRING.trigger_pk)).all()
    )
    query = select(TRIG).order_by(TRIG.pk)
    if enabled_only:
        query = query.where(TRIG.enabled.is_(True))
    return [_trigger(r, fired.get(r.pk, 0)) for r in session.execute(query).scalars()]


def trigger_rows(session: Session) -> list[OutreachTriggerRow]:
    return list(session.execute(select(TRIG).where(TRIG.enabled.is_(True))).scalars())


def cursor(session: Session, name: str) -> int:
    row = session.get(CURSOR, name)
    return row.position if row else 0


def set_cursor(session: Session, name: str, position: int) -> None:
    now = datetime.now(UTC)
    row = session.get(CURSOR, name)
    if row is None:
        session.add(CURSOR(name=name, position=position, updated_at=now))
    elif row.position != position:
        row.position, row.updated_at = position, now


def record_firings(
    session: Session, trigger_pk: int, firings: Seq[tuple[int, int | None]], outcome: str
) -> list[tuple[int, int, int | None]]:
    """Records (candidate pk, event pk) firings; returns (firing pk, candidate pk, event pk)
    of the new ones (an event fired for in an earlier scan is not new)."""
    if not firings:
        return []
    now = datetime.now(UTC)
    stmt = (
        dialect_insert(session, FIRING.__table__)
        .on_conflict_do_nothing()
        .returning(
            FIRING.__table__.c.pk, FIRING.__table__.c.candidate_pk, FIRING.__table__.c.event_pk
        )
    )
    rows = session.execute(
        stmt,
        [
            {
                "trigger_pk": trigger_pk,
                "candidate_pk": c,
                "event_pk": e,
                "outcome": outcome[:200],
                "fired_at": now,
            }
            for c, e in firings
        ],
    ).all()
    return [tuple(r) for r in rows]


def set_firing_outcome(session: Session, firing_pks: Seq[int], outcome: str) -> None:
    if firing_pks:
        session.execute(
            update(FIRING).where(FIRING.pk.in_(list(firing_pks))).values(outcome=outcome[:200])
        )


def fired_since(trigger_pk: int, since: datetime) -> ColumnElement:
    """A correlated condition: the trigger fired for this candidate after `since`."""
    return (
        select(FIRING.pk)
        .where(
            FIRING.trigger_pk == trigger_pk,
            FIRING.candidate_pk == CandidateRow.pk,
            FIRING.fired_at >= since,
        )
        .exists()
    )


def active_in(sequence_pk: int) -> ColumnElement:
    return (
        select(ENR.pk)
        .where(
            and_(
                ENR.sequence_pk == sequence_pk,
                ENR.candidate_pk == CandidateRow.pk,
                ENR.state == EnrolmentState.ACTIVE.value,
            )
        )
        .exists()
    )
