"""Recruiters' calendars and the calls candidates book on them (issue 9).

A slot is never booked twice: a booking locks its calendar row (PostgreSQL; SQLite writers
are serialised already), refuses a call overlapping another active one of that calendar,
and the partial unique index on (calendar, start) over active bookings settles whatever
gets past that. A booking and its cancellation append a timeline event on the candidate
(ids and times only) and an audit row, in the same transaction as the booking itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rapport.core.calendar import Period, Rules, WorkingHours, parse_clock
from rapport.core.errors import AlreadyExists, NotFound, PreconditionFailed
from rapport.core.ids import uuid7
from rapport.core.store import audit, candidates, timeline
from rapport.core.store.schema import BookingRow, CalendarRow, CandidateRow

BOOKED = "booked"
CANCELLED = "cancelled"
CALENDARS = CalendarRow.__table__
BOOKINGS = BookingRow.__table__


@dataclass(frozen=True)
class StoredCalendar:
    id: str
    pk: int
    owner_name: str
    owner_email: str
    rules: Rules
    feed_url: str
    ics: str  # the inline document, or the feed's last good copy
    busy_events: int
    feed_read_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CalendarDraft:
    """What PutCalendar writes (validated by the caller)."""

    owner_name: str
    owner_email: str
    rules: Rules
    feed_url: str
    ics: str
    busy_events: int
    feed_read_at: datetime


@dataclass(frozen=True)
class StoredBooking:
    id: str
    calendar_id: str
    candidate_id: str
    candidate_pk: int
    period: Period
    timezone: str
    status: str
    note: str
    cancel_reason: str
    created_at: datetime
    cancelled_at: datetime | None


# ---------------------------------------------------------------- calendars


def _hours_json(rules: Rules) -> list:
    return [[h.weekday, f"{h.start:%H:%M}", f"{h.end:%H:%M}"] for h in rules.working_hours]


def _calendar(row) -> StoredCalendar:
    hours = tuple(
        WorkingHours(day, parse_clock(start, "working_hours"), parse_clock(end, "working_hours"))
        for day, start, end in row.working_hours
    )
    return StoredCalendar(
        id=row.id,
        pk=row.pk,
        owner_name=row.owner_name,
        owner_email=row.owner_email,
        rules=Rules(
            timezone=row.timezone,
            working_hours=hours,
            slot_minutes=row.slot_minutes,
            buffer_minutes=row.buffer_minutes,
            min_notice_hours=row.min_notice_hours,
            horizon_days=row.horizon_days,
        ),
        feed_url=row.feed_url,
        ics=row.ics,
        busy_events=row.busy_events,
        feed_read_at=row.feed_read_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_calendar(session: Session, calendar_id: str, *, lock: bool = False) -> StoredCalendar:
    stmt = select(CALENDARS).where(CALENDARS.c.id == calendar_id)
    if lock and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise NotFound("calendar", calendar_id)
    return _calendar(row)


def list_calendars(session: Session) -> list[StoredCalendar]:
    rows = session.execute(select(CALENDARS).order_by(CALENDARS.c.owner_email)).all()
    return [_calendar(r) for r in rows]


def put_calendar(session: Session, calendar_id: str, draft: CalendarDraft) -> StoredCalendar:
    """Replace calendar `calendar_id` (NotFound if there is none), or with no id the
    calendar of `draft.owner_email` (one per owner), creating it when there is none."""
    holder = session.execute(
        select(CALENDARS.c.id).where(CALENDARS.c.owner_email == draft.owner_email)
    ).scalar_one_or_none()
    if calendar_id:
        get_calendar(session, calendar_id, lock=True)
        if holder not in (None, calendar_id):
            raise AlreadyExists(f"{draft.owner_email} already owns calendar {holder}")
    now = datetime.now(UTC)
    values = {
        "owner_name": draft.owner_name,
        "owner_email": draft.owner_email,
        "timezone": draft.rules.timezone,
        "feed_url": draft.feed_url,
        "ics": draft.ics,
        "working_hours": _hours_json(draft.rules),
        "slot_minutes": draft.rules.slot_minutes,
        "buffer_minutes": draft.rules.buffer_minutes,
        "min_notice_hours": draft.rules.min_notice_hours,
        "horizon_days": draft.rules.horizon_days,
        "busy_events": draft.busy_events,
        "feed_read_at": draft.feed_read_at,
        "updated_at": now,
    }
    target = calendar_id or holder
    try:
        if target:
            session.execute(update(CALENDARS).where(CALENDARS.c.id == target).values(**values))
            action = "scheduling.calendar.replaced"
        else:
            target = uuid7()
            session.execute(insert(CALENDARS).values(id=target, created_at=now, **values))
            action = "scheduling.calendar.created"
    except IntegrityError:  # the same owner's calendar created meanwhile
        raise AlreadyExists(f"{draft.owner_email} already owns a calendar") from None
    audit.record(
        session,
        action,
        [target],
        target_type="calendar",
        details={"feed": bool(draft.feed_url), "busy_events": draft.busy_events},
    )
    return get_calendar(session, target)


def record_feed_read(
    session: Session, calendar_id: str, feed_url: str, ics: str, busy_events: int, at: datetime
) -> bool:
    """Keep a freshly read copy of a calendar's feed, unless the calendar was pointed
    elsewhere meanwhile. Returns whether it was kept."""
    result = session.execute(
        update(CALENDARS)
        .where(CALENDARS.c.id == calendar_id, CALENDARS.c.feed_url == feed_url)
        .values(ics=ics, busy_events=busy_events, feed_read_at=at)
    )
    return result.rowcount == 1


# ---------------------------------------------------------------- bookings


def _booking(row) -> StoredBooking:
    return StoredBooking(
        id=row.id,
        calendar_id=row.calendar_id,
        candidate_id=row.candidate_id,
        candidate_pk=row.candidate_pk,
        period=Period(row.starts_at, row.ends_at),
        timezone=row.timezone,
        status=row.status,
        note=row.note,
        cancel_reason=row.cancel_reason,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
    )


def _bookings_query():
    return (
        select(
            BOOKINGS,
            CALENDARS.c.id.label("calendar_id"),
            CandidateRow.id.label("candidate_id"),
        )
        .join(CALENDARS, CALENDARS.c.pk == BOOKINGS.c.calendar_pk)
        .join(CandidateRow, CandidateRow.pk == BOOKINGS.c.candidate_pk)
    )


def booked_periods(session: Session, calendar_pk: int, window: Period) -> list[Period]:
    """The active bookings of a calendar that meet `window`."""
    rows = session.execute(
        select(BOOKINGS.c.starts_at, BOOKINGS.c.ends_at).where(
            BOOKINGS.c.calendar_pk == calendar_pk,
            BOOKINGS.c.status == BOOKED,
            BOOKINGS.c.starts_at < window.end,
            BOOKINGS.c.ends_at > window.start,
        )
    ).all()
    return [Period(start, end) for start, end in rows]


def bookable_candidate(session: Session, candidate_id: str) -> tuple[int, str]:
    """(pk, time zone) of the candidate a call may be booked for: NotFound when unknown
    (or erased), refused when merged into another record (book for the survivor)."""
    pk = candidates.pk_for(session, candidate_id)
    row = session.execute(
        select(CandidateRow.status, CandidateRow.merged_into_pk, CandidateRow.timezone).where(
            CandidateRow.pk == pk
        )
    ).one()
    if row.status != candidates.ACTIVE:
        survivor = session.execute(
            select(CandidateRow.id).where(CandidateRow.pk == row.merged_into_pk)
        ).scalar_one_or_none()
        raise PreconditionFailed(
            f"candidate {candidate_id} was merged into {survivor or 'another record'}: "
            "book for the surviving record"
        )
    return pk, row.timezone


def book(
    session: Session,
    calendar_id: str,
    candidate_id: str,
    period: Period,
    *,
    timezone: str,
    note: str,
    buffer: timedelta,
) -> StoredBooking:
    """Book `period` on a calendar for a candidate. AlreadyExists when another active
    booking of the calendar holds it or comes within `buffer` of it."""
    candidate_pk, _ = bookable_candidate(session, candidate_id)
    calendar = get_calendar(session, calendar_id, lock=True)  # bookers of it queue here
    clash = session.execute(
        select(BOOKINGS.c.starts_at).where(
            BOOKINGS.c.calendar_pk == calendar.pk,
            BOOKINGS.c.status == BOOKED,
            BOOKINGS.c.starts_at < period.end + buffer,
            BOOKINGS.c.ends_at > period.start - buffer,
        )
    ).first()
    if clash is not None:
        raise AlreadyExists(f"the slot at {period.start.isoformat()} is already taken")
    now = datetime.now(UTC)
    booking_id = uuid7()
    try:
        session.execute(
            insert(BOOKINGS).values(
                id=booking_id,
                calendar_pk=calendar.pk,
                candidate_pk=candidate_pk,
                starts_at=period.start,
                ends_at=period.end,
                timezone=timezone,
                status=BOOKED,
                note=note,
                cancel_reason="",
                created_at=now,
            )
        )
    except IntegrityError:  # a concurrent booker of the same start committed first
        raise AlreadyExists(f"the slot at {period.start.isoformat()} is already taken") from None
    _record(session, "call_booked", booking_id, calendar.id, candidate_id, period)
    return get_booking(session, booking_id)


def get_booking(session: Session, booking_id: str) -> StoredBooking:
    row = session.execute(_bookings_query().where(BOOKINGS.c.id == booking_id)).one_or_none()
    if row is None:
        raise NotFound("booking", booking_id)
    return _booking(row)


def cancel(session: Session, booking_id: str, reason: str) -> tuple[StoredBooking, bool]:
    """Cancel a booking and free its slot; whether this call cancelled it. Cancelling a
    cancelled booking changes nothing (a retried request gets the same answer)."""
    current = get_booking(session, booking_id)
    if current.status == CANCELLED:
        return current, False
    result = session.execute(
        update(BOOKINGS)
        .where(BOOKINGS.c.id == booking_id, BOOKINGS.c.status == BOOKED)
        .values(status=CANCELLED, cancel_reason=reason, cancelled_at=datetime.now(UTC))
    )
    changed = result.rowcount == 1  # else a concurrent cancel did it, and wrote the event
    if changed:
        _record(
            session,
            "call_cancelled",
            booking_id,
            current.calendar_id,
            current.candidate_id,
            current.period,
        )
    return get_booking(session, booking_id), changed


def list_bookings(
    session: Session, *, calendar_id: str = "", candidate_id: str = "", include_cancelled: bool
) -> list[StoredBooking]:
    stmt = _bookings_query()
    if calendar_id:
        stmt = stmt.where(CALENDARS.c.id == calendar_id)
    if candidate_id:
        stmt = stmt.where(CandidateRow.id == candidate_id)
    if not include_cancelled:
        stmt = stmt.where(BOOKINGS.c.status == BOOKED)
    rows = session.execute(stmt.order_by(BOOKINGS.c.starts_at, BOOKINGS.c.pk)).all()
    return [_booking(r) for r in rows]


def _record(
    session: Session,
    kind: str,
    booking_id: str,
    calendar_id: str,
    candidate_id: str,
    period: Period,
) -> None:
    """The candidate's timeline event (which also feeds the change feed) and the audit row
    of a booking or cancellation: ids and times, never the note or anyone's details."""
    payload = {
        "booking_id": booking_id,
        "calendar_id": calendar_id,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    timeline.add(session, candidate_id, kind, payload=payload)
    audit.record(
        session,
        f"scheduling.{kind}",
        [booking_id],
        target_type="booking",
        details={"calendar_id": calendar_id, "candidate_id": candidate_id},
    )


__all__ = [
    "BOOKED",
    "CANCELLED",
    "CalendarDraft",
    "StoredBooking",
    "StoredCalendar",
    "book",
    "bookable_candidate",
    "booked_periods",
    "cancel",
    "get_booking",
    "get_calendar",
    "list_bookings",
    "list_calendars",
    "put_calendar",
    "record_feed_read",
]
