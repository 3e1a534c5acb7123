"""SchedulingService over gRPC: protobuf in, use case, protobuf out. No SQL, no rules here."""

from __future__ import annotations

import grpc

from rapport.services.common.timestamps import from_pb
from rapport.services.scheduling import convert
from rapport.services.scheduling.use_cases import SchedulingUseCases
from rapport.v1 import scheduling_pb2 as pb
from rapport.v1 import scheduling_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SchedulingService"].full_name


class SchedulingServicer(pb_grpc.SchedulingServiceServicer):
    def __init__(self, use_cases: SchedulingUseCases) -> None:
        self._uc = use_cases

    def PutCalendar(self, request, context):
        return convert.calendar_to_pb(self._uc.put_calendar(convert.calendar_input(request)))

    def ListCalendars(self, request, context):
        return pb.ListCalendarsResponse(
            calendars=[convert.calendar_to_pb(c) for c in self._uc.list_calendars()]
        )

    def ListSlots(self, request, context):
        slots = self._uc.list_slots(
            request.calendar_id,
            candidate_id=request.candidate_id,
            timezone=request.timezone,
            start=from_pb(request, "start"),
            days=request.days,
        )
        return convert.slots_to_pb(slots)

    def BookSlot(self, request, context):
        view = self._uc.book(
            request.calendar_id,
            request.candidate_id,
            from_pb(request, "start"),
            timezone=request.timezone,
            note=request.note,
        )
        return convert.booking_to_pb(view)

    def CancelBooking(self, request, context):
        return convert.booking_to_pb(self._uc.cancel(request.booking_id, request.reason))

    def ListBookings(self, request, context):
        views = self._uc.list_bookings(
            calendar_id=request.calendar_id,
            candidate_id=request.candidate_id,
            include_cancelled=request.include_cancelled,
        )
        return pb.ListBookingsResponse(bookings=[convert.booking_to_pb(v) for v in views])


def add_to_server(servicer: SchedulingServicer, server: grpc.Server) -> None:
    pb_grpc.add_SchedulingServiceServicer_to_server(servicer, server)
