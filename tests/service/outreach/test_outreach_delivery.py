"""The scheduler against a real local SMTP server: personal mail with the right headers,
stops on replies, unsubscribes and applications, step conditions, retries and triggers."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from rapport.core.domain import ConsentState
from rapport.core.outreach import Sequence, Step, Trigger
from rapport.core.store import candidates, consent, pools, timeline
from rapport.core.store import outreach as outreach_store
from rapport.core.store.schema import (
    CandidateRow,
    OutreachEnrolmentRow,
    OutreachReplyRow,
    OutreachSendRow,
)
from rapport.services.outreach.inbox import Inbox
from rapport.services.outreach.mail import MailSettings
from rapport.services.outreach.use_cases import OutreachUseCases

INTRO = Step(
    key="intro",
    subject="A role for you, {{ first_name }}",
    body=(
        "Hi {{ first_name }},\n\n"
        "Your work at {{ current_company }} caught our eye.\n\n"
        "Not for you? {{ unsubscribe_url }}\n"
    ),
)
FOLLOW_UP = Step(key="follow-up", body="Just checking in, {{ first_name }}.\n", delay_s=2 * 86400)


@pytest.fixture
def outreach(db, settings):
    return OutreachUseCases(db, settings)


def address(db, candidate_id: str) -> str:
    with db.read() as s:
        return candidates.get(s, candidate_id).emails[0]


def enrolment(db, candidate_id: str) -> OutreachEnrolmentRow:
    with db.read() as s:
        return (
            s.execute(
                select(OutreachEnrolmentRow)
                .join(CandidateRow, CandidateRow.pk == OutreachEnrolmentRow.candidate_pk)
                .where(CandidateRow.id == candidate_id)
                .order_by(OutreachEnrolmentRow.pk.desc())
            )
            .scalars()
            .first()
        )


def sends(db, candidate_id: str) -> list[OutreachSendRow]:
    with db.read() as s:
        return list(
            s.execute(
                select(OutreachSendRow)
                .join(CandidateRow, CandidateRow.pk == OutreachSendRow.candidate_pk)
                .where(CandidateRow.id == candidate_id)
                .order_by(OutreachSendRow.pk)
            ).scalars()
        )


def kinds(db, candidate_id: str) -> list[str]:
    with db.read() as s:
        page = timeline.list_page(s, candidate_id, 200, "")
    return sorted(e.kind for e in page.items)


def reply(port: int, *, sender: str, to: str, subject: str, message_id: str, **headers) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, to, subject, message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Thanks, happy to talk next week.")
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(msg)


@pytest.fixture
def inbox(db, settings, free_port):
    port = free_port()
    box = Inbox(
        OutreachUseCases(db, settings), MailSettings.from_settings(settings), "127.0.0.1", port
    )
    box.start()
    yield port
    box.stop()


def test_sends_personalised_mail_with_unsubscribe_headers(
    db, outreach, person, sink, run_scheduler
):
    ana = person("Ana", company="Initech")
    nameless = person("")
    seq = outreach.create_sequence(
        Sequence(name="Intro", steps=(INTRO, Step(key="nudge", body=FOLLOW_UP.body)))
    )
    assert outreach.enrol(seq.id, candidate_ids=[ana, nameless]).enrolled_count == 2

    stats = run_scheduler()

    assert (stats.sent, stats.failed) == (4, 0)
    first, second = sink.to(address(db, ana))
    rows = sends(db, ana)
    token = rows[0].token
    m = first.message
    assert m["Subject"] == "A role for you, Ana"
    assert m["From"] == "Rapport Talent <talent@rapport.test>"
    assert m["Message-ID"] == rows[0].message_id
    assert m["Reply-To"] == f"replies+{token}@rapport.test"
    assert m["List-Unsubscribe"] == (
        f"<mailto:unsubscribe+{token}@rapport.test?subject=unsubscribe>, "
        f"<https://rapport.test/u/{token}>"
    )
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = first.body()
    assert body.startswith("Hi Ana,\n")
    assert "Your work at Initech caught our eye." in body
    assert f"https://rapport.test/u/{token}" in body
    # The follow-up answers the first message, in the same thread.
    follow = second.message
    assert follow["Subject"] == "Re: A role for you, Ana"
    assert follow["In-Reply-To"] == rows[0].message_id
    assert follow["References"] == rows[0].message_id
    assert second.body() == "Just checking in, Ana.\n"
    # Missing values print their fallbacks, never a raw tag.
    plain = [r.body() for r in sink.to(address(db, nameless))]
    assert plain[0].startswith("Hi there,\n")
    assert "Your work at your company caught our eye." in plain[0]
    assert all("{{" not in text and "}}" not in text for text in plain)
    assert [r.state for r in rows] == ["sent", "sent"]
    assert enrolment(db, ana).state == "completed"
    assert kinds(db, ana).count("email_sent") == 2
    assert kinds(db, ana).count("email_delivered") == 2


def test_a_reply_to_the_inbox_stops_the_sequence(
    db, outreach, person, sink, run_scheduler, fast_forward, inbox
):
    ana, ben = person("Ana"), person("Ben")
    seq = outreach.create_sequence(Sequence(name="Two steps", steps=(INTRO, FOLLOW_UP)))
    outreach.enrol(seq.id, candidate_ids=[ana, ben])
    run_scheduler()
    first = sends(db, ana)[0]
    assert enrolment(db, ana).state == "active"

    reply(
        inbox,
        sender=f"Ana Tester <{address(db, ana)}>",
        to=f"replies+{first.token}@rapport.test",
        subject="Re: A role for you, Ana",
        message_id="<reply-1@example.com>",
        In_Reply_To=first.message_id,
        References=first.message_id,
    )

    stopped = enrolment(db, ana)
    assert (stopped.state, stopped.stop_reason) == ("stopped", "replied")
    assert "email_replied" in kinds(db, ana)
    fast_forward()
    run_scheduler()
    assert len(sink.to(address(db, ana))) == 1  # nothing after the reply
    assert len(sink.to(address(db, ben))) == 2  # Ben did not reply: his follow-up went out
    with db.read() as s:
        recorded = s.execute(select(OutreachReplyRow)).scalars().all()
    assert [(r.method, r.automatic) for r in recorded] == [("in_reply_to", False)]


def test_replies_match_by_token_or_sender_and_auto_replies_stop_nothing(
    db, outreach, person, run_scheduler, inbox
):
    ana, ben, cai = person("Ana"), person("Ben"), person("Cai")
    seq = outreach.create_sequence(Sequence(name="Two steps", steps=(INTRO, FOLLOW_UP)))
    outreach.enrol(seq.id, candidate_ids=[ana, ben, cai])
    run_scheduler()
    # A client that drops In-Reply-To still writes to the reply+<token> address.
    reply(
        inbox,
        sender=address(db, ana),
        to=f"replies+{sends(db, ana)[0].token}@rapport.test",
        subject="hello",
        message_id="<r-ana@example.com>",
    )
    # A reply written fresh to the plain address is matched by its sender.
    reply(
        inbox,
        sender=address(db, ben),
        to="replies@rapport.test",
        subject="hi",
        message_id="<r-ben@example.com>",
    )
    # An out-of-office answer is recorded but stops nothing.
    reply(
        inbox,
        sender=address(db, cai),
        to=f"replies+{sends(db, cai)[0].token}@rapport.test",
        subject="Out of office",
        message_id="<r-cai@example.com>",
        Auto_Submitted="auto-replied",
        In_Reply_To=sends(db, cai)[0].message_id,
    )
    # The same reply delivered twice is recorded once.
    reply(
        inbox,
        sender=address(db, ben),
        to="replies@rapport.test",
        subject="hi",
        message_id="<r-ben@example.com>",
    )

    assert enrolment(db, ana).stop_reason == "replied"
    assert enrolment(db, ben).stop_reason == "replied"
    assert enrolment(db, cai).state == "active"
    assert "email_replied" not in kinds(db, cai)
    with db.read() as s:
        methods = sorted(
            (r.method, r.automatic) for r in s.execute(select(OutreachReplyRow)).scalars()
        )
    assert methods == [("from_address", False), ("in_reply_to", True), ("reply_token", False)]
    assert kinds(db, ben).count("email_replied") == 1


def test_a_reply_logged_on_the_timeline_stops_the_next_step(
    db, outreach, person, sink, run_scheduler, fast_forward
):
    ana = person("Ana")
    seq = outreach.create_sequence(Sequence(name="Two steps", steps=(INTRO, FOLLOW_UP)))
    outreach.enrol(seq.id, candidate_ids=[ana])
    run_scheduler()
    with db.transaction() as s:  # e.g. ContentService.RecordOutcome, or a recruiter's log
        timeline.add(s, ana, "email_replied", channel="email")
    fast_forward()
    stats = run_scheduler()
    assert stats.stopped == 1
    assert (enrolment(db, ana).state, enrolment(db, ana).stop_reason) == ("stopped", "replied")
    assert len(sink.to(address(db, ana))) == 1


def test_an_application_stops_the_sequence(db, outreach, person, sink, run_scheduler, fast_forward):
    ana = person("Ana")
    seq = outreach.create_sequence(Sequence(name="Two steps", steps=(INTRO, FOLLOW_UP)))
    outreach.enrol(seq.id, candidate_ids=[ana])
    run_scheduler()
    with db.transaction() as s:
        timeline.add(s, ana, "applied", channel="ats")
    fast_forward()
    run_scheduler()
    assert enrolment(db, ana).stop_reason == "applied"
    assert len(sink.to(address(db, ana))) == 1


def test_one_click_unsubscribe_stops_everything_at_once(
    db, outreach, person, sink, run_scheduler, fast_forward
):
    ana = person("Ana")
    seq = outreach.create_sequence(Sequence(name="Two steps", steps=(INTRO, FOLLOW_UP)))
    other = outreach.create_sequence(
        Sequence(name="Other", steps=(Step(subject="Later", body="x", delay_s=86400),))
    )
    outreach.enrol(seq.id, candidate_ids=[ana])
    outreach.enrol(other.id, candidate_ids=[ana])
    run_scheduler()

    outcome = outreach.unsubscribe(sends(db, ana)[0].token)

    # No scheduler pass in between: both sequences are stopped by the unsubscribe itself.
    assert (outcome.stopped_enrolments, outcome.already) == (2, False)
    with db.read() as s:
        assert candidates.get(s, ana).consent_state == ConsentState.OPTED_OUT
        states = s.execute(
            select(OutreachEnrolmentRow.state, OutreachEnrolmentRow.stop_reason)
        ).all()
    assert sorted(states) == [("stopped", "unsubscribed")] * 2
    assert "unsubscribed" in kinds(db, ana)
    assert outreach.unsubscribe(sends(db, ana)[0].token).already is True
    fast_forward()
    run_scheduler()
    assert len(sink.to(address(db, ana))) == 1


def test_an_unsubscribe_during_a_batch_is_checked_right_before_sending(
    db, outreach, person, sink, run_scheduler
):
    ana, ben, cai = person("Ana"), person("Ben"), person("Cai")
    seq = outreach.create_sequence(Sequence(name="One step", steps=(INTRO,)))
    outreach.enrol(seq.id, candidate_ids=[ana, ben, cai])
    ana_address = address(db, ana)

    def ben_opts_out_while_ana_is_mailed(got, count):
        if ana_address in got.rcpt_tos:
            with db.transaction() as s:
                consent.set_state(s, ben, ConsentState.OPTED_OUT, basis="test")

    sink.on_data = ben_opts_out_while_ana_is_mailed
    stats = run_scheduler(connections=1)  # one connection: Ana, then Ben, then Cai

    assert len(sink.to(ana_address)) == 1
    assert sink.to(address(db, ben)) == []
    assert len(sink.to(address(db, cai))) == 1
    assert (stats.sent, stats.stopped) == (2, 1)
    assert (enrolment(db, ben).state, enrolment(db, ben).stop_reason) == (
        "stopped",
        "unsubscribed",
    )
    assert [r.state for r in sends(db, ben)] == ["skipped"]


def test_unsubscribe_by_mail_to_the_list_unsubscribe_address(
    db, outreach, person, run_scheduler, inbox
):
    ana = person("Ana")
    seq = outreach.create_sequence(Sequence(name="Two steps", steps=(INTRO, FOLLOW_UP)))
    outreach.enrol(seq.id, candidate_ids=[ana])
    run_scheduler()
    token = sends(db, ana)[0].token
    reply(
        inbox,
        sender=address(db, ana),
        to=f"unsubscribe+{token}@rapport.test",
        subject="unsubscribe",
        message_id="<u-1@example.com>",
    )
    with db.read() as s:
        assert candidates.get(s, ana).consent_state == ConsentState.OPTED_OUT
    assert enrolment(db, ana).stop_reason == "unsubscribed"


def test_people_who_may_not_be_mailed_are_neither_enrolled_nor_sent_to(
    db, outreach, person, sink, run_scheduler
):
    ok = person("Ok")
    unknown = person("Unknown", consent_state=ConsentState.UNKNOWN)
    opted_out = person("Out", consent_state=ConsentState.OPTED_OUT)
    no_email = person("Nomail", email_address="")
    withdrawn, moved = person("Withdrawn"), person("Moved")
    seq = outreach.create_sequence(Sequence(name="One step", steps=(INTRO,)))

    outcome = outreach.enrol(
        seq.id,
        candidate_ids=[ok, unknown, opted_out, no_email, withdrawn, moved, "0" * 8],
    )

    assert outcome.enrolled_count == 3
    reasons = {s.candidate_id: s.reason for s in outcome.skips}
    assert reasons == {
        unknown: "no_consent",
        opted_out: "no_consent",
        no_email: "no_email",
        "0" * 8: "not_found",
    }
    # Consent withdrawn and the address removed after enrolment, before the scheduler ran.
    with db.transaction() as s:
        consent.set_state(s, withdrawn, ConsentState.UNKNOWN, basis="test")
        draft = candidates.get(s, moved).draft()
        draft.emails = []
        candidates.update(s, moved, draft)
    stats = run_scheduler()
    assert stats.sent == 1
    assert [r.rcpt_tos for r in sink.received] == [[address(db, ok)]]
    assert enrolment(db, withdrawn).stop_reason == "no_consent"
    assert enrolment(db, moved).stop_reason == "no_email"
    assert [r.state for r in sends(db, withdrawn)] == ["skipped"]


def test_step_conditions_read_the_timeline_and_ignore_machine_opens(
    db, outreach, person, sink, run_scheduler, fast_forward
):
    opener, machine, replier = person("Opener"), person("Machine"), person("Replier")
    seq = outreach.create_sequence(
        Sequence(
            name="Conditional",
            stop_on=("unsubscribe",),  # replies do not stop it: the condition decides
            steps=(
                INTRO,
                Step(key="nudge", body="Did you see it?", delay_s=86400, condition="not_opened"),
                Step(key="last", body="Last note.", delay_s=86400, condition="no_reply"),
            ),
        )
    )
    outreach.enrol(seq.id, candidate_ids=[opener, machine, replier])
    run_scheduler()
    with db.transaction() as s:
        timeline.add(s, opener, "email_opened", channel="email")
        timeline.add(s, machine, "email_opened", channel="email", payload={"machine": True})
        timeline.add(s, replier, "email_replied", channel="email")
    fast_forward()
    run_scheduler()
    fast_forward()
    run_scheduler()

    def got(cid):
        return [r.body().strip().splitlines()[0] for r in sink.to(address(db, cid))]

    assert got(opener) == ["Hi Opener,", "Last note."]
    assert got(machine) == ["Hi Machine,", "Did you see it?", "Last note."]
    assert got(replier) == ["Hi Replier,", "Did you see it?"]
    states = [(r.state, r.reason) for r in sends(db, opener)]
    assert states[1] == ("skipped", "condition not_opened: an earlier email was opened")
    assert {enrolment(db, c).state for c in (opener, machine, replier)} == {"completed"}


def test_temporary_refusals_are_retried_and_permanent_ones_stop(
    db, outreach, person, sink, run_scheduler, fast_forward
):
    grey, gone = person("Grey"), person("Gone")
    grey_address, gone_address = address(db, grey), address(db, gone)
    refused_once: set[str] = set()

    def refuse(got, count):
        if grey_address in got.rcpt_tos and grey_address not in refused_once:
            refused_once.add(grey_address)
            return "451 4.7.1 greylisted, try again later"
        if gone_address in got.rcpt_tos:
            return "550 5.1.1 no such user"
        return None

    sink.on_data = refuse
    seq = outreach.create_sequence(Sequence(name="One step", steps=(INTRO,)))
    outreach.enrol(seq.id, candidate_ids=[grey, gone])
    stats = run_scheduler()
    assert (stats.sent, stats.retried, stats.failed) == (0, 1, 1)
    [waiting] = sends(db, grey)
    assert (waiting.state, waiting.attempts) == ("queued", 1)
    assert enrolment(db, grey).next_due_at > datetime.now(UTC)
    assert (enrolment(db, gone).state, enrolment(db, gone).stop_reason) == ("stopped", "bounced")
    assert "email_bounced" in kinds(db, gone)

    fast_forward()
    run_scheduler()
    [done] = sends(db, grey)
    assert (done.state, done.attempts, done.message_id) == ("sent", 2, waiting.message_id)
    assert len(sink.to(grey_address)) == 1


def test_an_unreachable_server_releases_the_batch_without_spending_attempts(
    db, settings, outreach, person, sink, run_scheduler, fast_forward, free_port
):
    from rapport.services.outreach.scheduler import Scheduler

    ana = person("Ana")
    seq = outreach.create_sequence(Sequence(name="One step", steps=(INTRO,)))
    outreach.enrol(seq.id, candidate_ids=[ana])
    nowhere = MailSettings(
        **(MailSettings.from_settings(settings).__dict__ | {"port": free_port()})
    )
    scheduler = Scheduler(db, settings, mail=nowhere)
    try:
        stats = scheduler.run(once=True)
    finally:
        scheduler.close()
    assert (stats.sent, stats.released) == (0, 1)
    [row] = sends(db, ana)
    assert (row.state, row.attempts) == ("queued", 0)
    assert enrolment(db, ana).state == "active"

    fast_forward()
    assert run_scheduler().sent == 1
    assert len(sink.to(address(db, ana))) == 1


def test_an_event_trigger_tags_pools_and_enrols_once_per_event(
    db, outreach, person, sink, run_scheduler
):
    ana, ben = person("Ana"), person("Ben")
    with db.transaction() as s:
        timeline.add(s, ana, "content_downloaded", payload={"content_id": "wp-k8s"})  # before
        pool = pools.create(s, "Whitepaper readers")
    seq = outreach.create_sequence(Sequence(name="Whitepaper follow-up", steps=(INTRO,)))
    trigger = outreach.create_trigger(
        Trigger(
            name="k8s whitepaper",
            kind="event",
            event_kind="content_downloaded",
            payload_equals=(("content_id", "wp-k8s"),),
            add_tag="read-k8s-whitepaper",
            add_to_pool_id=pool.id,
            enrol_sequence_id=seq.id,
        )
    )
    run_scheduler()
    assert sink.received == []  # the download before the trigger existed does not count

    with db.transaction() as s:
        timeline.add(s, ana, "content_downloaded", payload={"content_id": "wp-k8s"})
        timeline.add(s, ben, "content_downloaded", payload={"content_id": "something-else"})
    stats = run_scheduler()
    run_scheduler()  # a second pass over the same events fires nothing again

    assert (stats.triggered, stats.sent) == (1, 1)
    assert [r.rcpt_tos for r in sink.received] == [[address(db, ana)]]
    with db.read() as s:
        assert "read-k8s-whitepaper" in candidates.get(s, ana).tags
        assert "read-k8s-whitepaper" not in candidates.get(s, ben).tags
        members = pools.list_members(s, pool.id, 10, "")
    assert [m.candidate.id for m in members.items] == [ana]
    assert enrolment(db, ana).source == f"trigger:{trigger.id}"
    assert [t.fired for t in outreach.list_triggers()] == [1]


def test_a_dormancy_trigger_enrols_people_quiet_for_n_days(
    db, outreach, person, sink, run_scheduler
):
    long_ago = datetime.now(UTC) - timedelta(days=400)
    dormant = person("Dormant", created_at=long_ago)
    active = person("Active", created_at=long_ago)
    new = person("New")
    no_consent = person("Quiet", created_at=long_ago, consent_state=ConsentState.UNKNOWN)
    with db.transaction() as s:
        timeline.add(s, active, "note", occurred_at=datetime.now(UTC) - timedelta(days=20))
    checkin = outreach.create_sequence(
        Sequence(
            name="Check-in", steps=(Step(subject="Still around?", body="Hi {{ first_name }}"),)
        )
    )
    outreach.create_trigger(
        Trigger(name="dormant 180", kind="dormant", dormant_days=180, enrol_sequence_id=checkin.id)
    )

    stats = run_scheduler()

    assert (stats.triggered, stats.sent) == (1, 1)
    assert [r.rcpt_tos for r in sink.received] == [[address(db, dormant)]]
    for quiet_or_not in (active, new, no_consent):
        assert enrolment(db, quiet_or_not) is None
    assert enrolment(db, dormant).source.startswith("trigger:")


def test_a_reply_racing_the_send_stops_the_sequence_and_frees_the_claim(
    db, outreach, person, sink, run_scheduler, fast_forward
):
    ana = person("Ana")
    seq = outreach.create_sequence(Sequence(name="Two steps", steps=(INTRO, FOLLOW_UP)))
    outreach.enrol(seq.id, candidate_ids=[ana])

    def ana_answers_at_once(got, count):  # before the scheduler has recorded its send
        row = enrolment(db, ana)
        with db.transaction() as s:
            timeline.add(s, ana, "email_replied", channel="email")
            outreach_store.stop(s, [row.pk], "replied", datetime.now(UTC))

    sink.on_data = ana_answers_at_once
    run_scheduler(connections=1)

    row = enrolment(db, ana)
    assert (row.state, row.stop_reason, row.claimed_by) == ("stopped", "replied", None)
    assert [r.state for r in sends(db, ana)] == ["sent"]
    fast_forward()
    assert run_scheduler().claimed == 0


def test_connections_never_interleave_when_one_is_slower(db, outreach, person, sink, run_scheduler):
    """Two connections, small batches claimed while the previous one is on the wire, and a
    server that answers some recipients slowly: each connection still carries one
    conversation at a time (an interleaved one fails with "503 bad sequence")."""
    people = [person(f"P{i}") for i in range(24)]
    slow = {address(db, cid) for cid in people[::3]}
    sink.slow = lambda got: 0.02 if got.rcpt_tos[0] in slow else 0.0
    seq = outreach.create_sequence(Sequence(name="One step", steps=(INTRO,)))
    outreach.enrol(seq.id, candidate_ids=people)

    stats = run_scheduler(connections=2, batch_size=4)

    assert (stats.sent, stats.failed, stats.retried) == (24, 0, 0)
    assert sorted(sink.message_id_counts().values()) == [1] * 24


def test_the_address_a_message_went_to_is_sealed_at_rest(
    db, settings, outreach, person, sink, run_scheduler
):
    """outreach_sends holds the recipient sealed and its keyed hash (issue 7 item 8): the
    raw table has no address, reads open it, a reply from it is still found, and key
    rotation re-seals it."""
    from pydantic import SecretStr
    from sqlalchemy import Text, type_coerce

    from rapport.core.crypto import generate_key
    from rapport.core.store import sealing
    from rapport.core.store.db import Database
    from rapport.core.store.outreach_delivery import find_thread
    from rapport.core.store.rotation import rotate

    ana = person("Ana")
    seq = outreach.create_sequence(Sequence(name="One step", steps=(INTRO,)))
    outreach.enrol(seq.id, candidate_ids=[ana])
    run_scheduler()
    to = address(db, ana)
    (sent,) = sends(db, ana)
    assert sent.to_address == to  # opened on read
    raw = OutreachSendRow.__table__.c.to_address
    with db.read() as s:
        stored, hashed = s.execute(select(type_coerce(raw, Text()), OutreachSendRow.to_hash)).one()
        hit, method = find_thread(
            s,
            in_reply_to="",
            references=(),
            tokens=(),
            from_address=to.upper(),
            since=datetime.now(UTC) - timedelta(days=1),
        )
    assert to not in stored and stored.startswith("g1.")
    assert hashed == sealing.keys_of(db.engine).lookup_hash("email", to)
    assert method == "from_address" and hit.candidate_id == ana

    new, old = generate_key(), settings.encryption_keys.get_secret_value()
    both = Database(
        db.url, settings=settings.model_copy(update={"encryption_keys": SecretStr(f"{new},{old}")})
    )
    try:
        assert rotate(both).sends_resealed == 1
    finally:
        both.close()
    only_new = Database(
        db.url, settings=settings.model_copy(update={"encryption_keys": SecretStr(new)})
    )
    try:
        with only_new.read() as s:
            assert s.execute(select(OutreachSendRow.to_address)).scalar_one() == to
    finally:
        only_new.close()
