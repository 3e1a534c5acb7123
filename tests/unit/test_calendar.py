"""Slot maths of rapport.core.calendar: working hours across DST changes, busy periods from
ICS (recurring with exceptions, all-day, floating, free and cancelled events), buffer,
notice, horizon, labels in another zone, invites, and malformed documents."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from rapport.core import calendar
from rapport.core.calendar import Party, Period, Rules, WorkingHours
from rapport.core.errors import ValidationFailed

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(y, mo, d, h=0, mi=0, tz=BERLIN) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz).astimezone(UTC)


def ics(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"


def rules(**kw) -> Rules:
    return Rules("Europe/Berlin", **({"min_notice_hours": 0, "horizon_days": 60} | kw))


def slots_on(found: list[Period], day: tuple[int, int, int], tz=BERLIN) -> list[str]:
    return [
        f"{p.start.astimezone(tz):%H:%M}"
        for p in found
        if p.start.astimezone(tz).timetuple()[:3] == day
    ]


def free(r: Rules, document: str = "", *, booked=(), now=None, window=None) -> list[Period]:
    window = window or Period(local(2026, 10, 19), local(2026, 11, 9))
    busy = calendar.busy_periods(calendar.parse_ics(document), r.zone, window) if document else []
    return calendar.free_slots(r, busy, list(booked), now=now or local(2026, 10, 1), window=window)


# ---------------------------------------------------------------- working hours


def test_working_hours_stay_local_across_the_autumn_dst_change():
    # Europe/Berlin leaves summer time on Sunday 25 October 2026
    found = free(rules())
    friday = [p for p in found if p.start.astimezone(BERLIN).date().isoformat() == "2026-10-23"]
    monday = [p for p in found if p.start.astimezone(BERLIN).date().isoformat() == "2026-10-26"]
    assert friday[0].start == datetime(2026, 10, 23, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert monday[0].start == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert len(friday) == len(monday) == 16  # 09:00-17:00 in 30-minute slots
    assert calendar.label(monday[-1], BERLIN) == "Mon 26 Oct, 16:30-17:00"
    assert not slots_on(found, (2026, 10, 24)) and not slots_on(found, (2026, 10, 25))


def test_working_hours_across_the_spring_change_and_split_days():
    hours = calendar.working_hours([(1, "08:00", "12:00"), (1, "13:00", "15:00")])
    r = rules(working_hours=hours, slot_minutes=60)
    window = Period(local(2026, 3, 23), local(2026, 4, 1))  # summer time from 29 March
    found = free(r, window=window, now=local(2026, 3, 1))
    assert slots_on(found, (2026, 3, 23)) == ["08:00", "09:00", "10:00", "11:00", "13:00", "14:00"]
    assert slots_on(found, (2026, 3, 30)) == slots_on(found, (2026, 3, 23))
    assert found[0].start.hour == 7 and found[-1].start.hour == 12  # UTC+1, then UTC+2


def test_working_hours_are_validated_with_the_field_named():
    with pytest.raises(ValidationFailed) as err:
        calendar.working_hours(
            [
                (8, "09:00", "17:00"),
                (1, "9am", "17:00"),
                (2, "17:00", "09:00"),
                (3, "09:00", "12:00"),
                (3, "11:00", "13:00"),
            ],
            "calendar.working_hours",
        )
    fields = [v.field for v in err.value.violations]
    assert fields == [
        "calendar.working_hours[0].weekday",
        "calendar.working_hours[1].start",
        "calendar.working_hours[2].end",
        "calendar.working_hours[4]",
    ]
    assert calendar.working_hours([]) == calendar.DEFAULT_WORKING_HOURS


def test_zone_names_are_checked():
    assert calendar.zone("europe/berlin", "timezone").key == "Europe/Berlin"
    with pytest.raises(ValidationFailed) as err:
        calendar.zone("Mars/Olympus", "calendar.timezone")
    assert err.value.violations[0].field == "calendar.timezone"


# ---------------------------------------------------------------- busy periods


def test_recurring_events_with_exceptions():
    document = ics(
        """UID:standup@test
DTSTART;TZID=Europe/Berlin:20261026T100000
DTEND;TZID=Europe/Berlin:20261026T110000
RRULE:FREQ=DAILY;COUNT=5
EXDATE;TZID=Europe/Berlin:20261027T100000""",
        """UID:standup@test
RECURRENCE-ID;TZID=Europe/Berlin:20261028T100000
DTSTART;TZID=Europe/Berlin:20261028T140000
DTEND;TZID=Europe/Berlin:20261028T150000""",
    )
    found = free(rules(), document)
    assert "10:00" not in slots_on(found, (2026, 10, 26))
    assert "10:30" not in slots_on(found, (2026, 10, 26))
    assert "10:00" in slots_on(found, (2026, 10, 27))  # excluded occurrence
    wed = slots_on(found, (2026, 10, 28))  # moved occurrence
    assert "10:00" in wed and "14:00" not in wed and "14:30" not in wed
    assert "10:00" not in slots_on(found, (2026, 10, 30))
    assert "10:00" in slots_on(found, (2026, 11, 2))  # after COUNT


def test_all_day_events_block_the_whole_local_day():
    document = ics("UID:off@test\nDTSTART;VALUE=DATE:20261027\nDTEND;VALUE=DATE:20261029")
    found = free(rules(), document)
    assert slots_on(found, (2026, 10, 27)) == slots_on(found, (2026, 10, 28)) == []
    assert len(slots_on(found, (2026, 10, 26))) == len(slots_on(found, (2026, 10, 29))) == 16
    busy = calendar.busy_periods(
        calendar.parse_ics(document), BERLIN, Period(local(2026, 10, 26), local(2026, 10, 30))
    )
    assert busy == [Period(local(2026, 10, 27), local(2026, 10, 29))]


def test_transparent_and_cancelled_events_are_free_time():
    document = ics(
        "UID:a@test\nDTSTART:20261026T080000Z\nDTEND:20261026T100000Z\nTRANSP:TRANSPARENT",
        "UID:b@test\nDTSTART:20261027T080000Z\nDTEND:20261027T100000Z\nSTATUS:CANCELLED",
        "UID:c@test\nDTSTART:20261028T080000Z\nDURATION:PT2H",
    )
    found = free(rules(), document)
    assert len(slots_on(found, (2026, 10, 26))) == len(slots_on(found, (2026, 10, 27))) == 16
    assert slots_on(found, (2026, 10, 28))[0] == "11:00"  # 08:00Z-10:00Z is 09:00-11:00 CET


def test_floating_times_are_in_the_calendars_zone():
    document = ics("UID:f@test\nDTSTART:20261026T120000\nDTEND:20261026T130000")
    mon = slots_on(free(rules(), document), (2026, 10, 26))
    assert "11:30" in mon and "12:00" not in mon and "12:30" not in mon and "13:00" in mon


def test_buffer_keeps_time_free_around_busy_events_and_calls():
    document = ics(
        "UID:f@test\nDTSTART;TZID=Europe/Berlin:20261026T120000\nDTEND;TZID=Europe/Berlin:20261026T130000"
    )
    call = Period(local(2026, 10, 27, 10), local(2026, 10, 27, 10, 30))
    found = free(rules(buffer_minutes=15), document, booked=[call])
    mon, tue = slots_on(found, (2026, 10, 26)), slots_on(found, (2026, 10, 27))
    assert "11:00" in mon and "11:30" not in mon and "13:00" not in mon and "13:30" in mon
    assert "09:00" in tue and "09:30" not in tue and "10:00" not in tue and "10:30" not in tue
    assert "11:00" in tue
    without = slots_on(free(rules(), booked=[call]), (2026, 10, 27))
    assert "09:30" in without and "10:00" not in without and "10:30" in without


def test_min_notice_and_horizon_bound_the_bookable_window():
    now = local(2026, 10, 26, 8)  # Monday 08:00
    found = free(rules(min_notice_hours=12, horizon_days=2), now=now)
    assert found[0].start == local(2026, 10, 27, 9)  # Monday's slots are all too soon
    assert found[-1].start < local(2026, 10, 28, 8)
    assert slots_on(found, (2026, 10, 28)) == []
    assert free(rules(), now=local(2026, 12, 1)) == []  # the window is all in the past


def test_labels_in_the_candidates_zone_follow_both_dst_changes():
    found = free(rules())
    # Berlin left summer time on 25 October, New York only on 1 November
    before = next(p for p in found if p.start == local(2026, 10, 20, 9))
    between = next(p for p in found if p.start == local(2026, 10, 27, 9))
    after = next(p for p in found if p.start == local(2026, 11, 3, 9))
    assert calendar.label(before, NEW_YORK) == "Tue 20 Oct, 03:00-03:30"
    assert calendar.label(between, NEW_YORK) == "Tue 27 Oct, 04:00-04:30"
    assert calendar.label(after, NEW_YORK) == "Tue 3 Nov, 03:00-03:30"
    late = Period(local(2026, 10, 27, 16, 30), local(2026, 10, 27, 17))
    assert calendar.label(late, ZoneInfo("Pacific/Auckland")) == "Wed 28 Oct, 04:30-05:00"


def test_on_grid_only_for_slot_starts():
    r = rules()
    assert calendar.on_grid(r, local(2026, 10, 27, 9, 30))
    assert not calendar.on_grid(r, local(2026, 10, 27, 9, 15))
    assert not calendar.on_grid(r, local(2026, 10, 27, 17))  # closing time
    assert not calendar.on_grid(r, local(2026, 10, 25, 10))  # Sunday


# ---------------------------------------------------------------- malformed documents


@pytest.mark.parametrize(
    "document",
    [
        "",
        "   ",
        "not a calendar at all",
        "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n",  # no VCALENDAR
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:soon\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        ics("UID:x\nDTSTART:20261026T080000Z\nRRULE:FREQ=SOMETIMES"),
        ics("UID:x\nSUMMARY:no start"),
    ],
)
def test_malformed_ics_is_a_validation_error_naming_the_field(document):
    window = Period(local(2026, 10, 19), local(2026, 11, 9))
    with pytest.raises(ValidationFailed) as err:
        calendar.busy_periods(
            calendar.parse_ics(document, "calendar.feed_url"), BERLIN, window, "calendar.feed_url"
        )
    assert [v.field for v in err.value.violations] == ["calendar.feed_url"]


def test_a_rule_making_too_many_events_is_refused(monkeypatch):
    monkeypatch.setattr(calendar, "MAX_BUSY_PERIODS", 100)
    document = ics("UID:x\nDTSTART:20261026T080000Z\nDURATION:PT1M\nRRULE:FREQ=MINUTELY")
    with pytest.raises(ValidationFailed, match="more than 100 busy events"):
        calendar.busy_periods(
            calendar.parse_ics(document), BERLIN, Period(local(2026, 10, 26), local(2026, 10, 27))
        )


# ---------------------------------------------------------------- invites


def test_invite_and_cancellation():
    period = Period(local(2026, 10, 27, 9), local(2026, 10, 27, 9, 30))
    args = {
        "uid": "b-1@rapport.test",
        "period": period,
        "organizer": Party("Rita Recruiter, Talent", "rita@corp.test"),
        "attendee": Party("Cora Candidate", "cora@example.com"),
        "summary": "Call",
        "description": "Tue 27 Oct, 09:00-09:30\nTopic: roles",
        "stamp": datetime(2026, 10, 1, tzinfo=UTC),
    }
    request = icalendar.Calendar.from_ical(calendar.invite(**args))
    assert str(request["METHOD"]) == "REQUEST"
    event = request.walk("VEVENT")[0]
    assert str(event["UID"]) == "b-1@rapport.test"
    assert event["DTSTART"].dt == period.start and event["DTSTART"].dt.tzinfo is not None
    assert event["DTEND"].dt == period.end
    assert str(event["ORGANIZER"]) == "mailto:rita@corp.test"
    assert event["ORGANIZER"].params["CN"] == "Rita Recruiter, Talent"
    assert str(event["ATTENDEE"]) == "mailto:cora@example.com"
    assert event["ATTENDEE"].params["CN"] == "Cora Candidate"
    assert "Topic: roles" in str(event["DESCRIPTION"])
    assert b"DTSTART:20261027T080000Z" in request.to_ical()

    cancel = icalendar.Calendar.from_ical(calendar.invite(**args, cancelled=True))
    assert str(cancel["METHOD"]) == "CANCEL"
    event = cancel.walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == "b-1@rapport.test"


def test_invite_without_an_attendee_address():
    period = Period(local(2026, 10, 27, 9), local(2026, 10, 27, 9, 30))
    document = calendar.invite(
        uid="x@y",
        period=period,
        organizer=Party("Rita", "rita@corp.test"),
        attendee=Party("Cora", ""),
        summary="Call",
        description="",
        stamp=period.start,
    )
    assert "ATTENDEE" not in document and "ORGANIZER" in document


def test_working_hours_type_round_trip():
    assert calendar.parse_clock("9:05", "x") == time(9, 5)
    assert WorkingHours(1, time(9), time(17)) in calendar.DEFAULT_WORKING_HOURS
    assert rules().bookable(local(2026, 10, 1)).end == local(2026, 10, 1) + timedelta(days=60)
