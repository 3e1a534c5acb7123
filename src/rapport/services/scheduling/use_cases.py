"""SchedulingService use cases: recruiters' calendars, free slots in the candidate's time
zone, bookings with their iCalendar invites. No grpc here.

Feeds are read when a calendar is put (a bad one is refused) and again when a calendar is
used after `calendar_feed_refresh_s`; a feed that fails then keeps serving its last good
copy, logged, and is not tried again within the interval. A booking is checked against
the slot grid, the bookable window and the feed before its transaction; the store then
settles races between bookers (rapport.core.store.scheduling)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from rapport.core import calendar
from rapport.core.authorization import mask_contacts
from rapport.core.calendar import Party, Period, Rules
from rapport.core.config import Settings
from rapport.core.domain import Candidate
from rapport.core.errors import PreconditionFailed, ValidationFailed, Violation
from rapport.core.store import candidates
from rapport.core.store import scheduling as store
from rapport.core.store.db import Database
from rapport.core.validation import normalise_email
from rapport.services.outreach.mail import MailSettings
from rapport.services.scheduling.feeds import FeedReader, FeedUnreadable, check_url
from rapport.services.scheduling.invites import Invite, InviteMailer

log = logging.getLogger(__name__)

DEFAULT_SLOT_MINUTES = 30
DEFAULT_MIN_NOTICE_HOURS = 12
DEFAULT_HORIZON_DAYS = 14
DEFAULT_LIST_DAYS = 7
# (lowest, highest) accepted for each number of a calendar; 0 means the default where one
# is named above, so a notice of 0 hours is not expressible (1 hour is the least).
LIMITS = {
    "slot_minutes": (5, 480),
    "buffer_minutes": (0, 240),
    "min_notice_hours": (0, 24 * 60),
    "horizon_days": (1, 365),
}
MAX_NAME_CHARS = 300
MAX_URL_CHARS = 2000
MAX_NOTE_CHARS = 1000
MAX_REASON_CHARS = 300
# Busy events of neighbouring days can reach into a window through the buffer.
BUSY_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class CalendarInput:
    """PutCalendar as given (unvalidated)."""

    calendar_id: str = ""
    owner_name: str = ""
    owner_email: str = ""
    timezone: str = ""
    feed_url: str = ""
    working_hours: tuple[tuple[int, str, str], ...] = ()
    slot_minutes: int = 0
    buffer_minutes: int = 0
    min_notice_hours: int = 0
    horizon_days: int = 0
    ics: str = ""


@dataclass(frozen=True)
class Slot:
    period: Period
    label: str


@dataclass(frozen=True)
class Slots:
    calendar_id: str
    timezone: str  # the labels'
    slots: list[Slot]


@dataclass(frozen=True)
class BookingView:
    booking: store.StoredBooking
    label: str  # in the booking's time zone
    ics: str  # the invite (REQUEST), or its cancellation (CANCEL)


class SchedulingUseCases:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        feeds: FeedReader | None = None,
        mailer: InviteMailer | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._feeds = feeds or FeedReader(settings)
        self._mailer = mailer
        self._uid_domain = (
            settings.calendar_invite_domain or MailSettings.from_settings(settings).domain
        )
        self._refresh_s = settings.calendar_feed_refresh_s
        self._guard = threading.Lock()
        self._feed_locks: dict[str, threading.Lock] = {}
        self._feed_tried: dict[str, float] = {}  # calendar id -> monotonic time of a read
        # calendar id -> (the stored copy's identity, the parsed document)
        self._parsed: dict[str, tuple[tuple, icalendar.Calendar]] = {}

    # ------------------------------------------------------------------ calendars
    def put_calendar(self, given: CalendarInput) -> store.StoredCalendar:
        draft_rules, owner_email, owner_name = self._checked(given)
        now = datetime.now(UTC)
        document, field = given.ics, "ics"
        if given.feed_url:
            field = "calendar.feed_url"
            try:
                document = self._feeds.read(given.feed_url)
            except FeedUnreadable as exc:
                raise ValidationFailed(Violation(field, f"could not be read: {exc}")) from None
        busy_events = 0
        if document:
            horizon = Period(now, now + timedelta(days=draft_rules.horizon_days))
            try:
                parsed = calendar.parse_ics(document, field)
                busy_events = len(calendar.busy_periods(parsed, draft_rules.zone, horizon, field))
            except ValidationFailed:
                if not given.feed_url:
                    raise
                # the parser's reason may quote what the URL returned: a feed URL must not
                # become a way to read other servers' pages through error messages
                raise ValidationFailed(
                    Violation(field, "did not return a readable iCalendar document")
                ) from None
        draft = store.CalendarDraft(
            owner_name=owner_name,
            owner_email=owner_email,
            rules=draft_rules,
            feed_url=given.feed_url,
            ics=document,
            busy_events=busy_events,
            feed_read_at=now,
        )
        with self._db.transaction() as s:
            saved = store.put_calendar(s, given.calendar_id, draft)
        log.info("calendar %s put (%d busy events in its horizon)", saved.id, busy_events)
        return saved

    def _checked(self, given: CalendarInput) -> tuple[Rules, str, str]:
        """The calendar's rules, owner address and name, or every problem at once."""
        problems: list[Violation] = []
        owner_email = ""
        try:
            owner_email = normalise_email(given.owner_email)
        except ValueError as exc:
            problems.append(Violation("calendar.owner_email", str(exc)))
        owner_name = " ".join(given.owner_name.split())
        if len(owner_name) > MAX_NAME_CHARS:
            problems.append(
                Violation("calendar.owner_name", f"at most {MAX_NAME_CHARS} characters")
            )
        zone_name = ""
        try:
            zone_name = calendar.zone(given.timezone, "calendar.timezone").key
        except ValidationFailed as exc:
            problems.extend(exc.violations)
        hours = calendar.DEFAULT_WORKING_HOURS
        try:
            hours = calendar.working_hours(given.working_hours, "calendar.working_hours")
        except ValidationFailed as exc:
            problems.extend(exc.violations)
        defaults = {
            "slot_minutes": DEFAULT_SLOT_MINUTES,
            "min_notice_hours": DEFAULT_MIN_NOTICE_HOURS,
            "horizon_days": DEFAULT_HORIZON_DAYS,
        }
        numbers = {}
        for name, (lowest, highest) in LIMITS.items():
            value = getattr(given, name) or defaults.get(name, 0)
            if not lowest <= value <= highest:
                problems.append(Violation(f"calendar.{name}", f"between {lowest} and {highest}"))
            numbers[name] = value
        if given.feed_url and given.ics:
            problems.append(Violation("ics", "give calendar.feed_url or ics, not both"))
        if given.feed_url:
            reason = check_url(given.feed_url)
            if len(given.feed_url) > MAX_URL_CHARS:
                reason = f"at most {MAX_URL_CHARS} characters"
            if reason:
                problems.append(Violation("calendar.feed_url", reason))
        if len(given.ics.encode("utf-8")) > self._settings.calendar_feed_max_bytes:
            problems.append(
                Violation("ics", f"larger than {self._settings.calendar_feed_max_bytes} bytes")
            )
        if problems:
            raise ValidationFailed(problems)
        return Rules(zone_name, hours, **numbers), owner_email, owner_name

    def list_calendars(self) -> list[store.StoredCalendar]:
        with self._db.read() as s:
            return store.list_calendars(s)

    # ------------------------------------------------------------------ slots
    def list_slots(
        self,
        calendar_id: str,
        *,
        candidate_id: str = "",
        timezone: str = "",
        start: datetime | None = None,
        days: int = 0,
    ) -> Slots:
        if not calendar_id:
            raise ValidationFailed(Violation("calendar_id", "required"))
        labels = calendar.zone(timezone, "timezone") if timezone else None
        with self._db.read() as s:
            cal = store.get_calendar(s, calendar_id)
            candidate_zone = store.bookable_candidate(s, candidate_id)[1] if candidate_id else ""
        days = days or min(DEFAULT_LIST_DAYS, cal.rules.horizon_days)
        if not 1 <= days <= cal.rules.horizon_days:
            raise ValidationFailed(
                Violation("days", f"between 1 and the calendar's horizon, {cal.rules.horizon_days}")
            )
        tz = labels or _zone_or(candidate_zone, cal.rules.zone)
        now = datetime.now(UTC)
        window = Period(start or now, (start or now) + timedelta(days=days))
        around = window.widened(BUSY_MARGIN)
        busy = self._busy(cal, around)
        with self._db.read() as s:
            booked = store.booked_periods(s, cal.pk, around)
        free = calendar.free_slots(cal.rules, busy, booked, now=now, window=window)
        return Slots(cal.id, tz.key, [Slot(p, calendar.label(p, tz)) for p in free])

    # ------------------------------------------------------------------ bookings
    def book(
        self,
        calendar_id: str,
        candidate_id: str,
        start: datetime | None,
        *,
        timezone: str = "",
        note: str = "",
    ) -> BookingView:
        problems = [
            Violation(name, "required")
            for name, value in (
                ("calendar_id", calendar_id),
                ("candidate_id", candidate_id),
                ("start", start),
            )
            if not value
        ]
        note = note.strip()
        if len(note) > MAX_NOTE_CHARS:
            problems.append(Violation("note", f"at most {MAX_NOTE_CHARS} characters"))
        labels = None
        if timezone:
            try:
                labels = calendar.zone(timezone, "timezone")
            except ValidationFailed as exc:
                problems.extend(exc.violations)
        if problems:
            raise ValidationFailed(problems)
        with self._db.read() as s:
            cal = store.get_calendar(s, calendar_id)
            candidate_zone = store.bookable_candidate(s, candidate_id)[1]
        tz = labels or _zone_or(candidate_zone, cal.rules.zone)
        start = start.astimezone(UTC)
        rules = cal.rules
        if not calendar.on_grid(rules, start):
            raise ValidationFailed(
                Violation(
                    "start", "not the start of a slot of this calendar: use one ListSlots gave"
                )
            )
        period = Period(start, start + rules.slot)
        now = datetime.now(UTC)
        bookable = rules.bookable(now)
        if not bookable.start <= start < bookable.end:
            raise PreconditionFailed(
                f"the slot is outside the bookable window: at least {rules.min_notice_hours} "
                f"hours ahead and within {rules.horizon_days} days"
            )
        buffer = timedelta(minutes=rules.buffer_minutes)
        nearby = self._busy(cal, period.widened(BUSY_MARGIN))
        if any(b.widened(buffer).overlaps(period) for b in nearby):
            raise PreconditionFailed("the slot is no longer free in the recruiter's calendar")
        with self._db.transaction() as s:
            booking = store.book(
                s, cal.id, candidate_id, period, timezone=tz.key, note=note, buffer=buffer
            )
            view, invite = self._view(s, booking, cal)
        log.info("booking %s on calendar %s", booking.id, cal.id)
        self._mail(invite, booking.id)
        return view

    def cancel(self, booking_id: str, reason: str = "") -> BookingView:
        reason = reason.strip()
        problems = [] if booking_id else [Violation("booking_id", "required")]
        if len(reason) > MAX_REASON_CHARS:
            problems.append(Violation("reason", f"at most {MAX_REASON_CHARS} characters"))
        if problems:
            raise ValidationFailed(problems)
        with self._db.transaction() as s:
            booking, changed = store.cancel(s, booking_id, reason)
            view, invite = self._view(s, booking, store.get_calendar(s, booking.calendar_id))
        if changed:
            log.info("booking %s cancelled", booking.id)
            self._mail(invite, booking.id)
        return view

    def list_bookings(
        self, *, calendar_id: str = "", candidate_id: str = "", include_cancelled: bool = False
    ) -> list[BookingView]:
        with self._db.read() as s:
            if calendar_id:
                store.get_calendar(s, calendar_id)  # NotFound for an unknown one
            if candidate_id:
                candidates.pk_for(s, candidate_id)
            bookings = store.list_bookings(
                s,
                calendar_id=calendar_id,
                candidate_id=candidate_id,
                include_cancelled=include_cancelled,
            )
            calendars = {c.id: c for c in store.list_calendars(s)} if bookings else {}
            people = {
                c.pk: c for c in candidates.load_many(s, sorted({b.candidate_pk for b in bookings}))
            }
        # the invites name each person and their address: a read of personal data
        self._db.read_audit.note("scheduling.bookings_read", [p.id for p in people.values()])
        return [
            self._render(b, calendars[b.calendar_id], people[b.candidate_pk])[0] for b in bookings
        ]

    def _view(
        self, session, booking: store.StoredBooking, cal: store.StoredCalendar
    ) -> tuple[BookingView, Invite]:
        person = candidates.load_many(session, [booking.candidate_pk])[0]
        return self._render(booking, cal, person)

    def _render(
        self, booking: store.StoredBooking, cal: store.StoredCalendar, person: Candidate
    ) -> tuple[BookingView, Invite]:
        """The booking as the caller sees it, and the invite mailed for it."""
        person = mask_contacts(person)
        tz = ZoneInfo(booking.timezone)
        when = calendar.label(booking.period, tz)
        recruiter = Party(cal.owner_name or cal.owner_email, cal.owner_email)
        name = f"{person.first_name} {person.last_name}".strip() or "Candidate"
        attendee = Party(name, person.emails[0] if person.emails else "")
        cancelled = booking.status == store.CANCELLED
        summary = f"Call: {recruiter.name} and {attendee.name}"
        description = f"{when} ({tz.key}), booked through Rapport."
        if booking.note:
            description += f"\n\nTopic: {booking.note}"
        ics = calendar.invite(
            uid=f"{booking.id}@{self._uid_domain}",
            period=booking.period,
            organizer=recruiter,
            attendee=attendee,
            summary=summary,
            description=description,
            stamp=booking.cancelled_at or booking.created_at,
            cancelled=cancelled,
        )
        invite = Invite(
            recipients=tuple(p.email for p in (recruiter, attendee) if p.email),
            subject=("Cancelled: " if cancelled else "Invitation: ") + f"{summary}, {when}",
            body=description + ("\n\nThis call was cancelled." if cancelled else ""),
            ics=ics,
            method="CANCEL" if cancelled else "REQUEST",
        )
        return BookingView(booking, when, ics), invite

    def _mail(self, invite: Invite, booking_id: str) -> None:
        if self._mailer is not None and invite.recipients:
            self._mailer.send(invite, booking_id)

    # ------------------------------------------------------------------ feeds
    def _busy(self, cal: store.StoredCalendar, window: Period) -> list[Period]:
        cal = self._fresh(cal)
        if not cal.ics:
            return []
        identity = (cal.updated_at, cal.feed_read_at)
        cached = self._parsed.get(cal.id)
        if cached is None or cached[0] != identity:
            cached = (identity, calendar.parse_ics(cal.ics))
            self._parsed[cal.id] = cached
        return calendar.busy_periods(cached[1], cal.rules.zone, window)

    def _fresh(self, cal: store.StoredCalendar) -> store.StoredCalendar:
        """`cal` with its feed read again when the stored copy is older than the refresh
        interval; the stored copy when reading fails (logged, retried next interval)."""
        if not cal.feed_url or not self._stale(cal.feed_read_at):
            return cal
        with self._guard:
            lock = self._feed_locks.setdefault(cal.id, threading.Lock())
        with lock:
            tried = self._feed_tried.get(cal.id)
            if tried is not None and time.monotonic() - tried < self._refresh_s:
                return cal  # another caller just read it (or failed to)
            self._feed_tried[cal.id] = time.monotonic()
            now = datetime.now(UTC)
            try:
                document = self._feeds.read(cal.feed_url)
                parsed = calendar.parse_ics(document, "feed")
                horizon = Period(now, now + timedelta(days=cal.rules.horizon_days))
                busy_events = len(calendar.busy_periods(parsed, cal.rules.zone, horizon, "feed"))
            except (FeedUnreadable, ValidationFailed) as exc:
                log.warning(
                    "calendar %s: feed refresh failed (%s); serving the copy read at %s",
                    cal.id,
                    exc,
                    cal.feed_read_at.isoformat() if cal.feed_read_at else "never",
                )
                return cal
            with self._db.transaction() as s:
                kept = store.record_feed_read(s, cal.id, cal.feed_url, document, busy_events, now)
            if not kept:  # re-pointed meanwhile: the next use reads the new one
                return cal
            fresh = dataclasses.replace(
                cal, ics=document, busy_events=busy_events, feed_read_at=now
            )
            self._parsed[cal.id] = ((fresh.updated_at, fresh.feed_read_at), parsed)
            return fresh

    def _stale(self, read_at: datetime | None) -> bool:
        return read_at is None or datetime.now(UTC) - read_at >= timedelta(seconds=self._refresh_s)

    def close(self) -> None:
        self._feeds.close()
        if self._mailer is not None:
            self._mailer.close()


def _zone_or(name: str, fallback: ZoneInfo) -> ZoneInfo:
    """The zone `name` when it is a valid one, else `fallback`."""
    try:
        return calendar.zone(name, "timezone") if name else fallback
    except ValidationFailed:
        return fallback


__all__ = ["BookingView", "CalendarInput", "SchedulingUseCases", "Slot", "Slots"]
