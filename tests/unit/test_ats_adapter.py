"""The ATS adapter layer (issue 9): web hook signatures, Greenhouse web hook parsing, the
Harvest client against the fake ATS (localhost), our generic web hook shape, backoff."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from rapport.core.ats import APPLIED, HIRED, REJECTED, STAGE_CHANGED
from rapport.services.ats import generic
from rapport.services.ats.adapter import (
    AtsRejected,
    AtsUnavailable,
    NewPerson,
    WebhookMalformed,
    WebhookRefused,
)
from rapport.services.ats.fake_server import FakeAts
from rapport.services.ats.greenhouse import GreenhouseAdapter, events_from_webhook
from rapport.services.ats.signatures import (
    greenhouse_signature,
    rapport_signature,
    verify_greenhouse,
    verify_rapport,
)
from rapport.services.ats.use_cases import backoff_s

SECRET = "s3cret"


# ---------------------------------------------------------------- signatures


def test_greenhouse_signature_valid_forged_missing():
    body = b'{"action":"ping"}'
    verify_greenhouse(SECRET, greenhouse_signature(SECRET, body), body)
    verify_greenhouse(SECRET, greenhouse_signature(SECRET, body).upper(), body)  # hex case
    with pytest.raises(WebhookRefused, match="does not match"):
        verify_greenhouse(SECRET, greenhouse_signature("other", body), body)
    with pytest.raises(WebhookRefused, match="does not match"):
        verify_greenhouse(SECRET, greenhouse_signature(SECRET, body), body + b" ")
    for header in (None, "", "sha256", "sha1 abc", "sha256 é"):
        with pytest.raises(WebhookRefused):
            verify_greenhouse(SECRET, header, body)
    with pytest.raises(WebhookRefused, match="no web hook secret"):
        verify_greenhouse("", greenhouse_signature("", body), body)


def test_rapport_signature_valid_forged_missing_stale():
    body = b'{"id":"e1"}'
    now = time.time()
    verify_rapport(SECRET, rapport_signature(SECRET, body, now), body, 300, now=now)
    # a rotating sender sends two signatures: either may match
    two = rapport_signature(SECRET, body, now) + ",v1=" + "0" * 64
    verify_rapport(SECRET, two, body, 300, now=now)
    with pytest.raises(WebhookRefused, match="does not match"):
        verify_rapport(SECRET, rapport_signature("other", body, now), body, 300, now=now)
    with pytest.raises(WebhookRefused, match="does not match"):
        # the time is signed too: moving it breaks the signature
        sig = rapport_signature(SECRET, body, now).replace(f"t={int(now)}", f"t={int(now) + 1}")
        verify_rapport(SECRET, sig, body, 300, now=now)
    with pytest.raises(WebhookRefused, match="tolerance"):
        verify_rapport(SECRET, rapport_signature(SECRET, body, now - 301), body, 300, now=now)
    with pytest.raises(WebhookRefused, match="tolerance"):
        verify_rapport(SECRET, rapport_signature(SECRET, body, now + 301), body, 300, now=now)
    for header in (None, "", "v1=abc", "t=1", "t=x,v1=abc", "t=1,t=2,v1=abc"):
        with pytest.raises(WebhookRefused, match="malformed"):
            verify_rapport(SECRET, header, body, 300, now=now)


# ---------------------------------------------------------------- Greenhouse web hooks


def _application(**changes) -> dict:
    app = {
        "id": 71,
        "status": "active",
        "applied_at": "2026-01-02T10:00:00.000Z",
        "rejected_at": None,
        "current_stage": {"id": 9, "name": "Phone Screen"},
        "jobs": [{"id": 5, "name": "Backend engineer"}],
        "rejection_reason": None,
        "candidate": {
            "id": 33,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email_addresses": [{"value": "ada@example.com", "type": "personal"}],
        },
    }
    return app | changes


def _hook(action: str, **changes) -> bytes:
    return json.dumps(
        {"action": action, "payload": {"application": _application(**changes)}}
    ).encode()


def test_greenhouse_actions_become_events():
    (applied,) = events_from_webhook(_hook("new_candidate_application"))
    assert applied.kind == APPLIED and applied.ats == "greenhouse"
    assert (applied.application_id, applied.job_id, applied.job_name) == (
        "71",
        "5",
        "Backend engineer",
    )
    assert applied.person.ats_candidate_id == "33"
    assert applied.person.emails == ("ada@example.com",)
    assert applied.occurred_at == datetime(2026, 1, 2, 10, tzinfo=UTC)
    (moved,) = events_from_webhook(_hook("candidate_stage_change"))
    assert moved.kind == STAGE_CHANGED and moved.stage == "Phone Screen"
    (rejected,) = events_from_webhook(
        _hook(
            "reject_candidate_application",
            status="rejected",
            rejection_reason={"id": 1, "name": "Lacking skill(s)"},
        )
    )
    assert rejected.kind == REJECTED and rejected.reason == "Lacking skill(s)"
    (hired,) = events_from_webhook(_hook("hire_candidate", status="hired"))
    assert hired.kind == HIRED
    # the same body is the same delivery; another body another
    assert (
        moved.delivery_key == events_from_webhook(_hook("candidate_stage_change"))[0].delivery_key
    )
    assert moved.delivery_key != applied.delivery_key
    assert events_from_webhook(b'{"action": "ping", "payload": {}}') == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"payload": {}}',
        b'{"action": "candidate_stage_change", "payload": {}}',
        b'{"action": "candidate_stage_change", "payload": {"application": {"id": 1}}}',
        b'{"action": "candidate_stage_change", "payload": {"application": "x"}}',
    ],
)
def test_malformed_greenhouse_hooks_are_refused(body):
    with pytest.raises(WebhookMalformed):
        events_from_webhook(body)


# ---------------------------------------------------------------- generic web hooks


def _generic(document: dict, *, secret: str = SECRET, at: float | None = None):
    body = json.dumps(document).encode()
    return {"X-Rapport-Signature": rapport_signature(secret, body, at)}, body


GENERIC = {
    "id": "evt-1",
    "type": "rejected",
    "candidate": {"id": "c-1", "first_name": "Grace", "emails": ["grace@example.com"]},
    "application": {"id": "a-1", "job_id": "j-1", "job_name": "SRE", "reason": "Timing"},
}


def test_generic_shape():
    (event,) = generic.parse(*_generic(GENERIC), SECRET, 300)
    assert (event.kind, event.delivery_key, event.reason) == ("rejected", "event:evt-1", "Timing")
    assert event.person.emails == ("grace@example.com",)
    with pytest.raises(WebhookRefused):
        generic.parse(*_generic(GENERIC, secret="forged"), SECRET, 300)
    for broken in (
        GENERIC | {"type": "promoted"},
        GENERIC | {"id": ""},
        {k: v for k, v in GENERIC.items() if k != "candidate"},
        GENERIC | {"candidate": {"emails": "x"}},
        GENERIC | {"occurred_at": "yesterday"},
    ):
        with pytest.raises(WebhookMalformed):
            generic.parse(*_generic(broken), SECRET, 300)


# ---------------------------------------------------------------- the Harvest client


@pytest.fixture
def served():
    ats = FakeAts()
    server = ats.serve()
    yield ats, server.url
    server.stop()


@pytest.fixture
def fake(served):
    return served[0]


@pytest.fixture
def adapter(served):
    fake, url = served
    client = GreenhouseAdapter(url, fake.api_key, "42", fake.webhook_secret, timeout_s=5)
    yield client
    client.close()


def _person(email: str = "lin@example.com", ref: str = "rapport:1") -> NewPerson:
    return NewPerson("Lin", "Chen", (email,) if email else (), (), ref)


def test_create_find_and_read_back(fake, adapter):
    job = fake.add_job("Data engineer")
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert adapter.find_candidate(("lin@example.com",), "rapport:1", since) is None
    candidate_id, application_id = adapter.create_candidate_with_application(_person(), job)
    assert fake.requests[-1] == ("POST", "/v1/candidates")
    found = adapter.find_candidate(("LIN@example.com",), "", since)
    assert found.id == candidate_id and found.applications == {job: application_id}
    app = adapter.get_application(application_id)
    assert (app.job_id, app.status, app.stage) == (job, "active", "Application Review")
    assert adapter.get_person(candidate_id).emails == ("lin@example.com",)
    second = fake.add_job("Analyst")
    other = adapter.add_application(candidate_id, second)
    assert {a["id"] for a in fake.applications_of(candidate_id)} == {
        int(application_id),
        int(other),
    }


def test_found_by_reference_across_pages(fake, adapter, monkeypatch):
    """No email: the person is found by our reference tag, following Link pages."""
    import rapport.services.ats.greenhouse as gh

    monkeypatch.setattr(gh, "PER_PAGE", 2)
    job = fake.add_job("Data engineer")
    since = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(5):
        adapter.create_candidate_with_application(_person(f"p{i}@example.com", f"rapport:{i}"), job)
    target, _ = adapter.create_candidate_with_application(_person("", "rapport:target"), job)
    assert adapter.find_candidate((), "rapport:target", since).id == target
    pages = [r for r in fake.requests if r == ("GET", "/v1/candidates")]
    assert len(pages) == 3  # 6 people, 2 a page
    assert len(adapter.list_applications(since)) == 6
    assert adapter.list_applications(datetime.now(UTC) + timedelta(minutes=1)) == []


def test_errors_say_whether_to_retry(served, adapter):
    fake, url = served
    job = fake.add_job("Data engineer")
    fake.faults.fail_next = 1
    with pytest.raises(AtsUnavailable, match="HTTP 500"):
        adapter.create_candidate_with_application(_person(), job)
    assert fake.candidates == {}  # a 500 before anything was done
    with pytest.raises(AtsRejected, match="job ids are numbers"):
        adapter.create_candidate_with_application(_person(), "not-a-number")
    with pytest.raises(AtsRejected, match="HTTP 422"):
        adapter.create_candidate_with_application(_person(), "999999")
    wrong_key = GreenhouseAdapter(url, "wrong", "42", "")
    with pytest.raises(AtsRejected, match="HTTP 401"):
        wrong_key.get_application("1")
    wrong_key.close()
    nobody = GreenhouseAdapter(url, fake.api_key, "", "")
    with pytest.raises(AtsRejected, match="HTTP 403"):  # writes need On-Behalf-Of
        nobody.create_candidate_with_application(_person(), job)
    nobody.close()
    fake.faults.drop_next_creates = 1
    with pytest.raises(AtsUnavailable, match="HTTP 502"):
        adapter.create_candidate_with_application(_person(), job)
    assert len(fake.candidates_with_email("lin@example.com")) == 1  # done, answer lost


def test_unreachable_ats_is_retryable():
    dead = GreenhouseAdapter("http://127.0.0.1:9", "k", "1", "", timeout_s=1)
    with pytest.raises(AtsUnavailable):
        dead.get_application("1")
    dead.close()


# ---------------------------------------------------------------- backoff


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    for attempts, full in ((1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)):
        delays = [backoff_s(attempts, 2.0, 60.0, rng) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1  # jittered
