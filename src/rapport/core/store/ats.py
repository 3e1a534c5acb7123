"""The ATS sync's store (issue 9): inbound events applied to candidates, the timeline and
pools; the outbox of submissions and outgoing web hooks; receipts that make every inbound
event count once; the pull-sync cursor.

Inbound events resolve the person by the ATS link, then by our reference tag (a person we
submitted), then by a normalised email (keyed lookup hashes, as every candidate lookup
does), else create them (source "ats"). People
erased at their request are never created again: the event is recorded as refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rapport.core import validation
from rapport.core.ats import (
    APPLIED,
    DELIVERED,
    EVENT_APPLIED,
    EVENT_DUPLICATE,
    EVENT_REFUSED,
    FAILED,
    HIRED,
    PENDING,
    REJECTED,
    STAGE_CHANGED,
    AtsEvent,
    AtsPerson,
    EventOutcome,
    Submission,
)
from rapport.core.domain import Candidate, IdentityKind, Page
from rapport.core.errors import AlreadyExists, NotFound, PreconditionFailed
from rapport.core.ids import uuid7
from rapport.core.privacy import ERASED_MESSAGE
from rapport.core.store import audit, candidates, paging, pools, timeline, tombstones
from rapport.core.store.db import dialect_insert
from rapport.core.store.schema import (
    AtsCursorRow,
    AtsJobRow,
    AtsLinkRow,
    AtsOutboxRow,
    AtsReceiptRow,
    CandidateRow,
    ErasureRow,
    PoolRow,
)

SUBMISSION, WEBHOOK = "submission", "webhook"
# A job pool starts with these; the ATS's own stages are added (before "hired") as seen.
JOB_POOL_STAGES = ("applied", "hired", "rejected")
MAX_STAGE_CHARS = 40
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


# ---------------------------------------------------------------- receipts


def claim_receipt(session: Session, source: str, key: str, kind: str) -> bool:
    """Records that an event arrived; False when it already had (a redelivery). The row is
    written first, in the caller's transaction: a concurrent copy of the same event waits
    on its key and then finds it."""
    result = session.execute(
        dialect_insert(session, AtsReceiptRow)
        .values(
            source=source,
            delivery_key=key[:200],
            kind=kind,
            outcome=EVENT_APPLIED,
            candidate_id="",
            received_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
        .returning(AtsReceiptRow.kind)  # no row on a conflict (rowcount: -1 on psycopg)
    )
    return result.first() is not None


def state_key(event: AtsEvent) -> str:
    """What an event means for its application, whichever way it arrived (a web hook, a
    redelivery with a new body, the pull sync): an application is applied, rejected or
    hired once. Stage changes have none: an application may come back to a stage, and
    putting a member at the stage they are at changes nothing anyway."""
    if event.kind == STAGE_CHANGED or not event.application_id:
        return ""
    return f"state:{event.application_id}:{event.kind}"


def _settle_receipt(session: Session, event: AtsEvent, outcome: str, candidate_id: str) -> None:
    """The outcome on the event's receipt, and on its meaning's when it claimed one."""
    keys = {event.delivery_key[:200]}
    if outcome != EVENT_DUPLICATE and state_key(event):
        keys.add(state_key(event)[:200])
    session.execute(
        update(AtsReceiptRow)
        .where(AtsReceiptRow.source == event.ats, AtsReceiptRow.delivery_key.in_(keys))
        .values(outcome=outcome, candidate_id=candidate_id)
    )


def receipt_outcome(session: Session, source: str, delivery_key: str) -> str | None:
    return session.execute(
        select(AtsReceiptRow.outcome).where(
            AtsReceiptRow.source == source, AtsReceiptRow.delivery_key == delivery_key[:200]
        )
    ).scalar_one_or_none()


# ---------------------------------------------------------------- people


def _emails(person: AtsPerson) -> list[str]:
    out = []
    for raw in person.emails:
        try:
            out.append(validation.normalise_email(raw))
        except ValueError:
            continue  # an address the ATS accepted and we cannot use: not an identity
    return list(dict.fromkeys(out))


def ats_reference(ats: str, ats_candidate_id: str) -> str:
    """The external id a person created from the ATS carries (tombstoned on erasure too)."""
    return f"{ats}:{ats_candidate_id}"


def link(session: Session, ats: str, ats_candidate_id: str, candidate_pk: int) -> None:
    """Remember that the ATS's candidate is this CRM candidate (first link wins)."""
    session.execute(
        dialect_insert(session, AtsLinkRow)
        .values(
            ats=ats,
            ats_candidate_id=ats_candidate_id,
            candidate_pk=candidate_pk,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
    )


def resolve_person(session: Session, ats: str, person: AtsPerson) -> int | None:
    """The CRM candidate pk for an ATS person: by link, by email, else newly created and
    linked. None when the person was erased (nothing is written then)."""
    linked = session.execute(
        select(AtsLinkRow.candidate_pk).where(
            AtsLinkRow.ats == ats, AtsLinkRow.ats_candidate_id == person.ats_candidate_id
        )
    ).scalar_one_or_none()
    if linked is not None:
        return _survivor(session, linked)
    if person.crm_candidate_id:  # someone we submitted: theirs is the record, or none at all
        if session.execute(
            select(ErasureRow.pk).where(ErasureRow.candidate_id == person.crm_candidate_id)
        ).first():
            return None
        try:
            pk = _survivor(session, candidates.pk_for(session, person.crm_candidate_id))
        except NotFound:
            pk = None  # a reference not ours after all (edited in the ATS): go on
        if pk is not None:
            link(session, ats, person.ats_candidate_id, pk)
            return pk
    emails = _emails(person)
    reference = ats_reference(ats, person.ats_candidate_id)
    keys = [(IdentityKind.EMAIL.value, e) for e in emails]
    if tombstones.erased_keys(session, [*keys, (IdentityKind.EXTERNAL_ID.value, reference)]):
        return None
    owners = candidates.identity_owners(session, keys)
    pk = next((owners[k] for k in keys if k in owners), None)
    if pk is None:
        draft = validation.build_draft(
            {
                "first_name": person.first_name,
                "last_name": person.last_name,
                "emails": emails,
                "external_id": reference,
                "source": "ats",
            }
        )
        pk = candidates.create(session, draft).pk
    pk = _survivor(session, pk)
    link(session, ats, person.ats_candidate_id, pk)
    return pk


def _survivor(session: Session, pk: int) -> int:
    """A merged record's survivor (events belong to the record that stays)."""
    merged_into = session.execute(
        select(CandidateRow.merged_into_pk).where(CandidateRow.pk == pk)
    ).scalar_one()
    return merged_into or pk


# ---------------------------------------------------------------- pools


def stage_slug(stage: str) -> str:
    """An ATS stage name as a pool stage: "Phone Screen" -> "phone_screen"."""
    return _NOT_SLUG.sub("_", stage.strip().lower()).strip("_")[:MAX_STAGE_CHARS] or "applied"


def job_pool(session: Session, ats: str, job_id: str, job_name: str) -> PoolRow:
    """The pool mirroring an ATS job, created on first use and named after the job."""
    row = session.execute(
        select(PoolRow)
        .join(AtsJobRow, AtsJobRow.pool_pk == PoolRow.pk)
        .where(AtsJobRow.ats == ats, AtsJobRow.ats_job_id == job_id)
    ).scalar_one_or_none()
    if row is not None:
        return row
    name = (job_name or f"{ats} job {job_id}").strip()[:250]
    description = f"Applicants to {ats} job {job_id}, stages as in the ATS."
    try:
        created = pools.create(session, name, description, JOB_POOL_STAGES)
    except AlreadyExists:  # a pool of that name exists that is not this job's
        created = pools.create(
            session, f"{name} ({ats} job {job_id})", description, JOB_POOL_STAGES
        )
    pool_row = session.execute(select(PoolRow).where(PoolRow.id == created.id)).scalar_one()
    session.add(AtsJobRow(ats=ats, ats_job_id=job_id, name=job_name[:300], pool_pk=pool_row.pk))
    session.flush()
    return pool_row


def _with_stage(session: Session, pool: PoolRow, stage: str) -> None:
    """Adds an ATS stage to a job pool's stages (before the final ones) when new."""
    if stage in pool.stages:
        return
    stages = list(pool.stages)
    finals = [s for s in stages if s in (HIRED, REJECTED)]
    stages = [s for s in stages if s not in finals] + [stage] + finals
    session.execute(update(PoolRow).where(PoolRow.pk == pool.pk).values(stages=stages))
    session.refresh(pool)


def nurture_pool(session: Session, name: str) -> PoolRow:
    row = session.execute(select(PoolRow).where(PoolRow.name == name)).scalar_one_or_none()
    if row is None:
        created = pools.create(session, name, "Rejected applicants kept warm for later roles.")
        row = session.execute(select(PoolRow).where(PoolRow.id == created.id)).scalar_one()
    return row


def _candidate_id(session: Session, pk: int) -> str:
    return session.execute(select(CandidateRow.id).where(CandidateRow.pk == pk)).scalar_one()


# ---------------------------------------------------------------- inbound events


@dataclass(frozen=True)
class Applied:
    """What `apply_event` did, for the caller's follow-ups (outgoing web hooks)."""

    outcome: EventOutcome
    returned_to_nurture: bool = False


def apply_event(session: Session, event: AtsEvent, nurture_pool_name: str) -> Applied:
    """Applies one inbound event in the caller's transaction: receipt, person, timeline,
    the job pool's stage and, on rejection, the nurture pool."""
    if not claim_receipt(session, event.ats, event.delivery_key, event.kind):
        return Applied(EventOutcome(EVENT_DUPLICATE))
    meaning = state_key(event)
    if meaning and not claim_receipt(session, event.ats, meaning, event.kind):
        _settle_receipt(session, event, EVENT_DUPLICATE, "")
        return Applied(EventOutcome(EVENT_DUPLICATE))
    pk = resolve_person(session, event.ats, event.person)
    if pk is None:
        _settle_receipt(session, event, EVENT_REFUSED, "")
        audit.record(
            session,
            "ats.event.refused",
            [""],
            target_type="ats_event",
            details={"ats": event.ats, "kind": event.kind, "reason": "erased"},
        )
        return Applied(EventOutcome(EVENT_REFUSED))
    candidate_id = _candidate_id(session, pk)
    details = {
        "ats": event.ats,
        "application_id": event.application_id,
        "job_id": event.job_id,
        "job": event.job_name,
    }
    touched: list[str] = []
    returned = False
    pool = job_pool(session, event.ats, event.job_id, event.job_name) if event.job_id else None
    if event.kind == APPLIED:
        timeline.add(
            session,
            candidate_id,
            APPLIED,
            occurred_at=event.occurred_at,
            channel="ats",
            payload=details,
        )
        if pool is not None:
            _move(session, pool, candidate_id, pk, "applied", touched, only_if_absent=True)
    elif event.kind == STAGE_CHANGED and pool is not None:
        stage = stage_slug(event.stage)
        _with_stage(session, pool, stage)
        _move(session, pool, candidate_id, pk, stage, touched)  # appends "stage_changed"
    elif event.kind == REJECTED:
        timeline.add(
            session,
            candidate_id,
            REJECTED,
            occurred_at=event.occurred_at,
            channel="ats",
            payload=details | {"reason": event.reason},
        )
        if pool is not None:
            _move(session, pool, candidate_id, pk, REJECTED, touched)
        nurture = nurture_pool(session, nurture_pool_name)
        before = len(touched)
        _move(session, nurture, candidate_id, pk, nurture.stages[0], touched, only_if_absent=True)
        returned = len(touched) > before
    elif event.kind == HIRED:
        timeline.add(
            session,
            candidate_id,
            HIRED,
            occurred_at=event.occurred_at,
            channel="ats",
            payload=details,
        )
        if pool is not None:
            _move(session, pool, candidate_id, pk, HIRED, touched)
    _settle_receipt(session, event, EVENT_APPLIED, candidate_id)
    return Applied(EventOutcome(EVENT_APPLIED, candidate_id, tuple(touched)), returned)


def _move(
    session: Session,
    pool: PoolRow,
    candidate_id: str,
    candidate_pk: int,
    stage: str,
    touched: list[str],
    *,
    only_if_absent: bool = False,
) -> None:
    """Puts the person at `stage` of `pool` (a "stage_changed" timeline event when it
    changes anything); `only_if_absent` leaves a member where they are."""
    if only_if_absent and pools.is_member_of_any(session, candidate_pk, [pool.id]):
        return
    added, moved, _ = pools.add_members(session, pool.id, [candidate_id], stage)
    if added or moved:
        touched.append(pool.id)


# ---------------------------------------------------------------- outbox


def _submission(row: AtsOutboxRow, candidate_id: str) -> Submission:
    return Submission(
        id=row.id,
        candidate_id=candidate_id,
        ats=row.ats,
        ats_job_id=row.ats_job_id,
        status=row.status,
        attempts=row.attempts,
        ats_candidate_id=row.ats_candidate_id,
        ats_application_id=row.ats_application_id,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        next_attempt_at=row.next_attempt_at if row.status == PENDING else None,
    )


def submission_key(candidate_id: str, ats: str, job_id: str, idempotency_key: str) -> str:
    if idempotency_key:
        return f"submission:key:{idempotency_key}"
    return f"submission:{ats}:{job_id}:{candidate_id}"


def enqueue(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    candidate_pk: int,
    ats: str = "",
    ats_job_id: str = "",
    payload: dict | None = None,
) -> tuple[AtsOutboxRow, bool]:
    """Queues a delivery, due now; returns (row, created). A row with the same dedupe key
    is returned as it is (a retried request)."""
    now = datetime.now(UTC)
    inserted = session.execute(
        dialect_insert(session, AtsOutboxRow)
        .values(
            id=uuid7(),
            kind=kind,
            dedupe_key=dedupe_key[:300],
            candidate_pk=candidate_pk,
            ats=ats,
            ats_job_id=ats_job_id,
            payload=payload or {},
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            last_error="",
            ats_candidate_id="",
            ats_application_id="",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
        .returning(AtsOutboxRow.pk)  # no row on a conflict
    ).first()
    row = session.execute(
        select(AtsOutboxRow).where(AtsOutboxRow.dedupe_key == dedupe_key[:300])
    ).scalar_one()
    return row, inserted is not None


def submit(
    session: Session, candidate_id: str, ats: str, job_id: str, idempotency_key: str = ""
) -> tuple[Submission, bool]:
    """Queues (or finds) the submission of a candidate to an ATS job; FAILED_PRECONDITION
    for a person erased at their request (their id is gone, the erasure is kept)."""
    try:
        pk = candidates.pk_for(session, candidate_id)
    except NotFound:
        erased = session.execute(
            select(ErasureRow.pk).where(ErasureRow.candidate_id == candidate_id)
        ).first()
        if erased:
            raise PreconditionFailed(f"candidate {candidate_id} was {ERASED_MESSAGE}") from None
        raise
    pk = _survivor(session, pk)
    candidate_id = _candidate_id(session, pk)
    row, created = enqueue(
        session,
        kind=SUBMISSION,
        dedupe_key=submission_key(candidate_id, ats, job_id, idempotency_key),
        candidate_pk=pk,
        ats=ats,
        ats_job_id=job_id,
    )
    if created:
        audit.record(
            session,
            "ats.submission.create",
            [candidate_id],
            details={"submission_id": row.id, "ats": ats, "job_id": job_id},
        )
    return _submission(row, _candidate_id(session, row.candidate_pk)), created


def get_submission(session: Session, submission_id: str) -> Submission:
    row = session.execute(
        select(AtsOutboxRow).where(
            AtsOutboxRow.id == submission_id, AtsOutboxRow.kind == SUBMISSION
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("submission", submission_id)
    return _submission(row, _candidate_id(session, row.candidate_pk))


def list_submissions(
    session: Session, size: int, token: str, *, candidate_id: str = "", status: str = ""
) -> Page:
    """Newest first; the token is the last row's key."""
    size = paging.page_size(size)
    stmt = select(AtsOutboxRow, CandidateRow.id).join(
        CandidateRow, CandidateRow.pk == AtsOutboxRow.candidate_pk
    )
    stmt = stmt.where(AtsOutboxRow.kind == SUBMISSION)
    if candidate_id:
        stmt = stmt.where(CandidateRow.id == candidate_id)
    if status:
        stmt = stmt.where(AtsOutboxRow.status == status)
    after = paging.decode(token)
    if after:
        stmt = stmt.where(AtsOutboxRow.pk < after)
    rows = session.execute(stmt.order_by(AtsOutboxRow.pk.desc()).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return Page(
        [_submission(r, cid) for r, cid in rows], paging.encode(rows[-1][0].pk) if more else ""
    )


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row, with what delivering it needs (contacts only for a
    submission: the ATS gets the person's name and addresses)."""

    pk: int
    id: str
    kind: str
    attempts: int  # including this one
    ats: str
    ats_job_id: str
    payload: dict
    created_at: datetime
    candidate: Candidate


def claim_due(session: Session, now: datetime, lease_s: float, limit: int) -> list[Delivery]:
    """Claims due deliveries: each is pushed `lease_s` into the future and its attempt
    counted, so another worker does not take it meanwhile (and a worker that died
    mid-delivery has it retried when the lease runs out)."""
    rows = (
        session.execute(
            select(AtsOutboxRow)
            .where(AtsOutboxRow.status == PENDING, AtsOutboxRow.next_attempt_at <= now)
            .order_by(AtsOutboxRow.next_attempt_at, AtsOutboxRow.pk)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    out = []
    for row in rows:
        claimed = session.execute(
            update(AtsOutboxRow)
            .where(
                AtsOutboxRow.pk == row.pk,
                AtsOutboxRow.status == PENDING,
                AtsOutboxRow.attempts == row.attempts,
            )
            .values(
                attempts=row.attempts + 1,
                next_attempt_at=now + timedelta(seconds=lease_s),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        person = candidates.load_many(session, [row.candidate_pk])[0]
        out.append(
            Delivery(
                row.pk,
                row.id,
                row.kind,
                row.attempts + 1,
                row.ats,
                row.ats_job_id,
                dict(row.payload or {}),
                row.created_at,
                person,
            )
        )
    return out


def record_delivered(
    session: Session, delivery: Delivery, ats_candidate_id: str = "", ats_application_id: str = ""
) -> None:
    now = datetime.now(UTC)
    session.execute(
        update(AtsOutboxRow)
        .where(AtsOutboxRow.pk == delivery.pk)
        .values(
            status=DELIVERED,
            next_attempt_at=None,
            last_error="",
            ats_candidate_id=ats_candidate_id,
            ats_application_id=ats_application_id,
            updated_at=now,
        )
    )
    if delivery.kind != SUBMISSION:
        return
    link(session, delivery.ats, ats_candidate_id, delivery.candidate.pk)
    timeline.add(
        session,
        delivery.candidate.id,
        "note",
        channel="ats",
        payload={
            "text": f"submitted to {delivery.ats} job {delivery.ats_job_id}",
            "submission_id": delivery.id,
            "ats": delivery.ats,
            "job_id": delivery.ats_job_id,
            "application_id": ats_application_id,
        },
    )
    audit.record(
        session,
        "ats.submission.delivered",
        [delivery.candidate.id],
        details={"submission_id": delivery.id, "attempts": delivery.attempts},
    )


def record_failure(
    session: Session, delivery: Delivery, error: str, retry_at: datetime | None
) -> None:
    """A failed attempt: retried at `retry_at`, or failed for good when None."""
    values: dict = {"last_error": error[:2000], "updated_at": datetime.now(UTC)}
    if retry_at is None:
        values |= {"status": FAILED, "next_attempt_at": None}
    else:
        values["next_attempt_at"] = retry_at
    session.execute(update(AtsOutboxRow).where(AtsOutboxRow.pk == delivery.pk).values(**values))
    if retry_at is None and delivery.kind == SUBMISSION:
        audit.record(
            session,
            "ats.submission.failed",
            [delivery.candidate.id],
            details={"submission_id": delivery.id, "attempts": delivery.attempts},
        )


# ---------------------------------------------------------------- pull-sync cursor


def cursor(session: Session, ats: str) -> datetime | None:
    return session.execute(
        select(AtsCursorRow.position).where(AtsCursorRow.ats == ats)
    ).scalar_one_or_none()


def advance_cursor(session: Session, ats: str, position: datetime) -> None:
    """Moves the cursor forward (never back: two syncs may finish out of order)."""
    current = cursor(session, ats)
    if current is None:
        session.add(AtsCursorRow(ats=ats, position=position))
    elif position > current:
        session.execute(
            update(AtsCursorRow).where(AtsCursorRow.ats == ats).values(position=position)
        )


__all__ = [
    "JOB_POOL_STAGES",
    "SUBMISSION",
    "WEBHOOK",
    "Applied",
    "Delivery",
    "advance_cursor",
    "apply_event",
    "ats_reference",
    "claim_due",
    "claim_receipt",
    "cursor",
    "enqueue",
    "get_submission",
    "job_pool",
    "link",
    "list_submissions",
    "nurture_pool",
    "receipt_outcome",
    "record_delivered",
    "record_failure",
    "resolve_person",
    "stage_slug",
    "submission_key",
    "submit",
]
