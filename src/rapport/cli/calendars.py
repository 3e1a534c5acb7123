"""Client verbs of SchedulingService: `rapport calendars put|list|slots|book|bookings|cancel`
(issue 9). A calendar file is the JSON form of `rapport.v1.Calendar` (see
examples/calendar.json); its busy events come from its `feed_url` or from `--ics FILE`."""

from __future__ import annotations

from pathlib import Path

import typer
from google.protobuf import json_format, timestamp_pb2
from rich.table import Table

from rapport.cli.client import ClientOptions, channel
from rapport.cli.output import console, emit_json, key_value_table
from rapport.v1 import scheduling_pb2 as pb
from rapport.v1 import scheduling_pb2_grpc as pb_grpc

calendars_app = typer.Typer(
    no_args_is_help=True, help="Recruiters' calendars, free slots and booked calls."
)


def _call(ctx: typer.Context, method: str, request):
    opts: ClientOptions = ctx.obj
    with channel(opts) as ch:
        stub = pb_grpc.SchedulingServiceStub(ch)
        return getattr(stub, method)(request, timeout=opts.timeout, metadata=opts.metadata())


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {what} {path}: {exc}") from None


def _timestamp(text: str, what: str) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    try:
        out.FromJsonString(text)
    except ValueError:
        raise typer.BadParameter(
            f"{what}: an RFC 3339 time with its offset, e.g. 2026-12-01T09:30:00+01:00"
        ) from None
    return out


def _when(ts: timestamp_pb2.Timestamp) -> str:
    return ts.ToJsonString() if ts.seconds else ""


def _show_calendar(c: pb.Calendar) -> None:
    hours = ", ".join(f"{h.weekday}: {h.start}-{h.end}" for h in c.working_hours)
    rows = {
        "owner": f"{c.owner_name} <{c.owner_email}>",
        "time zone": c.timezone,
        "feed": c.feed_url or "inline",
        "working hours (ISO weekday)": hours,
        "slot / buffer": f"{c.slot_minutes} min / {c.buffer_minutes} min",
        "notice / horizon": f"{c.min_notice_hours} h / {c.horizon_days} days",
        "busy events in horizon": c.busy_events,
        "feed read at": _when(c.feed_read_at),
    }
    console.print(key_value_table(f"Calendar {c.calendar_id}", rows))


def _bookings_table(bookings) -> Table:
    table = Table()
    for col in ("booking", "calendar", "candidate", "start (UTC)", "their time", "status"):
        table.add_column(col, overflow="fold")
    for b in bookings:
        table.add_row(
            b.booking_id,
            b.calendar_id[:8],
            b.candidate_id,
            _when(b.start),
            f"{b.label} ({b.timezone})",
            b.status,
        )
    return table


@calendars_app.command("put")
def put(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ...,
        help="JSON calendar: owner_name, owner_email, timezone, feed_url (http(s), webcal or "
        "file URL), working_hours [{weekday (1 Monday), start, end}], slot_minutes, "
        "buffer_minutes, min_notice_hours, horizon_days; calendar_id to replace one.",
    ),
    ics: Path = typer.Option(None, "--ics", help="Busy events from this ICS file instead."),
) -> None:
    """Create or replace a calendar (one per owner address); its feed is read at once."""
    try:
        cal = json_format.Parse(_read(file, "calendar"), pb.Calendar())
    except json_format.ParseError as exc:
        raise typer.BadParameter(f"{file}: {exc}") from None
    document = _read(ics, "ICS file") if ics is not None else ""
    res = _call(ctx, "PutCalendar", pb.PutCalendarRequest(calendar=cal, ics=document))
    if ctx.obj.json:
        emit_json(res)
        return
    _show_calendar(res)


@calendars_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every calendar."""
    res = _call(ctx, "ListCalendars", pb.ListCalendarsRequest())
    if ctx.obj.json:
        emit_json(res)
        return
    table = Table()
    for col in ("calendar", "owner", "time zone", "feed", "slot", "busy", "feed read at"):
        table.add_column(col, overflow="fold")
    for c in res.calendars:
        table.add_row(
            c.calendar_id,
            f"{c.owner_name} <{c.owner_email}>",
            c.timezone,
            c.feed_url or "inline",
            f"{c.slot_minutes} min",
            str(c.busy_events),
            _when(c.feed_read_at),
        )
    console.print(table)


@calendars_app.command("slots")
def slots(
    ctx: typer.Context,
    calendar_id: str,
    candidate: str = typer.Option("", "--candidate", help="Label in this candidate's zone."),
    tz: str = typer.Option("", "--tz", help="Label in this IANA zone instead."),
    days: int = typer.Option(0, "--days", help="How many days ahead (default 7)."),
    start: str = typer.Option("", "--start", help="From this RFC 3339 time (default now)."),
) -> None:
    """Free slots of a calendar."""
    request = pb.ListSlotsRequest(
        calendar_id=calendar_id, candidate_id=candidate, timezone=tz, days=days
    )
    if start:
        request.start.CopyFrom(_timestamp(start, "--start"))
    res = _call(ctx, "ListSlots", request)
    if ctx.obj.json:
        emit_json(res)
        return
    table = Table(title=f"Free slots ({res.timezone})")
    table.add_column("start (UTC)")
    table.add_column(res.timezone)
    for s in res.slots:
        table.add_row(_when(s.start), s.label)
    console.print(table)


@calendars_app.command("book")
def book(
    ctx: typer.Context,
    calendar_id: str,
    candidate_id: str,
    start: str = typer.Argument(..., help="A slot start from `slots`, RFC 3339."),
    tz: str = typer.Option("", "--tz", help="The candidate's zone (default: their profile's)."),
    note: str = typer.Option("", "--note", help="What the call is about."),
    ics_out: Path = typer.Option(None, "--ics-out", help="Write the invite (.ics) here."),
) -> None:
    """Book a slot for a candidate: ALREADY_EXISTS when it is taken."""
    request = pb.BookSlotRequest(
        calendar_id=calendar_id,
        candidate_id=candidate_id,
        start=_timestamp(start, "START"),
        timezone=tz,
        note=note,
    )
    res = _call(ctx, "BookSlot", request)
    if ics_out is not None:
        ics_out.write_text(res.ics, encoding="utf-8")
    if ctx.obj.json:
        emit_json(res)
        return
    console.print(f"booked {res.booking_id}: {res.label} ({res.timezone})")


@calendars_app.command("bookings")
def bookings(
    ctx: typer.Context,
    calendar: str = typer.Option("", "--calendar", help="Only this calendar's."),
    candidate: str = typer.Option("", "--candidate", help="Only this candidate's."),
    include_cancelled: bool = typer.Option(False, "--all", help="Cancelled ones too."),
) -> None:
    """Booked calls, earliest first."""
    res = _call(
        ctx,
        "ListBookings",
        pb.ListBookingsRequest(
            calendar_id=calendar, candidate_id=candidate, include_cancelled=include_cancelled
        ),
    )
    if ctx.obj.json:
        emit_json(res)
        return
    console.print(_bookings_table(res.bookings))


@calendars_app.command("cancel")
def cancel(
    ctx: typer.Context,
    booking_id: str,
    reason: str = typer.Option("", "--reason", help="Why (no personal data)."),
) -> None:
    """Cancel a booking: the slot is free again, both sides get a cancellation."""
    res = _call(ctx, "CancelBooking", pb.CancelBookingRequest(booking_id=booking_id, reason=reason))
    if ctx.obj.json:
        emit_json(res)
        return
    console.print(f"cancelled {res.booking_id}: {res.label} ({res.timezone})")


def register(app: typer.Typer) -> None:
    app.add_typer(calendars_app, name="calendars")


__all__ = ["register"]
