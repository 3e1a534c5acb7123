"""Availability maths for calls candidates book themselves (issue 9). Pure: no I/O.

A recruiter's free slots are their working hours (per ISO weekday, wall-clock times in
their IANA time zone, so a DST change moves the UTC times and not the local ones), cut
into slots of a fixed length, minus the busy periods of their iCalendar feed and the calls
already booked (each widened by a buffer), within a bookable window (a minimum notice and
a horizon). Feeds are parsed with `icalendar` and recurring events expanded with
`recurring_ical_events` (RRULE, RDATE, EXDATE, moved occurrences). The invite for a booking
is an iCalendar REQUEST (RFC 5546) built the same way, and a CANCEL when it is called off.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from rapport.core.errors import ValidationFailed, Violation
from rapport.core.validation import normalise_timezone

# Busy periods read from one feed within one window: past this the feed is refused rather
# than expanded further (a FREQ=SECONDLY rule would otherwise make millions).
MAX_BUSY_PERIODS = 20_000
# `recurring_ical_events` orders floating and all-day occurrences as if they were UTC: read
# this much either side of a window so that none in the owner's zone is missed.
ORDER_SLACK = timedelta(days=1)
PRODID = "-//Rapport//Scheduling//EN"
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})\Z")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# What a malformed document raises somewhere in parsing or expansion: icalendar's and
# recurring_ical_events' errors are ValueErrors; a missing DTSTART surfaces as a KeyError.
_ICS_ERRORS = (ValueError, KeyError, TypeError, IndexError, AttributeError)


@dataclass(frozen=True)
class WorkingHours:
    weekday: int  # ISO: 1 Monday .. 7 Sunday
    start: time
    end: time


DEFAULT_WORKING_HOURS = tuple(WorkingHours(day, time(9), time(17)) for day in range(1, 6))


@dataclass(frozen=True, order=True)
class Period:
    """[start, end) in aware UTC datetimes."""

    start: datetime
    end: datetime

    def widened(self, by: timedelta) -> Period:
        return Period(self.start - by, self.end + by)

    def overlaps(self, other: Period) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Rules:
    """When a calendar's owner takes calls."""

    timezone: str
    working_hours: tuple[WorkingHours, ...] = DEFAULT_WORKING_HOURS
    slot_minutes: int = 30
    buffer_minutes: int = 0
    min_notice_hours: int = 12
    horizon_days: int = 14

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def bookable(self, now: datetime) -> Period:
        """Where slots may start: after the notice, before the horizon."""
        return Period(
            now + timedelta(hours=self.min_notice_hours), now + timedelta(days=self.horizon_days)
        )


# ---------------------------------------------------------------- parsing rules


def zone(name: str, field: str) -> ZoneInfo:
    """The IANA zone `name` (any case), or a validation error naming `field`."""
    try:
        return ZoneInfo(normalise_timezone(name))
    except ValueError as exc:
        raise ValidationFailed(Violation(field, str(exc))) from None


def parse_clock(text: str, field: str) -> time:
    """A wall-clock time given as "HH:MM" ("24:00" is not one: end a day at "23:59")."""
    match = _CLOCK.match(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationFailed(Violation(field, f"{text!r} is not a time of day as HH:MM"))
    return time(int(match[1]), int(match[2]))


def working_hours(
    items: Iterable[tuple[int, str, str]], field: str = "working_hours"
) -> tuple[WorkingHours, ...]:
    """(weekday, "HH:MM", "HH:MM") triples as WorkingHours, sorted; none: Monday to Friday
    09:00-17:00. Each interval must start before it ends and not overlap another that day."""
    parsed: list[WorkingHours] = []
    problems: list[Violation] = []
    for i, (weekday, start, end) in enumerate(items):
        where = f"{field}[{i}]"
        if not 1 <= weekday <= 7:
            problems.append(Violation(f"{where}.weekday", "ISO weekday: 1 Monday .. 7 Sunday"))
            continue
        try:
            opens = parse_clock(start, f"{where}.start")
            closes = parse_clock(end, f"{where}.end")
        except ValidationFailed as exc:
            problems.extend(exc.violations)
            continue
        if opens >= closes:
            problems.append(Violation(f"{where}.end", "must be after start"))
            continue
        if any(
            other.weekday == weekday and opens < other.end and other.start < closes
            for other in parsed
        ):
            problems.append(Violation(where, "overlaps other working hours of that day"))
            continue
        parsed.append(WorkingHours(weekday, opens, closes))
    if problems:
        raise ValidationFailed(problems)
    return tuple(sorted(parsed, key=lambda h: (h.weekday, h.start))) or DEFAULT_WORKING_HOURS


# ---------------------------------------------------------------- feeds


def parse_ics(document: str | bytes, field: str = "ics") -> icalendar.Calendar:
    """One VCALENDAR, or a validation error naming `field` with the parser's reason (which
    may quote the document: callers hide it where the document is not the caller's own)."""
    if not document or not document.strip():
        raise ValidationFailed(Violation(field, "is empty"))
    try:
        calendar = icalendar.Calendar.from_ical(document)
    except _ICS_ERRORS as exc:
        raise ValidationFailed(
            Violation(field, f"not an iCalendar document: {_brief(exc)}")
        ) from None
    if not isinstance(calendar, icalendar.Calendar):
        raise ValidationFailed(Violation(field, "not an iCalendar document: no VCALENDAR"))
    return calendar


def busy_periods(
    calendar: icalendar.Calendar, tz: ZoneInfo, window: Period, field: str = "ics"
) -> list[Period]:
    """The busy periods of `calendar`'s events that meet `window`, sorted.

    Free events (TRANSP:TRANSPARENT) and cancelled ones (STATUS:CANCELLED) do not count;
    an all-day event is busy from midnight to midnight in `tz`, and floating times (no
    zone) are in `tz` too."""
    busy: list[Period] = []
    try:
        query = recurring_ical_events.of(calendar)
        for event in query.after(window.start - ORDER_SLACK):
            period = _event_period(event, tz)
            if period.start >= window.end + ORDER_SLACK:
                break  # `after` yields in start order
            if _is_free(event) or not period.overlaps(window):
                continue
            busy.append(period)
            if len(busy) > MAX_BUSY_PERIODS:
                raise ValidationFailed(
                    Violation(field, f"more than {MAX_BUSY_PERIODS} busy events in the window")
                )
    except _ICS_ERRORS as exc:
        raise ValidationFailed(Violation(field, f"unreadable event: {_brief(exc)}")) from None
    return sorted(busy)


def _is_free(event) -> bool:
    transparency = str(event.get("TRANSP", "OPAQUE")).upper()
    status = str(event.get("STATUS", "")).upper()
    return transparency == "TRANSPARENT" or status == "CANCELLED"


def _event_period(event, tz: ZoneInfo) -> Period:
    start = event["DTSTART"].dt
    end_prop = event.get("DTEND")
    if end_prop is not None:
        end = end_prop.dt
    elif "DURATION" in event:
        end = start + event["DURATION"].dt
    else:  # RFC 5545: a date lasts the day, a date-time has no duration
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    return Period(_instant(start, tz), _instant(end, tz))


def _instant(value: date | datetime, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):  # a date: the day's midnight in the owner's zone
        value = datetime.combine(value, time(), tzinfo=tz)
    elif value.tzinfo is None:  # floating
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


# ---------------------------------------------------------------- slots


def slot_grid(rules: Rules, window: Period) -> Iterator[Period]:
    """Every slot of the working hours that starts within `window`, in order: each
    interval is cut from its local opening time, in steps of the slot length."""
    tz, step = rules.zone, rules.slot
    by_day: dict[int, list[WorkingHours]] = {}
    for hours in rules.working_hours:
        by_day.setdefault(hours.weekday, []).append(hours)
    day = window.start.astimezone(tz).date() - timedelta(days=1)
    last = window.end.astimezone(tz).date()
    while day <= last:
        for hours in by_day.get(day.isoweekday(), ()):
            start = datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)
            closes = datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)
            while start + step <= closes:
                if window.start <= start < window.end:
                    yield Period(start, start + step)
                start += step
        day += timedelta(days=1)


def on_grid(rules: Rules, start: datetime) -> bool:
    """Whether a slot of the working hours starts exactly at `start`."""
    around = Period(start - timedelta(days=1), start + timedelta(days=1))
    return any(slot.start == start for slot in slot_grid(rules, around))


def free_slots(
    rules: Rules,
    busy: Sequence[Period],
    booked: Sequence[Period],
    *,
    now: datetime,
    window: Period,
) -> list[Period]:
    """Slots starting within `window` and the bookable window, clear of every busy period
    and booked call by the buffer."""
    bookable = rules.bookable(now)
    within = Period(max(window.start, bookable.start), min(window.end, bookable.end))
    if within.start >= within.end:
        return []
    blocked = _merged(
        [p.widened(timedelta(minutes=rules.buffer_minutes)) for p in (*busy, *booked)]
    )
    starts = [p.start for p in blocked]
    free = []
    for slot in slot_grid(rules, within):
        # the last blocked period starting before the slot ends is the only one that can
        # overlap it: merged periods do not overlap each other
        i = bisect.bisect_left(starts, slot.end) - 1
        if i < 0 or not blocked[i].overlaps(slot):
            free.append(slot)
    return free


def _merged(periods: Iterable[Period]) -> list[Period]:
    out: list[Period] = []
    for p in sorted(periods):
        if out and p.start <= out[-1].end:
            if p.end > out[-1].end:
                out[-1] = Period(out[-1].start, p.end)
        else:
            out.append(p)
    return out


def label(period: Period, tz: ZoneInfo) -> str:
    """The slot as "Tue 1 Dec, 10:00-10:30" in `tz`, the same in every locale."""
    start, end = period.start.astimezone(tz), period.end.astimezone(tz)
    return (
        f"{_DAY_NAMES[start.weekday()]} {start.day} {_MONTH_NAMES[start.month - 1]}, "
        f"{start:%H:%M}-{end:%H:%M}"
    )


# ---------------------------------------------------------------- invites


@dataclass(frozen=True)
class Party:
    name: str
    email: str  # "" when unknown: the party is left off the invite


def invite(
    *,
    uid: str,
    period: Period,
    organizer: Party,
    attendee: Party,
    summary: str,
    description: str,
    stamp: datetime,
    cancelled: bool = False,
) -> str:
    """The iCalendar message for a booked call (METHOD:REQUEST) or its cancellation
    (METHOD:CANCEL, a higher SEQUENCE so clients apply it over the request). Times in UTC."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", period.start.astimezone(UTC))
    event.add("dtend", period.end.astimezone(UTC))
    event.add("sequence", 1 if cancelled else 0)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "OPAQUE")
    if organizer.email:
        event.add("organizer", _address(organizer), parameters={"CN": organizer.name})
    if attendee.email:
        event.add(
            "attendee",
            _address(attendee),
            parameters={
                "CN": attendee.name,
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": "NEEDS-ACTION",
                "RSVP": "TRUE",
            },
        )
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def _address(party: Party) -> icalendar.vCalAddress:
    return icalendar.vCalAddress(f"mailto:{party.email}")


__all__ = [
    "DEFAULT_WORKING_HOURS",
    "MAX_BUSY_PERIODS",
    "Party",
    "Period",
    "Rules",
    "WorkingHours",
    "busy_periods",
    "free_slots",
    "invite",
    "label",
    "on_grid",
    "parse_clock",
    "parse_ics",
    "slot_grid",
    "working_hours",
    "zone",
]
