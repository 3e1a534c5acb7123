"""ContentService over a real in-process gRPC server, the fake encoder and a fresh store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select

from rapport.core.config import Settings
from rapport.core.domain import ConsentState
from rapport.core.store import consent
from rapport.core.store.decisions import eligible_arrays
from rapport.core.store.schema import ContentDecisionRow
from rapport.v1 import candidates_pb2 as cpb
from rapport.v1 import candidates_pb2_grpc as cpb_grpc
from rapport.v1 import common_pb2
from rapport.v1 import content_pb2 as pb
from rapport.v1 import content_pb2_grpc as pb_grpc

READY_WITHIN_S = 60.0


@pytest.fixture
def settings(settings):
    """Seeded draws, and a cap and budget small enough to reach in a test."""
    return Settings(
        **settings.model_dump()
        | {"content_policy_seed": 7, "content_cap_per_channel": 2, "content_budget": 3}
    )


@pytest.fixture
def stubs(channel):
    return cpb_grpc.CandidateServiceStub(channel), pb_grpc.ContentServiceStub(channel)


def stamp(value: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def person(store, db, first="Ana", *, tz="Europe/Berlin", country="DE", state="granted", **kw):
    c = cpb.Candidate(
        first_name=first,
        last_name="Tester",
        emails=[f"{first.lower() or 'anon'}{time.monotonic_ns()}@example.com"],
        headline=kw.pop("headline", "Senior Python backend engineer"),
        location=common_pb2.Location(country=country, timezone=tz),
        languages=kw.pop("languages", ["en"]),
        skills=[common_pb2.Skill(label=s) for s in kw.pop("skills", ["Python", "PostgreSQL"])],
        **kw,
    )
    cid = store.CreateCandidate(cpb.CreateCandidateRequest(candidate=c)).id
    if state != "unknown":
        with db.transaction() as s:
            consent.set_state(s, cid, ConsentState(state))
    return cid


def article(content, title, **kw) -> pb.ContentItem:
    item = pb.ContentItem(
        kind=kw.pop("kind", pb.CONTENT_KIND_ARTICLE),
        title=title,
        subject=kw.pop("subject", "Hi {{ first_name }}: " + title),
        body=kw.pop("body", "Hi {{ first_name }},\nwe wrote {{ content_title }}."),
        url="https://example.com/" + title.lower().replace(" ", "-"),
        topics=kw.pop("topics", [title]),
        **kw,
    )
    return content.CreateContent(pb.CreateContentRequest(item=item))


def wait_embedded(content, content_id: str) -> None:
    """The encoder loads in the background (with matching's skill mapper): wait for it."""
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        if content.GetContent(pb.GetContentRequest(id=content_id)).embedding_encoder:
            return
        time.sleep(0.05)
    raise AssertionError("content was never embedded")


@pytest.fixture
def library(stubs):
    _, content = stubs
    items = {
        "python": article(content, "Python at scale", topics=["Python", "backend"]),
        "nursing": article(content, "Night shifts in nursing", topics=["nursing", "patients"]),
        "k8s": article(content, "Kubernetes meetup", kind=pb.CONTENT_KIND_EVENT_INVITE),
    }
    wait_embedded(content, items["k8s"].id)
    return items


def daytime() -> datetime:
    """Tomorrow 12:00 UTC: daytime in Europe, so quiet hours (21:00-08:00) never get in the
    way of a test that is not about them, whenever it runs."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )


def nbc(content, cid, **ctx) -> pb.NextBestContentResponse:
    dry_run = ctx.pop("dry_run", False)
    ctx.setdefault("send_at", stamp(daytime()))
    return content.NextBestContent(
        pb.NextBestContentRequest(
            candidate_id=cid, context=pb.ContentContext(**ctx), dry_run=dry_run
        )
    )


def violations(err: grpc.RpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(err)
    out = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        detail.Unpack(bad)
        out += [(v.field, v.description) for v in bad.field_violations]
    return out


def decision_row(db, decision_id: str) -> ContentDecisionRow:
    with db.read() as s:
        return s.execute(
            select(ContentDecisionRow).where(ContentDecisionRow.id == decision_id)
        ).scalar_one()


# ------------------------------------------------------------------ the library


def test_create_get_and_list(stubs, library):
    _, content = stubs
    got = content.GetContent(pb.GetContentRequest(id=library["python"].id))
    assert got.title == "Python at scale" and got.kind == pb.CONTENT_KIND_ARTICLE
    assert got.channels == ["email"] and got.embedding_encoder.startswith("fake")
    listed = content.ListContent(pb.ListContentRequest(page_size=2))
    assert [i.title for i in listed.items] == ["Kubernetes meetup", "Night shifts in nursing"]
    rest = content.ListContent(
        pb.ListContentRequest(page_size=2, page_token=listed.page.next_page_token)
    )
    assert [i.title for i in rest.items] == ["Python at scale"]
    events = content.ListContent(pb.ListContentRequest(kind=pb.CONTENT_KIND_EVENT_INVITE))
    assert [i.title for i in events.items] == ["Kubernetes meetup"]


def test_active_only_lists_what_is_inside_its_window(stubs, library):
    _, content = stubs
    later = datetime.now(UTC) + timedelta(days=30)
    article(content, "Next month", active_from=stamp(later))
    active = content.ListContent(pb.ListContentRequest(active_only=True))
    everything = content.ListContent(pb.ListContentRequest())
    assert "Next month" not in [i.title for i in active.items]
    assert "Next month" in [i.title for i in everything.items]


def test_a_bad_template_is_refused_with_its_location(stubs):
    _, content = stubs
    with pytest.raises(grpc.RpcError) as info:
        article(content, "Broken", body="Hello {{ first_name }},\n\nsee {{ frist_name }}")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    (field, reason), *_ = violations(info.value)
    assert field == "item.body"
    assert reason.startswith("line 3, column 8: unknown merge tag 'frist_name'")
    with pytest.raises(grpc.RpcError) as info:
        article(content, "Unsafe", subject="{{ first_name.__class__.__mro__ }}")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert any(
        f == "item.subject" and "attribute access is not allowed" in r
        for f, r in violations(info.value)
    )
    assert not content.ListContent(pb.ListContentRequest()).items  # nothing half-saved


def test_bad_items_and_unknown_content(stubs):
    _, content = stubs
    with pytest.raises(grpc.RpcError) as info:
        content.CreateContent(pb.CreateContentRequest(item=pb.ContentItem(title="no kind")))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert tuple(f for f, _ in violations(info.value)) == ("item.kind",)
    with pytest.raises(grpc.RpcError) as info:
        content.GetContent(pb.GetContentRequest(id="01a00000-0000-7000-8000-000000000000"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


# ------------------------------------------------------------------ NextBestContent


def test_next_best_content_logs_its_propensity_and_eligible_set(stubs, library, db):
    store, content = stubs
    ana = person(store, db)
    r = nbc(content, ana, channel="email")
    assert r.send and r.decision_id and r.no_send == pb.NO_SEND_REASON_UNSPECIFIED
    assert r.eligible_count == 3 and 0 < r.propensity <= 1
    assert r.preview.subject == f"Hi Ana: {r.item.title}"
    assert r.preview.body.startswith("Hi Ana,\nwe wrote " + r.item.title)
    assert r.policy_name == "softmax-relevance-response" and r.policy_version.startswith("1+")
    assert r.encoder.startswith("fake") and r.score == pytest.approx(
        r.relevance * r.predicted_response, rel=1e-6
    )
    option = {o.content_id: o.propensity for o in r.alternatives}
    assert option[r.item.id] == pytest.approx(r.propensity)
    assert sum(option.values()) == pytest.approx(1.0)
    row = decision_row(db, r.decision_id)
    assert row.propensity == pytest.approx(r.propensity)
    logged = eligible_arrays(row.eligible)
    assert sum(logged["p"]) == pytest.approx(1.0, abs=1e-6)
    assert len(logged["ids"]) == 3 and row.content_pk in logged["ids"]
    at = logged["ids"].index(row.content_pk)
    assert logged["p"][at] == pytest.approx(r.propensity, abs=1e-8)
    assert logged["s"][at] == pytest.approx(r.score, rel=1e-6)
    assert row.policy_version == r.policy_version and row.reward is None


def test_missing_values_render_fallbacks(stubs, library, db):
    store, content = stubs
    nameless = person(store, db, first="")
    r = nbc(content, nameless)
    assert r.preview.subject.startswith("Hi there: ")
    assert r.preview.body.startswith("Hi there,\n")


def test_dry_run_logs_nothing(stubs, library, db):
    store, content = stubs
    ana = person(store, db)
    r = nbc(content, ana, dry_run=True)
    assert r.send and not r.decision_id
    with db.read() as s:
        assert s.execute(select(ContentDecisionRow.pk)).first() is None


def test_opted_out_people_get_send_nothing(stubs, library, db):
    store, content = stubs
    out = person(store, db, state="opted_out")
    r = nbc(content, out)
    assert not r.send and r.no_send == pb.NO_SEND_REASON_OPTED_OUT
    assert "opted out" in r.reason and not r.HasField("item")
    assert decision_row(db, r.decision_id).no_send == "opted_out"  # logged all the same
    unknown = person(store, db, "Uma", state="unknown")
    assert nbc(content, unknown).no_send == pb.NO_SEND_REASON_NO_CONSENT
    no_phone = person(store, db, "Pia")
    assert nbc(content, no_phone, channel="sms").no_send == pb.NO_SEND_REASON_NO_ADDRESS


def test_quiet_hours_in_the_persons_time_zone(stubs, library, db):
    store, content = stubs
    tokyo = person(store, db, "Kei", tz="Asia/Tokyo", country="JP")
    late = daytime().replace(hour=14)  # 23:00 in Tokyo (UTC+9), 15:00 or 16:00 in Berlin
    r = nbc(content, tokyo, send_at=stamp(late))
    assert not r.send and r.no_send == pb.NO_SEND_REASON_QUIET_HOURS
    assert "23:00" in r.reason and "Asia/Tokyo" in r.reason
    assert r.not_before.ToDatetime(tzinfo=UTC) == late.replace(hour=23)  # 08:00 in Tokyo
    berlin = person(store, db, "Ben")
    assert nbc(content, berlin, send_at=stamp(late)).send


def test_frequency_cap_and_contact_budget(stubs, library, db):
    store, content = stubs
    web = article(content, "On the careers site", channels=["web"])
    wait_embedded(content, web.id)
    ana = person(store, db)
    now = datetime.now(UTC)
    for days, ch in ((1, "email"), (2, "email")):
        store.AddTimelineEvent(
            cpb.AddTimelineEventRequest(
                event=cpb.TimelineEvent(
                    candidate_id=ana,
                    kind="email_sent",
                    channel=ch,
                    occurred_at=stamp(now - timedelta(days=days)),
                )
            )
        )
    r = nbc(content, ana, channel="email")
    assert not r.send and r.no_send == pb.NO_SEND_REASON_FREQUENCY_CAP
    assert r.not_before.ToDatetime(tzinfo=UTC) == pytest.approx(
        now - timedelta(days=2) + timedelta(days=7), abs=timedelta(seconds=1)
    )
    assert nbc(content, ana, channel="web").send  # another channel is under its cap
    store.AddTimelineEvent(
        cpb.AddTimelineEventRequest(
            event=cpb.TimelineEvent(
                candidate_id=ana, kind="sms_sent", channel="sms", occurred_at=stamp(now)
            )
        )
    )
    r = nbc(content, ana, channel="web")  # three contacts across channels: the budget is spent
    assert not r.send and r.no_send == pb.NO_SEND_REASON_CONTACT_BUDGET


def test_already_sent_items_are_not_sent_again(stubs, db):
    store, content = stubs
    only = article(content, "The one article")
    wait_embedded(content, only.id)
    ana = person(store, db)
    first = nbc(content, ana)
    assert first.send and first.item.id == only.id
    content.RecordOutcome(
        pb.RecordOutcomeRequest(decision_id=first.decision_id, kind=pb.OUTCOME_KIND_DELIVERED)
    )
    again = nbc(content, ana)
    assert not again.send and again.no_send == pb.NO_SEND_REASON_NOTHING_ELIGIBLE
    assert "1 already sent" in again.reason


def test_audience_locale_and_kind_rules(stubs, db):
    store, content = stubs
    de_only = article(
        content,
        "Berlin meetup",
        audience=common_pb2.Rule(
            conditions=[common_pb2.Condition(field="country", op="in", values=["DE"])]
        ),
    )
    german = article(content, "Auf Deutsch", locale="de")
    job = article(content, "We are hiring", kind=pb.CONTENT_KIND_JOB_AD)
    wait_embedded(content, job.id)
    fr = person(store, db, "Flo", tz="Europe/Paris", country="FR", languages=["fr", "en"])
    seen = {o.content_id for o in nbc(content, fr).alternatives}
    assert de_only.id not in seen and german.id not in seen and job.id in seen
    de = person(store, db, "Dora", languages=["de"])
    seen = {o.content_id for o in nbc(content, de).alternatives}
    assert {de_only.id, german.id} <= seen
    r = nbc(content, de, kinds=[pb.CONTENT_KIND_JOB_AD])
    assert r.item.id == job.id and r.eligible_count == 1 and r.propensity == pytest.approx(1.0)


def test_unknown_candidate_role_or_bad_context(stubs, library, db):
    store, content = stubs
    missing = "01a00000-0000-7000-8000-000000000000"
    with pytest.raises(grpc.RpcError) as info:
        nbc(content, missing)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    ana = person(store, db)
    with pytest.raises(grpc.RpcError) as info:
        nbc(content, ana, role_id=missing)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        nbc(content, ana, channel="fax")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(info.value)[0][0] == "context.channel"


# ------------------------------------------------------------------ RecordOutcome


def timeline(store, cid):
    return store.ListTimeline(cpb.ListTimelineRequest(candidate_id=cid, page_size=100)).events


def test_outcomes_go_on_the_timeline_and_into_the_reward(stubs, library, db):
    store, content = stubs
    ana = person(store, db)
    r = nbc(content, ana)
    delivered = content.RecordOutcome(
        pb.RecordOutcomeRequest(decision_id=r.decision_id, kind=pb.OUTCOME_KIND_DELIVERED)
    )
    assert delivered.content_id == r.item.id and delivered.reward == 0.0
    clicked = content.RecordOutcome(
        pb.RecordOutcomeRequest(
            content=pb.ContentRef(candidate_id=ana, content_id=r.item.id),
            kind=pb.OUTCOME_KIND_CLICKED,
        )
    )
    assert clicked.decision_id == r.decision_id and clicked.reward == 1.0
    events = {e.kind: e for e in timeline(store, ana)}
    assert {"email_delivered", "email_clicked"} <= set(events)
    payload = dict(events["email_clicked"].payload)
    assert payload["decision_id"] == r.decision_id and payload["content_id"] == r.item.id
    assert events["email_clicked"].id == clicked.timeline_event_id
    row = decision_row(db, r.decision_id)
    assert row.reward == 1.0 and row.sent_at is not None and row.clicked_at is not None


def test_duplicate_outcomes_are_already_exists(stubs, library, db):
    store, content = stubs
    ana = person(store, db)
    r = nbc(content, ana)
    keyed = pb.RecordOutcomeRequest(
        decision_id=r.decision_id, kind=pb.OUTCOME_KIND_DELIVERED, outcome_key="esp-evt-1"
    )
    first = content.RecordOutcome(keyed)
    with pytest.raises(grpc.RpcError) as info:
        content.RecordOutcome(keyed)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first.id in info.value.details()
    at = stamp(datetime.now(UTC) - timedelta(minutes=1))
    unkeyed = pb.RecordOutcomeRequest(
        decision_id=r.decision_id, kind=pb.OUTCOME_KIND_OPENED, occurred_at=at
    )
    content.RecordOutcome(unkeyed)
    with pytest.raises(grpc.RpcError) as info:
        content.RecordOutcome(unkeyed)  # the same report again: the derived key matches
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    kinds = [e.kind for e in timeline(store, ana) if e.actor == "content"]
    assert sorted(kinds) == ["email_delivered", "email_opened"]  # nothing written twice


def test_machine_opens_are_flagged_and_left_out(stubs, library, db):
    store, content = stubs
    ana = person(store, db)
    r = nbc(content, ana)
    # Outcomes may not predate the decision nor lie minutes ahead: all within a few minutes.
    delivered_at = datetime.now(UTC)
    content.RecordOutcome(
        pb.RecordOutcomeRequest(
            decision_id=r.decision_id,
            kind=pb.OUTCOME_KIND_DELIVERED,
            occurred_at=stamp(delivered_at),
        )
    )
    prefetch = content.RecordOutcome(
        pb.RecordOutcomeRequest(
            decision_id=r.decision_id,
            kind=pb.OUTCOME_KIND_OPENED,
            occurred_at=stamp(delivered_at + timedelta(seconds=3)),
            user_agent="Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15",
        )
    )
    assert prefetch.machine and prefetch.machine_reason == "seconds_after_delivery"
    proxy = content.RecordOutcome(
        pb.RecordOutcomeRequest(
            decision_id=r.decision_id,
            kind=pb.OUTCOME_KIND_OPENED,
            occurred_at=stamp(delivered_at + timedelta(minutes=2)),
            user_agent="Mozilla/5.0",  # Apple Mail Privacy Protection
        )
    )
    assert proxy.machine and proxy.machine_reason == "user_agent"
    row = decision_row(db, r.decision_id)
    assert row.opened_at is None and row.reward == 0.0  # machines open nothing
    opens = [e for e in timeline(store, ana) if e.kind == "email_opened"]
    assert len(opens) == 2 and all(dict(e.payload).get("machine") is True for e in opens)
    human_at = delivered_at + timedelta(minutes=3)
    human = content.RecordOutcome(
        pb.RecordOutcomeRequest(
            decision_id=r.decision_id,
            kind=pb.OUTCOME_KIND_OPENED,
            occurred_at=stamp(human_at),
            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
        )
    )
    assert not human.machine
    assert decision_row(db, r.decision_id).opened_at == human_at


def test_an_unsubscribe_opts_out_at_once(stubs, library, db):
    store, content = stubs
    ana = person(store, db)
    r = nbc(content, ana)
    out = content.RecordOutcome(
        pb.RecordOutcomeRequest(decision_id=r.decision_id, kind=pb.OUTCOME_KIND_UNSUBSCRIBED)
    )
    assert out.opted_out
    got = store.GetCandidate(cpb.GetCandidateRequest(id=ana))
    assert got.consent_state == "opted_out"
    assert nbc(content, ana).no_send == pb.NO_SEND_REASON_OPTED_OUT


def test_bad_outcomes(stubs, library, db):
    store, content = stubs
    missing = "01a00000-0000-7000-8000-000000000000"
    cases = [
        (pb.RecordOutcomeRequest(decision_id=missing, kind=1), grpc.StatusCode.NOT_FOUND),
        (
            pb.RecordOutcomeRequest(
                content=pb.ContentRef(candidate_id=missing, content_id=library["k8s"].id),
                kind=1,
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
        (pb.RecordOutcomeRequest(kind=1), grpc.StatusCode.INVALID_ARGUMENT),
    ]
    ana = person(store, db)
    r = nbc(content, ana)
    cases += [
        (pb.RecordOutcomeRequest(decision_id=r.decision_id), grpc.StatusCode.INVALID_ARGUMENT),
        (
            pb.RecordOutcomeRequest(
                decision_id=r.decision_id,
                kind=1,
                occurred_at=stamp(datetime.now(UTC) + timedelta(days=1)),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]
    for request, code in cases:
        with pytest.raises(grpc.RpcError) as info:
            content.RecordOutcome(request)
        assert info.value.code() == code, request
    out = person(store, db, "Otto", state="opted_out")
    nothing = nbc(content, out)
    with pytest.raises(grpc.RpcError) as info:
        content.RecordOutcome(pb.RecordOutcomeRequest(decision_id=nothing.decision_id, kind=1))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
