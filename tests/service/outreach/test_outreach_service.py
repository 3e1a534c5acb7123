"""OutreachService over a real in-process gRPC server (port 0) with a real local SMTP sink."""

from __future__ import annotations

import grpc
import pytest
from auth_helpers import audit_rows_eventually
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from rapport.core.domain import ConsentState
from rapport.core.store import consent
from rapport.services.outreach.scheduler import Scheduler
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import common_pb2
from rapport.v1 import content_pb2 as content_pb
from rapport.v1 import content_pb2_grpc as content_grpc
from rapport.v1 import outreach_pb2 as pb
from rapport.v1 import outreach_pb2_grpc as pb_grpc

DAY = 86400


@pytest.fixture
def stubs(channel):
    return cpb_grpc.CandidateServiceStub(channel), pb_grpc.OutreachServiceStub(channel)


@pytest.fixture
def outreach(stubs):
    return stubs[1]


@pytest.fixture
def add(stubs, db):
    store = stubs[0]
    serial = iter(range(1, 1000))

    def make(first: str, *, state: str = "granted", email: bool = True, **kw) -> str:
        c = cpb.Candidate(
            first_name=first,
            last_name="Tester",
            emails=[f"{first.lower() or 'anon'}{next(serial)}@example.com"] if email else [],
            current_company=kw.pop("company", ""),
            **kw,
        )
        cid = store.CreateCandidate(cpb.CreateCandidateRequest(candidate=c)).id
        if state != "unknown":
            with db.transaction() as s:
                consent.set_state(s, cid, ConsentState(state))
        return cid

    return make


def violations(err: grpc.RpcError) -> dict[str, str]:
    out = {}
    for detail in rpc_status.from_call(err).details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            out.update({v.field: v.description for v in bad.field_violations})
    return out


def step(key="", subject="", body="Hi {{ first_name }}", delay_s=0, **kw) -> pb.SequenceStep:
    s = pb.SequenceStep(key=key, subject=subject, body=body, **kw)
    s.delay.seconds = delay_s
    return s


def two_steps(name="Backend nurture") -> pb.Sequence:
    return pb.Sequence(
        name=name,
        steps=[
            step("intro", "A role at {{ company_name }} for {{ first_name }}"),
            step(
                "nudge",
                body="Still keen, {{ first_name }}?",
                delay_s=3 * DAY,
                condition=pb.STEP_CONDITION_IF_NO_REPLY,
            ),
        ],
    )


def create(outreach, seq: pb.Sequence) -> pb.Sequence:
    return outreach.CreateSequence(pb.CreateSequenceRequest(sequence=seq))


def test_create_get_and_list_sequences(outreach):
    created = create(outreach, two_steps())
    assert created.id and [s.key for s in created.steps] == ["intro", "nudge"]
    assert created.steps[1].delay.seconds == 3 * DAY
    assert set(created.stop_on) == {
        pb.STOP_RULE_REPLY,
        pb.STOP_RULE_UNSUBSCRIBE,
        pb.STOP_RULE_APPLICATION,
    }
    got = outreach.GetSequence(pb.GetSequenceRequest(id=created.id))
    assert got == created
    create(outreach, two_steps("Second"))
    page = outreach.ListSequences(pb.ListSequencesRequest(page_size=1))
    assert [s.name for s in page.sequences] == ["Second"]
    rest = outreach.ListSequences(pb.ListSequencesRequest(page_token=page.page.next_page_token))
    assert [s.name for s in rest.sequences] == ["Backend nurture"]

    with pytest.raises(grpc.RpcError) as err:
        create(outreach, two_steps())
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as err:
        outreach.GetSequence(pb.GetSequenceRequest(id="01a2f000-0000-7000-8000-00000000dead"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_sequences_are_invalid_argument_with_the_field(outreach):
    cycle = pb.Sequence(
        name="Loop", steps=[step("a", "Hi"), step("b", next_key="c"), step("c", next_key="b")]
    )
    negative = pb.Sequence(name="Back in time", steps=[step("a", "Hi"), step("b")])
    negative.steps[1].delay.seconds = -3600
    absurd = pb.Sequence(name="Next year", steps=[step("a", "Hi"), step("b", delay_s=400 * DAY)])
    unsafe = pb.Sequence(
        name="Unsafe", steps=[step("a", "Hi", body="Hello\n{{ ''.__class__.__mro__ }}")]
    )
    unknown_tag = pb.Sequence(name="Typo", steps=[step("a", "Hi {{ frist_name }}")])
    no_content = pb.Sequence(
        name="Gone",
        steps=[pb.SequenceStep(key="a", content_id="01a2f000-0000-7000-8000-0000000000aa")],
    )
    expected = {
        "Loop": ("sequence.steps[2].next_key", "the steps form a cycle: b -> c -> b"),
        "Back in time": ("sequence.steps[1].delay", "must not be negative"),
        "Next year": ("sequence.steps[1].delay", "at most 365 days after the previous step"),
        "Unsafe": ("sequence.steps[0].body", "line 2, column "),
        "Typo": ("sequence.steps[0].subject", "line 1, column 7: unknown merge tag 'frist_name'"),
        "Gone": ("sequence.steps[0].content_id", "no such content item"),
    }
    for seq in (cycle, negative, absurd, unsafe, unknown_tag, no_content):
        with pytest.raises(grpc.RpcError) as err:
            create(outreach, seq)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, seq.name
        field, reason = expected[seq.name]
        assert violations(err.value)[field].startswith(reason), violations(err.value)
    assert outreach.ListSequences(pb.ListSequencesRequest()).sequences == []


def test_enrol_by_id_and_by_segment_reports_who_was_left_out(stubs, outreach, add):
    store, _ = stubs
    ana = add("Ana", tags=["python"])
    ben = add("Ben", state="unknown", tags=["python"])
    cai = add("Cai", email=False, tags=["python"])
    dee = add("Dee", state="opted_out", tags=["python"])
    eve = add("Eve", tags=["python"])
    seq = create(outreach, two_steps())

    by_id = outreach.Enrol(
        pb.EnrolRequest(sequence_id=seq.id, candidates=pb.EnrolCandidateIds(ids=[ana, ben]))
    )
    assert (by_id.enrolled, by_id.skipped) == (1, 1)
    assert [(s.candidate_id, s.reason) for s in by_id.skips] == [(ben, "no_consent")]
    assert by_id.enrolments[0].next_step_key == "intro"

    segment = store.CreateSegment(
        cpb.CreateSegmentRequest(
            segment=cpb.Segment(
                name="Python people",
                rule=common_pb2.Rule(
                    conditions=[common_pb2.Condition(field="tag", op="in", values=["python"])]
                ),
            )
        )
    )
    by_segment = outreach.Enrol(pb.EnrolRequest(sequence_id=seq.id, segment_id=segment.id))
    assert by_segment.enrolled == 1
    assert {(s.candidate_id, s.reason) for s in by_segment.skips} == {
        (ana, "already_enrolled"),
        (ben, "no_consent"),
        (cai, "no_email"),
        (dee, "no_consent"),
    }
    assert by_segment.enrolments[0].candidate_id == eve
    assert by_segment.enrolments[0].source == f"segment:{segment.id}"
    assert outreach.GetSequence(pb.GetSequenceRequest(id=seq.id)).counts.active == 2

    with pytest.raises(grpc.RpcError) as err:
        outreach.Enrol(pb.EnrolRequest(sequence_id=seq.id))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unenrol_and_list_enrolments_with_their_sends(db, settings, outreach, add, sink):
    ana, ben = add("Ana"), add("Ben")
    seq = create(outreach, two_steps())
    outreach.Enrol(
        pb.EnrolRequest(sequence_id=seq.id, candidates=pb.EnrolCandidateIds(ids=[ana, ben]))
    )
    scheduler = Scheduler(db, settings)
    try:
        scheduler.run(once=True)
    finally:
        scheduler.close()

    stopped = outreach.Unenrol(
        pb.UnenrolRequest(member=pb.SequenceCandidate(sequence_id=seq.id, candidate_id=ben))
    )
    assert (stopped.state, stopped.stop_reason) == ("stopped", "unenrolled")
    listed = outreach.ListEnrolments(
        pb.ListEnrolmentsRequest(sequence_id=seq.id, include_sends=True)
    ).enrolments
    by_candidate = {e.candidate_id: e for e in listed}
    read = audit_rows_eventually(settings, "outreach.enrolments_read", {ana, ben})
    assert {r.target_id for r in read} == {ana, ben}  # who saw the addresses mailed
    assert by_candidate[ana].state == "active"
    assert by_candidate[ana].next_step_key == "nudge"
    [sent] = by_candidate[ana].sends
    assert (sent.step_key, sent.state, sent.attempts) == ("intro", "sent", 1)
    assert sent.message_id.endswith("@rapport.test>")
    only_stopped = outreach.ListEnrolments(pb.ListEnrolmentsRequest(state="stopped"))
    assert [e.candidate_id for e in only_stopped.enrolments] == [ben]
    with pytest.raises(grpc.RpcError) as err:
        outreach.Unenrol(pb.UnenrolRequest(enrolment_id=stopped.id.replace("-", "")[:8]))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_preview_renders_with_fallbacks_and_says_whether_it_would_send(outreach, add):
    ana = add("Ana", company="Initech")
    ben = add("", state="unknown")
    seq = create(outreach, two_steps())

    shown = outreach.PreviewStep(pb.PreviewStepRequest(sequence_id=seq.id, candidate_id=ana))
    assert shown.would_send
    assert shown.message.subject == "A role at our team for Ana"
    assert shown.message.body == "Hi Ana"
    assert shown.message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert list(shown.message.fallbacks_used) == ["company_name"]

    nudge = outreach.PreviewStep(
        pb.PreviewStepRequest(sequence_id=seq.id, step_key="nudge", candidate_id=ben)
    )
    assert not nudge.would_send
    assert "consent" in nudge.reason
    assert nudge.message.subject == "Re: A role at our team for there"
    assert nudge.message.body == "Still keen, there?"
    assert "{{" not in nudge.message.body
    with pytest.raises(grpc.RpcError) as err:
        outreach.PreviewStep(
            pb.PreviewStepRequest(sequence_id=seq.id, step_key="nope", candidate_id=ana)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_test_send_mails_the_given_address_only(outreach, add, sink):
    ana = add("Ana")
    seq = create(outreach, two_steps())
    sent = outreach.TestSend(
        pb.TestSendRequest(sequence_id=seq.id, to_address="Recruiter@Example.org", candidate_id=ana)
    )
    [got] = sink.received
    assert got.rcpt_tos == ["recruiter@example.org"]
    assert got.message["Subject"] == "[TEST] A role at our team for Ana"
    assert got.message["Message-ID"] == sent.message_id
    assert sent.smtp_response == "OK"
    with pytest.raises(grpc.RpcError) as err:
        outreach.TestSend(pb.TestSendRequest(sequence_id=seq.id, to_address="not an address"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "to_address" in violations(err.value)


def test_record_reply_matches_the_thread_once(db, settings, outreach, add, sink):
    ana = add("Ana")
    seq = create(outreach, two_steps())
    outreach.Enrol(pb.EnrolRequest(sequence_id=seq.id, candidates=pb.EnrolCandidateIds(ids=[ana])))
    scheduler = Scheduler(db, settings)
    try:
        scheduler.run(once=True)
    finally:
        scheduler.close()
    ours = sink.received[0].message["Message-ID"]
    when = timestamp_pb2.Timestamp()
    when.GetCurrentTime()

    auto = outreach.RecordReply(
        pb.RecordReplyRequest(message_id="<ooo@example.com>", in_reply_to=ours, automatic=True)
    )
    assert (auto.matched, auto.automatic, auto.stopped) == (True, True, False)
    request = pb.RecordReplyRequest(
        message_id="<r1@example.com>",
        references=["<unrelated@elsewhere>", ours],
        from_address="ana@example.com",
        subject="Re: hello",
        received_at=when,
    )
    first = outreach.RecordReply(request)
    assert (first.matched, first.method, first.candidate_id, first.stopped) == (
        True,
        "references",
        ana,
        True,
    )
    again = outreach.RecordReply(request)
    assert (again.duplicate, again.stopped) == (True, False)
    stray = outreach.RecordReply(pb.RecordReplyRequest(message_id="<spam@example.com>"))
    assert (stray.matched, stray.method) == (False, "none")


def test_unsubscribe_by_token(db, settings, outreach, add, sink):
    ana = add("Ana")
    seq = create(outreach, two_steps())
    outreach.Enrol(pb.EnrolRequest(sequence_id=seq.id, candidates=pb.EnrolCandidateIds(ids=[ana])))
    scheduler = Scheduler(db, settings)
    try:
        scheduler.run(once=True)
    finally:
        scheduler.close()
    link = sink.received[0].message["List-Unsubscribe"].split("<https://rapport.test/u/")[1]
    token = link.rstrip(">")

    done = outreach.Unsubscribe(pb.UnsubscribeRequest(token=token))
    assert (done.candidate_id, done.stopped_enrolments, done.already) == (ana, 1, False)
    assert outreach.Unsubscribe(pb.UnsubscribeRequest(token=token)).already
    with pytest.raises(grpc.RpcError) as err:
        outreach.Unsubscribe(pb.UnsubscribeRequest(token="f" * 32))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        outreach.Unsubscribe(pb.UnsubscribeRequest(token="../etc"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_triggers_are_validated_and_listed(outreach):
    seq = create(outreach, two_steps())
    made = outreach.CreateTrigger(
        pb.CreateTriggerRequest(
            trigger=pb.OutreachTrigger(
                name="Whitepaper",
                on_event=pb.TriggerEvent(
                    event_kind="content_downloaded", payload_equals={"topic": "kubernetes"}
                ),
                actions=pb.TriggerActions(add_tag="k8s-reader", enrol_sequence_id=seq.id),
            )
        )
    )
    dormant = outreach.CreateTrigger(
        pb.CreateTriggerRequest(
            trigger=pb.OutreachTrigger(
                name="Dormant",
                dormant=pb.TriggerDormant(dormant_days=180),
                actions=pb.TriggerActions(enrol_sequence_id=seq.id),
            )
        )
    )
    listed = outreach.ListTriggers(pb.ListTriggersRequest()).triggers
    assert [t.id for t in listed] == [made.id, dormant.id]
    assert listed[0].on_event.payload_equals["topic"] == "kubernetes"
    assert listed[1].dormant.dormant_days == 180 and listed[1].enabled

    bad = pb.OutreachTrigger(
        name="Broken",
        on_event=pb.TriggerEvent(event_kind="downloaded"),
        actions=pb.TriggerActions(enrol_sequence_id="01a2f000-0000-7000-8000-0000000000bb"),
    )
    with pytest.raises(grpc.RpcError) as err:
        outreach.CreateTrigger(pb.CreateTriggerRequest(trigger=bad))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "trigger.on_event.event_kind" in violations(err.value)
    bad.on_event.event_kind = "content_downloaded"
    with pytest.raises(grpc.RpcError) as err:
        outreach.CreateTrigger(pb.CreateTriggerRequest(trigger=bad))
    assert violations(err.value) == {"trigger.actions.enrol_sequence_id": "no such sequence"}


def test_a_step_can_use_a_content_item_as_its_template(channel, outreach, add):
    content = content_grpc.ContentServiceStub(channel)
    item = content.CreateContent(
        content_pb.CreateContentRequest(
            item=content_pb.ContentItem(
                kind=content_pb.CONTENT_KIND_WHITEPAPER,
                title="Kubernetes in production",
                subject="{{ first_name }}, our {{ content_title }} paper",
                body="Hi {{ first_name }}, read it at {{ content_url }}",
                url="https://rapport.test/k8s",
                fallbacks={"first_name": "friend"},
            )
        )
    )
    seq = create(
        outreach,
        pb.Sequence(name="Paper", steps=[pb.SequenceStep(key="paper", content_id=item.id)]),
    )
    ana, anon = add("Ana"), add("")
    shown = outreach.PreviewStep(pb.PreviewStepRequest(sequence_id=seq.id, candidate_id=ana))
    assert shown.message.subject == "Ana, our Kubernetes in production paper"
    assert shown.message.body == "Hi Ana, read it at https://rapport.test/k8s"
    fallback = outreach.PreviewStep(pb.PreviewStepRequest(sequence_id=seq.id, candidate_id=anon))
    assert fallback.message.body.startswith("Hi friend,")  # the item's own fallback
