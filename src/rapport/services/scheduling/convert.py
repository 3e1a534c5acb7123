"""SchedulingService protobuf <-> domain."""

from __future__ import annotations

from rapport.core.store.scheduling import StoredCalendar
from rapport.services.common.timestamps import to_pb
from rapport.services.scheduling.use_cases import BookingView, CalendarInput, Slots
from rapport.v1 import scheduling_pb2 as pb


def calendar_input(request: pb.PutCalendarRequest) -> CalendarInput:
    c = request.calendar
    return CalendarInput(
        calendar_id=c.calendar_id,
        owner_name=c.owner_name,
        owner_email=c.owner_email,
        timezone=c.timezone,
        feed_url=c.feed_url,
        working_hours=tuple((h.weekday, h.start, h.end) for h in c.working_hours),
        slot_minutes=c.slot_minutes,
        buffer_minutes=c.buffer_minutes,
        min_notice_hours=c.min_notice_hours,
        horizon_days=c.horizon_days,
        ics=request.ics,
    )


def calendar_to_pb(c: StoredCalendar) -> pb.Calendar:
    r = c.rules
    return pb.Calendar(
        calendar_id=c.id,
        owner_name=c.owner_name,
        owner_email=c.owner_email,
        timezone=r.timezone,
        feed_url=c.feed_url,
        working_hours=[
            pb.WorkingHours(weekday=h.weekday, start=f"{h.start:%H:%M}", end=f"{h.end:%H:%M}")
            for h in r.working_hours
        ],
        slot_minutes=r.slot_minutes,
        buffer_minutes=r.buffer_minutes,
        min_notice_hours=r.min_notice_hours,
        horizon_days=r.horizon_days,
        feed_read_at=to_pb(c.feed_read_at),
        busy_events=c.busy_events,
    )


def slots_to_pb(slots: Slots) -> pb.ListSlotsResponse:
    return pb.ListSlotsResponse(
        calendar_id=slots.calendar_id,
        timezone=slots.timezone,
        slots=[
            pb.Slot(start=to_pb(s.period.start), end=to_pb(s.period.end), label=s.label)
            for s in slots.slots
        ],
    )


def booking_to_pb(view: BookingView) -> pb.Booking:
    b = view.booking
    return pb.Booking(
        booking_id=b.id,
        calendar_id=b.calendar_id,
        candidate_id=b.candidate_id,
        start=to_pb(b.period.start),
        end=to_pb(b.period.end),
        timezone=b.timezone,
        status=b.status,
        label=view.label,
        ics=view.ics,
        created_at=to_pb(b.created_at),
    )
