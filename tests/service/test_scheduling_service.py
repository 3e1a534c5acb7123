"""SchedulingService over a real in-process server: calendars from inline ICS and from a
file feed, free slots in the candidate's zone, bookings (timeline event, invite, mail to
both sides), a slot taken twice or raced for by many, cancellation, and bad input that
gets the right status and writes nothing. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import icalendar
import pytest
from auth_helpers import open_channel
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from mail_helpers import running as running_sink
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.core.calendar import Rules
from rapport.core.config import Settings
from rapport.core.store import candidates
from rapport.core.store import scheduling as store
from rapport.core.store.db import Database
from rapport.core.store.schema import AuditRow, BookingRow, CalendarRow
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import common_pb2, privacy_pb2, privacy_pb2_grpc
from rapport.v1 import scheduling_pb2 as pb
from rapport.v1 import scheduling_pb2_grpc as pb_grpc

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
EVERY_DAY = [pb.WorkingHours(weekday=d, start="09:00", end="17:00") for d in range(1, 8)]


@pytest.fixture
def sink():
    with running_sink() as box:
        yield box


@pytest.fixture
def feeds(tmp_path):
    path = tmp_path / "feeds"
    path.mkdir()
    return path


@pytest.fixture
def settings(settings, sink, feeds):
    return Settings(
        **settings.model_dump()
        | {
            "calendar_feed_dir": feeds,
            "calendar_feed_refresh_s": 0.0,  # every use re-reads the feed
            "calendar_mail_invites": True,
            "calendar_invite_domain": "invites.rapport.test",
            "outreach_smtp_host": "127.0.0.1",
            "outreach_smtp_port": sink.port,
            "outreach_smtp_timeout_s": 10.0,
            "outreach_from_address": "talent@rapport.test",
        }
    )


@pytest.fixture
def scheduling(channel):
    return pb_grpc.SchedulingServiceStub(channel)


@pytest.fixture
def people(channel):
    stub = cpb_grpc.CandidateServiceStub(channel)

    def add(first: str, timezone: str = "Asia/Tokyo") -> str:
        c = cpb.Candidate(
            first_name=first,
            last_name="Tester",
            emails=[f"{first.lower()}@example.com"],
            location=common_pb2.Location(timezone=timezone),
        )
        return stub.CreateCandidate(cpb.CreateCandidateRequest(candidate=c)).id

    return add


def day_after_tomorrow(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(BERLIN).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def ics(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"


def busy(uid: str, start: datetime, minutes: int = 60) -> str:
    return (
        f"UID:{uid}\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + timedelta(minutes=minutes):%Y%m%dT%H%M%SZ}\r\nSUMMARY:busy"
    )


def calendar_pb(**kw) -> pb.Calendar:
    fields = {
        "owner_name": "Rita Recruiter",
        "owner_email": "rita@example.org",
        "timezone": "Europe/Berlin",
        "working_hours": EVERY_DAY,
        "min_notice_hours": 1,
        "horizon_days": 14,
    }
    return pb.Calendar(**(fields | kw))


def put_inline(scheduling, document: str, **kw) -> pb.Calendar:
    return scheduling.PutCalendar(pb.PutCalendarRequest(calendar=calendar_pb(**kw), ics=document))


def ts(value: datetime):
    out = Timestamp()
    out.FromDatetime(value)
    return out


def starts(response) -> list[datetime]:
    return [s.start.ToDatetime(tzinfo=UTC) for s in response.slots]


def counts(settings) -> dict[str, int]:
    db = Database(settings.effective_database_url, settings=settings)
    try:
        with db.read() as s:
            return {
                "calendars": s.execute(select(func.count()).select_from(CalendarRow)).scalar(),
                "bookings": s.execute(select(func.count()).select_from(BookingRow)).scalar(),
                "audit": s.execute(select(func.count()).select_from(AuditRow)).scalar(),
            }
    finally:
        db.close()


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()


# ---------------------------------------------------------------- calendars and slots


def test_inline_calendar_slots_in_the_candidates_zone(scheduling, people):
    meeting = day_after_tomorrow(10)
    cal = put_inline(scheduling, ics(busy("m@test", meeting)), buffer_minutes=0)
    assert cal.calendar_id and cal.busy_events == 1 and cal.slot_minutes == 30
    assert [h.start for h in cal.working_hours] == ["09:00"] * 7
    assert cal.feed_read_at.seconds > 0

    cora = people("Cora", "Asia/Tokyo")
    res = scheduling.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id, candidate_id=cora))
    assert res.timezone == "Asia/Tokyo"
    found = starts(res)
    assert meeting not in found and meeting + timedelta(minutes=30) not in found
    assert meeting - timedelta(minutes=30) in found and meeting + timedelta(hours=1) in found
    slot = res.slots[found.index(meeting + timedelta(hours=1))]
    local = (meeting + timedelta(hours=1)).astimezone(TOKYO)
    assert slot.label.endswith(f"{local:%H:%M}-{local + timedelta(minutes=30):%H:%M}")
    assert min(found) >= datetime.now(UTC) + timedelta(hours=1)  # minimum notice
    assert max(found) < datetime.now(UTC) + timedelta(days=7)  # default days

    # an explicit zone wins; without a candidate the calendar's own labels the slots
    explicit = scheduling.ListSlots(
        pb.ListSlotsRequest(calendar_id=cal.calendar_id, candidate_id=cora, timezone="UTC")
    )
    assert explicit.timezone == "UTC"
    own = scheduling.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id, days=14))
    assert own.timezone == "Europe/Berlin" and len(own.slots) > len(res.slots)

    listed = scheduling.ListCalendars(pb.ListCalendarsRequest()).calendars
    assert [c.calendar_id for c in listed] == [cal.calendar_id]


def test_put_again_replaces_the_owners_calendar(scheduling):
    first = put_inline(scheduling, ics(busy("a@test", day_after_tomorrow(10))))
    again = put_inline(scheduling, ics(), owner_email="RITA@example.org", slot_minutes=60)
    assert again.calendar_id == first.calendar_id and again.slot_minutes == 60
    assert again.busy_events == 0
    by_id = scheduling.PutCalendar(
        pb.PutCalendarRequest(
            calendar=calendar_pb(calendar_id=first.calendar_id, owner_email="rita.r@example.org")
        )
    )
    assert by_id.calendar_id == first.calendar_id and by_id.owner_email == "rita.r@example.org"
    assert len(scheduling.ListCalendars(pb.ListCalendarsRequest()).calendars) == 1


def test_file_feed_is_read_refreshed_and_kept_when_it_breaks(scheduling, feeds, caplog):
    meeting = day_after_tomorrow(11)
    feed = feeds / "rita.ics"
    feed.write_text(ics(busy("m@test", meeting)))
    cal = scheduling.PutCalendar(
        pb.PutCalendarRequest(calendar=calendar_pb(feed_url=feed.as_uri()))
    )
    assert cal.feed_url == feed.as_uri() and cal.busy_events == 1

    def slot_starts():
        return starts(scheduling.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id)))

    assert meeting not in slot_starts()
    later = day_after_tomorrow(14)
    feed.write_text(ics(busy("n@test", later)))  # the feed changed: read again on use
    found = slot_starts()
    assert meeting in found and later not in found

    feed.write_text("this is no longer a calendar")  # broken: the last good copy serves
    with caplog.at_level("WARNING"):
        found = slot_starts()
    assert meeting in found and later not in found
    assert any("feed refresh failed" in r.getMessage() for r in caplog.records)
    feed.unlink()
    assert later not in slot_starts()


@pytest.mark.parametrize(
    ("calendar_fields", "ics_text", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "", "calendar.timezone"),
        ({"owner_email": "not an address"}, "", "calendar.owner_email"),
        (
            {"working_hours": [pb.WorkingHours(weekday=9, start="09:00", end="17:00")]},
            "",
            "calendar.working_hours[0].weekday",
        ),
        (
            {"working_hours": [pb.WorkingHours(weekday=1, start="18:00", end="09:00")]},
            "",
            "calendar.working_hours[0].end",
        ),
        ({"slot_minutes": 1}, "", "calendar.slot_minutes"),
        ({"horizon_days": 1000}, "", "calendar.horizon_days"),
        ({}, "BEGIN:VCALENDAR\r\nnonsense", "ics"),
        ({"feed_url": "ftp://example.com/cal.ics"}, "", "calendar.feed_url"),
        ({"feed_url": "file:///etc/hostname"}, "", "calendar.feed_url"),
        ({"feed_url": "http://127.0.0.1:9/nothing.ics"}, "", "calendar.feed_url"),
    ],
)
def test_bad_calendars_are_refused_naming_the_field(
    scheduling, settings, calendar_fields, ics_text, field
):
    before = counts(settings)
    with pytest.raises(grpc.RpcError) as err:
        scheduling.PutCalendar(
            pb.PutCalendarRequest(calendar=calendar_pb(**calendar_fields), ics=ics_text)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err.value)
    bad = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad)
    assert field in [v.field for v in bad.field_violations]
    assert counts(settings) == before


def test_bad_slot_requests(scheduling, people):
    cal = put_inline(scheduling, ics())
    req = pb.ListSlotsRequest
    assert (
        code_of(lambda: scheduling.ListSlots(req(calendar_id="nope"))) == grpc.StatusCode.NOT_FOUND
    )
    assert (
        code_of(lambda: scheduling.ListSlots(req(calendar_id=cal.calendar_id, candidate_id="nope")))
        == grpc.StatusCode.NOT_FOUND
    )
    for bad in (
        req(calendar_id=cal.calendar_id, days=15),
        req(calendar_id=cal.calendar_id, days=-1),
        req(calendar_id=cal.calendar_id, timezone="Nowhere/Land"),
        req(),
    ):
        assert (
            code_of(lambda bad=bad: scheduling.ListSlots(bad)) == grpc.StatusCode.INVALID_ARGUMENT
        )


# ---------------------------------------------------------------- bookings


def test_book_cancel_and_book_again(scheduling, people, channel, sink, settings):
    cal = put_inline(scheduling, ics())
    cora, dan = people("Cora", "Asia/Tokyo"), people("Dan", "America/New_York")
    start = day_after_tomorrow(13)
    booking = scheduling.BookSlot(
        pb.BookSlotRequest(
            calendar_id=cal.calendar_id, candidate_id=cora, start=ts(start), note="the data role"
        )
    )
    assert booking.status == "booked" and booking.timezone == "Asia/Tokyo"
    assert booking.end.ToDatetime(tzinfo=UTC) == start + timedelta(minutes=30)
    local = start.astimezone(TOKYO)
    assert booking.label.endswith(f"{local:%H:%M}-{local + timedelta(minutes=30):%H:%M}")

    invite = icalendar.Calendar.from_ical(booking.ics)
    assert str(invite["METHOD"]) == "REQUEST"
    event = invite.walk("VEVENT")[0]
    assert str(event["UID"]) == f"{booking.booking_id}@invites.rapport.test"
    assert str(event["ORGANIZER"]) == "mailto:rita@example.org"
    assert str(event["ATTENDEE"]) == "mailto:cora@example.com"
    assert event["ATTENDEE"].params["CN"] == "Cora Tester"
    assert event["DTSTART"].dt == start and "the data role" in str(event["DESCRIPTION"])

    timeline = cpb_grpc.CandidateServiceStub(channel).ListTimeline(
        cpb.ListTimelineRequest(candidate_id=cora)
    )
    booked = [e for e in timeline.events if e.kind == "call_booked"]
    assert len(booked) == 1
    payload = booked[0].payload
    assert payload["booking_id"] == booking.booking_id
    assert payload["calendar_id"] == cal.calendar_id
    assert "the data role" not in str(payload) and "cora@" not in str(payload)

    free = starts(scheduling.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id)))
    assert start not in free

    # taken: the same slot again, for someone else
    again = pb.BookSlotRequest(calendar_id=cal.calendar_id, candidate_id=dan, start=ts(start))
    assert code_of(lambda: scheduling.BookSlot(again)) == grpc.StatusCode.ALREADY_EXISTS

    # both sides get the invite as a text/calendar part
    mails = [(r.rcpt_tos, r.message) for r in sink.wait_for(2)]
    assert sorted(r[0] for r, _ in mails) == ["cora@example.com", "rita@example.org"]
    for _, message in mails:
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "REQUEST"
        assert booking.booking_id in part.get_content()

    cancelled = scheduling.CancelBooking(
        pb.CancelBookingRequest(booking_id=booking.booking_id, reason="clash")
    )
    assert cancelled.status == "cancelled"
    assert str(icalendar.Calendar.from_ical(cancelled.ics)["METHOD"]) == "CANCEL"
    assert (
        scheduling.CancelBooking(  # a retried cancel: the same answer, nothing new
            pb.CancelBookingRequest(booking_id=booking.booking_id)
        ).status
        == "cancelled"
    )
    assert start in starts(scheduling.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id)))
    mails = sink.wait_for(4)
    assert len(mails) == 4
    assert all(r.message["Subject"].strip().startswith("Cancelled: ") for r in mails[2:])

    rebooked = scheduling.BookSlot(again)
    assert rebooked.candidate_id == dan and rebooked.timezone == "America/New_York"
    events = (
        cpb_grpc.CandidateServiceStub(channel)
        .ListTimeline(cpb.ListTimelineRequest(candidate_id=cora))
        .events
    )
    assert [e.kind for e in events if e.kind.startswith("call_")] == [
        "call_cancelled",
        "call_booked",
    ]

    active = scheduling.ListBookings(pb.ListBookingsRequest(calendar_id=cal.calendar_id))
    assert [b.booking_id for b in active.bookings] == [rebooked.booking_id]
    everything = scheduling.ListBookings(
        pb.ListBookingsRequest(calendar_id=cal.calendar_id, include_cancelled=True)
    )
    assert len(everything.bookings) == 2
    mine = scheduling.ListBookings(
        pb.ListBookingsRequest(candidate_id=cora, include_cancelled=True)
    )
    assert [b.status for b in mine.bookings] == ["cancelled"]
    assert "METHOD:CANCEL" in mine.bookings[0].ics


def test_a_slot_overlapping_another_call_is_taken(scheduling, people):
    cal = put_inline(scheduling, ics(), buffer_minutes=30)
    a, b = people("Ann"), people("Ben")
    start = day_after_tomorrow(10)
    scheduling.BookSlot(
        pb.BookSlotRequest(calendar_id=cal.calendar_id, candidate_id=a, start=ts(start))
    )
    free = starts(scheduling.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id)))
    assert start + timedelta(minutes=30) not in free and start + timedelta(hours=1) in free
    near = pb.BookSlotRequest(
        calendar_id=cal.calendar_id, candidate_id=b, start=ts(start + timedelta(minutes=30))
    )
    assert code_of(lambda: scheduling.BookSlot(near)) == grpc.StatusCode.ALREADY_EXISTS


def test_racing_bookers_one_wins(scheduling, people, server, admin_key):
    cal = put_inline(scheduling, ics())
    start = day_after_tomorrow(15)
    n = 8
    who = [people(f"Racer{i}") for i in range(n)]
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def race(i: int) -> None:
        with open_channel(server, admin_key) as ch:
            stub = pb_grpc.SchedulingServiceStub(ch)
            request = pb.BookSlotRequest(
                calendar_id=cal.calendar_id, candidate_id=who[i], start=ts(start)
            )
            barrier.wait()
            try:
                outcomes[i] = stub.BookSlot(request, timeout=60).booking_id
            except grpc.RpcError as exc:
                outcomes[i] = exc.code()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1, outcomes
    assert outcomes.count(grpc.StatusCode.ALREADY_EXISTS) == n - 1
    booked = scheduling.ListBookings(pb.ListBookingsRequest(calendar_id=cal.calendar_id)).bookings
    assert [b.booking_id for b in booked] == winners


def test_bad_bookings_get_the_right_status_and_write_nothing(scheduling, people, channel, settings):
    meeting = day_after_tomorrow(9)
    cal = put_inline(scheduling, ics(busy("m@test", meeting)), horizon_days=3)
    cora = people("Cora")
    before = counts(settings)

    def book(**kw):
        fields = {
            "calendar_id": cal.calendar_id,
            "candidate_id": cora,
            "start": ts(day_after_tomorrow(12)),
        }
        return lambda: scheduling.BookSlot(pb.BookSlotRequest(**(fields | kw)))

    s = grpc.StatusCode
    assert code_of(book(calendar_id="00000000-0000-0000-0000-000000000000")) == s.NOT_FOUND
    assert code_of(book(candidate_id="00000000-0000-0000-0000-000000000000")) == s.NOT_FOUND
    assert code_of(book(start=ts(day_after_tomorrow(12, 10)))) == s.INVALID_ARGUMENT  # off grid
    assert code_of(book(start=ts(day_after_tomorrow(18)))) == s.INVALID_ARGUMENT  # after hours
    assert code_of(book(timezone="Mars/Olympus")) == s.INVALID_ARGUMENT
    assert code_of(book(note="x" * 1001)) == s.INVALID_ARGUMENT
    assert code_of(lambda: scheduling.BookSlot(pb.BookSlotRequest())) == s.INVALID_ARGUMENT
    assert code_of(book(start=ts(meeting))) == s.FAILED_PRECONDITION  # busy in the feed
    past = datetime.now(BERLIN).date() - timedelta(days=1)
    yesterday = datetime(past.year, past.month, past.day, 10, tzinfo=BERLIN).astimezone(UTC)
    assert code_of(book(start=ts(yesterday))) == s.FAILED_PRECONDITION
    assert (
        code_of(book(start=ts(day_after_tomorrow(10) + timedelta(days=5)))) == s.FAILED_PRECONDITION
    )
    assert (
        code_of(lambda: scheduling.CancelBooking(pb.CancelBookingRequest(booking_id="nope")))
        == s.NOT_FOUND
    )
    assert counts(settings) == before

    # a merged record: book for the survivor
    people_stub = cpb_grpc.CandidateServiceStub(channel)
    other = people("Cora2")
    people_stub.MergeCandidates(cpb.MergeCandidatesRequest(survivor_id=cora, merged_id=other))
    before = counts(settings)
    assert code_of(book(candidate_id=other)) == s.FAILED_PRECONDITION
    assert counts(settings) == before


def test_roles(server, make_key, scheduling, people):
    cal = put_inline(scheduling, ics())
    cora = people("Cora")
    start = ts(day_after_tomorrow(16))
    with open_channel(server, make_key("sourcer")) as ch:
        stub = pb_grpc.SchedulingServiceStub(ch)
        assert stub.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id)).slots
        request = pb.BookSlotRequest(calendar_id=cal.calendar_id, candidate_id=cora, start=start)
        assert code_of(lambda: stub.BookSlot(request)) == grpc.StatusCode.PERMISSION_DENIED
        put = pb.PutCalendarRequest(calendar=calendar_pb(owner_email="s@example.org"))
        assert code_of(lambda: stub.PutCalendar(put)) == grpc.StatusCode.PERMISSION_DENIED
    with open_channel(server, make_key("recruiter")) as ch:
        stub = pb_grpc.SchedulingServiceStub(ch)
        assert stub.BookSlot(request).status == "booked"
    with open_channel(server, make_key("hiring_manager", scopes=("pool:x",))) as ch:
        stub = pb_grpc.SchedulingServiceStub(ch)
        listing = pb.ListBookingsRequest()
        assert code_of(lambda: stub.ListBookings(listing)) == grpc.StatusCode.PERMISSION_DENIED


def test_export_shows_and_erasure_removes_bookings(scheduling, people, channel):
    cal = put_inline(scheduling, ics())
    cora = people("Cora")
    start = day_after_tomorrow(11)
    booking = scheduling.BookSlot(
        pb.BookSlotRequest(
            calendar_id=cal.calendar_id, candidate_id=cora, start=ts(start), note="my topic"
        )
    )
    privacy = privacy_pb2_grpc.PrivacyServiceStub(channel)
    exported = json.loads(
        privacy.ExportCandidate(privacy_pb2.ExportCandidateRequest(candidate_id=cora)).document
    )
    assert [(c["id"], c["note"]) for c in exported["calls"]] == [(booking.booking_id, "my topic")]
    privacy.EraseCandidate(privacy_pb2.EraseCandidateRequest(candidate_id=cora))
    assert not scheduling.ListBookings(pb.ListBookingsRequest(include_cancelled=True)).bookings
    assert start in starts(scheduling.ListSlots(pb.ListSlotsRequest(calendar_id=cal.calendar_id)))
    request = pb.BookSlotRequest(calendar_id=cal.calendar_id, candidate_id=cora, start=ts(start))
    assert code_of(lambda: scheduling.BookSlot(request)) == grpc.StatusCode.NOT_FOUND


def test_the_database_itself_refuses_a_second_active_booking_of_a_start(db, people):
    """The last line of defence, below the use case's checks: the partial unique index."""
    cora, dan = people("Cora"), people("Dan")
    start = day_after_tomorrow(9)
    with db.transaction() as s:
        cal = store.put_calendar(
            s,
            "",
            store.CalendarDraft(
                "Rita", "rita@example.org", Rules("Europe/Berlin"), "", "", 0, datetime.now(UTC)
            ),
        )
        pks = [candidates.pk_for(s, c) for c in (cora, dan)]

    def row(pk: int, status: str) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "calendar_pk": cal.pk,
            "candidate_pk": pk,
            "starts_at": start,
            "ends_at": start + timedelta(minutes=30),
            "timezone": "UTC",
            "status": status,
            "note": "",
            "cancel_reason": "",
            "created_at": datetime.now(UTC),
        }

    with db.transaction() as s:
        s.execute(insert(BookingRow), [row(pks[0], "cancelled"), row(pks[1], "booked")])
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(insert(BookingRow), [row(pks[0], "booked")])


# ---------------------------------------------------------------- CLI


@pytest.fixture
def rapport(server, admin_key, monkeypatch):
    monkeypatch.setenv("RAPPORT_API_KEY", admin_key)
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, ["--server", server, *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def test_cli(rapport, people, tmp_path):
    examples = Path(__file__).resolve().parents[2] / "examples"
    put = json.loads(
        rapport(
            "--json",
            "calendars",
            "put",
            str(examples / "calendar.json"),
            "--ics",
            str(examples / "calendar.ics"),
        ).stdout
    )
    calendar_id = put["calendar_id"]
    assert put["owner_email"] == "rita.recruiter@example.com" and put["busy_events"] > 0
    listed = json.loads(rapport("--json", "calendars", "list").stdout)["calendars"]
    assert [c["calendar_id"] for c in listed] == [calendar_id]
    rapport("calendars", "list")

    cora = people("Cora", "America/Sao_Paulo")
    slots = json.loads(
        rapport(
            "--json", "calendars", "slots", calendar_id, "--candidate", cora, "--days", "7"
        ).stdout
    )
    assert slots["timezone"] == "America/Sao_Paulo" and slots["slots"]
    start = slots["slots"][0]["start"]
    invite = tmp_path / "invite.ics"
    booked = json.loads(
        rapport(
            "--json", "calendars", "book", calendar_id, cora, start, "--ics-out", str(invite)
        ).stdout
    )
    assert booked["status"] == "booked" and "METHOD:REQUEST" in invite.read_text()
    taken = rapport("calendars", "book", calendar_id, cora, start, code=1)
    assert taken.stderr.startswith("ALREADY_EXISTS")
    rapport("calendars", "bookings", "--calendar", calendar_id)
    rapport("calendars", "cancel", booked["booking_id"], "--reason", "moved")
    listed = json.loads(rapport("--json", "calendars", "bookings", "--all").stdout)
    assert [b["status"] for b in listed["bookings"]] == ["cancelled"]
    bad = rapport("calendars", "slots", calendar_id, "--tz", "Nowhere/Land", code=1)
    assert bad.stderr.startswith("INVALID_ARGUMENT") and "timezone" in bad.stderr
    rapport("calendars", "book", calendar_id, cora, "tomorrow at nine", code=2)


def test_a_feed_that_is_no_calendar_is_refused_without_quoting_it(scheduling, feeds, settings):
    page = feeds / "page.ics"
    page.write_text("internal page: s3cr3t-value\n")
    before = counts(settings)
    with pytest.raises(grpc.RpcError) as err:
        scheduling.PutCalendar(pb.PutCalendarRequest(calendar=calendar_pb(feed_url=page.as_uri())))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "calendar.feed_url" in err.value.details() and "s3cr3t" not in err.value.details()
    assert counts(settings) == before
