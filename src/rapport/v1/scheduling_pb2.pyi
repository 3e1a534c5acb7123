import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkingHours(_message.Message):
    __slots__ = ("weekday", "start", "end")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    weekday: int
    start: str
    end: str
    def __init__(self, weekday: _Optional[int] = ..., start: _Optional[str] = ..., end: _Optional[str] = ...) -> None: ...

class Calendar(_message.Message):
    __slots__ = ("calendar_id", "owner_name", "owner_email", "timezone", "feed_url", "working_hours", "slot_minutes", "buffer_minutes", "min_notice_hours", "horizon_days", "feed_read_at", "busy_events")
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    FEED_URL_FIELD_NUMBER: _ClassVar[int]
    WORKING_HOURS_FIELD_NUMBER: _ClassVar[int]
    SLOT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    BUFFER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MIN_NOTICE_HOURS_FIELD_NUMBER: _ClassVar[int]
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    FEED_READ_AT_FIELD_NUMBER: _ClassVar[int]
    BUSY_EVENTS_FIELD_NUMBER: _ClassVar[int]
    calendar_id: str
    owner_name: str
    owner_email: str
    timezone: str
    feed_url: str
    working_hours: _containers.RepeatedCompositeFieldContainer[WorkingHours]
    slot_minutes: int
    buffer_minutes: int
    min_notice_hours: int
    horizon_days: int
    feed_read_at: _timestamp_pb2.Timestamp
    busy_events: int
    def __init__(self, calendar_id: _Optional[str] = ..., owner_name: _Optional[str] = ..., owner_email: _Optional[str] = ..., timezone: _Optional[str] = ..., feed_url: _Optional[str] = ..., working_hours: _Optional[_Iterable[_Union[WorkingHours, _Mapping]]] = ..., slot_minutes: _Optional[int] = ..., buffer_minutes: _Optional[int] = ..., min_notice_hours: _Optional[int] = ..., horizon_days: _Optional[int] = ..., feed_read_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., busy_events: _Optional[int] = ...) -> None: ...

class PutCalendarRequest(_message.Message):
    __slots__ = ("calendar", "ics")
    CALENDAR_FIELD_NUMBER: _ClassVar[int]
    ICS_FIELD_NUMBER: _ClassVar[int]
    calendar: Calendar
    ics: str
    def __init__(self, calendar: _Optional[_Union[Calendar, _Mapping]] = ..., ics: _Optional[str] = ...) -> None: ...

class ListCalendarsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCalendarsResponse(_message.Message):
    __slots__ = ("calendars",)
    CALENDARS_FIELD_NUMBER: _ClassVar[int]
    calendars: _containers.RepeatedCompositeFieldContainer[Calendar]
    def __init__(self, calendars: _Optional[_Iterable[_Union[Calendar, _Mapping]]] = ...) -> None: ...

class ListSlotsRequest(_message.Message):
    __slots__ = ("calendar_id", "candidate_id", "timezone", "start", "days")
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    calendar_id: str
    candidate_id: str
    timezone: str
    start: _timestamp_pb2.Timestamp
    days: int
    def __init__(self, calendar_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., timezone: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., days: _Optional[int] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("start", "end", "label")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    label: str
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., label: _Optional[str] = ...) -> None: ...

class ListSlotsResponse(_message.Message):
    __slots__ = ("calendar_id", "timezone", "slots")
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    calendar_id: str
    timezone: str
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    def __init__(self, calendar_id: _Optional[str] = ..., timezone: _Optional[str] = ..., slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ...) -> None: ...

class BookSlotRequest(_message.Message):
    __slots__ = ("calendar_id", "candidate_id", "start", "timezone", "note")
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    calendar_id: str
    candidate_id: str
    start: _timestamp_pb2.Timestamp
    timezone: str
    note: str
    def __init__(self, calendar_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., timezone: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Booking(_message.Message):
    __slots__ = ("booking_id", "calendar_id", "candidate_id", "start", "end", "timezone", "status", "label", "ics", "created_at")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    ICS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    calendar_id: str
    candidate_id: str
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    timezone: str
    status: str
    label: str
    ics: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, booking_id: _Optional[str] = ..., calendar_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., timezone: _Optional[str] = ..., status: _Optional[str] = ..., label: _Optional[str] = ..., ics: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CancelBookingRequest(_message.Message):
    __slots__ = ("booking_id", "reason")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    reason: str
    def __init__(self, booking_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListBookingsRequest(_message.Message):
    __slots__ = ("calendar_id", "candidate_id", "include_cancelled")
    CALENDAR_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    calendar_id: str
    candidate_id: str
    include_cancelled: bool
    def __init__(self, calendar_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., include_cancelled: _Optional[bool] = ...) -> None: ...

class ListBookingsResponse(_message.Message):
    __slots__ = ("bookings",)
    BOOKINGS_FIELD_NUMBER: _ClassVar[int]
    bookings: _containers.RepeatedCompositeFieldContainer[Booking]
    def __init__(self, bookings: _Optional[_Iterable[_Union[Booking, _Mapping]]] = ...) -> None: ...
