"""The signed-in pages over the real services: profile and skills (with optimistic
concurrency), preferences and unsubscribing from everything, RFC 8058 one-click
unsubscribe, recommendations, export and erasure."""

from __future__ import annotations

import json
import re
import time

import grpc
import pytest
from portal_helpers import PORTAL_URL, csrf, post, sign_in

from rapport.services.outreach.scheduler import Scheduler
from rapport.v1 import (
    candidates_pb2,
    candidates_pb2_grpc,
    content_pb2,
    content_pb2_grpc,
    outreach_pb2,
    outreach_pb2_grpc,
    privacy_pb2,
    privacy_pb2_grpc,
)


@pytest.fixture
def ada(portal, mailbox, person):
    cid = person("ada@example.com")
    sign_in(portal, mailbox, "ada@example.com")
    return cid


def version_on(page) -> str:
    return re.search(r'name="version" value="(\d+)"', page.text).group(1)


def get_candidate(channel, cid):
    stub = candidates_pb2_grpc.CandidateServiceStub(channel)
    return stub.GetCandidate(candidates_pb2.GetCandidateRequest(id=cid))


def test_profile_update(portal, ada, channel):
    page = portal.get("/profile")
    form = {
        "version": version_on(page),
        "first_name": "Ada",
        "last_name": "King",
        "headline": "Data engineer",
        "summary": "Pipelines.",
        "city": "London",
        "country": "United Kingdom",
        "timezone": "Europe/London",
        "languages": "en, fr",
    }
    saved = post(portal, "/profile", form)
    assert saved.status_code == 200 and "Your profile is saved" in saved.text
    stored = get_candidate(channel, ada)
    assert (stored.last_name, stored.headline, stored.location.country) == (
        "King",
        "Data engineer",
        "GB",
    )
    assert list(stored.languages) == ["en", "fr"]
    stale = post(portal, "/profile", form | {"headline": "Something else"})
    assert stale.status_code == 409 and "changed elsewhere" in stale.text
    assert get_candidate(channel, ada).headline == "Data engineer"
    bad = post(portal, "/profile", form | {"version": "0", "timezone": "Mars/Base"})
    assert bad.status_code == 400 and "timezone" in bad.text and 'role="alert"' in bad.text


def test_skills_are_added_by_their_canonical_name_and_removed(portal, ada, channel):
    page = portal.get("/profile")
    added = post(portal, "/profile/skills", {"skill": "k8s", "version": version_on(page)})
    assert added.status_code == 200
    skills = {s.skill_id: s for s in get_candidate(channel, ada).skills}
    assert "kubernetes" in skills and skills["kubernetes"].source == "portal"
    assert f"Added {skills['kubernetes'].label}" in added.text
    assert skills["kubernetes"].label in portal.get("/profile").text
    again = post(portal, "/profile/skills", {"skill": "Kubernetes", "version": version_on(added)})
    assert "already had" in again.text
    removed = post(
        portal,
        "/profile/skills/remove",
        {"skill_id": "kubernetes", "version": version_on(again)},
        page="/profile",
    )
    assert removed.status_code == 200 and "Removed" in removed.text
    assert {s.skill_id for s in get_candidate(channel, ada).skills} == {"python"}
    empty = post(portal, "/profile/skills", {"skill": "  ", "version": version_on(removed)})
    assert empty.status_code == 400


def test_preferences_and_unsubscribe_from_everything(portal, ada, channel):
    page = portal.get("/preferences")
    assert page.status_code == 200 and 'value="yes" checked' in page.text
    saved = post(
        portal,
        "/preferences",
        {
            "contact": "yes",
            **{f"channel_{c}": "on" for c in ("email", "sms", "phone", "linkedin")},
            "topic": ["jobs", "events", "not-a-topic"],
        },
    )
    assert saved.status_code == 200 and "preferences are saved" in saved.text
    privacy = privacy_pb2_grpc.PrivacyServiceStub(channel)
    stored = privacy.GetConsent(privacy_pb2.GetConsentRequest(candidate_id=ada))
    assert stored.state == "granted" and stored.may_contact
    assert {p.channel: list(p.topics) for p in stored.preferences}["email"] == ["jobs", "events"]
    out = post(portal, "/preferences/unsubscribe", page="/preferences")
    assert out.status_code == 200 and "unsubscribed from everything" in out.text
    stored = privacy.GetConsent(privacy_pb2.GetConsentRequest(candidate_id=ada))
    assert stored.state == "opted_out" and not stored.may_contact
    assert 'value="no" checked' in out.text


def mailed_unsubscribe_path(db, settings, channel, mailbox, cid) -> str:
    """Sends the candidate one outreach mail and returns its one-click unsubscribe path."""
    outreach = outreach_pb2_grpc.OutreachServiceStub(channel)
    seq = outreach.CreateSequence(
        outreach_pb2.CreateSequenceRequest(
            sequence=outreach_pb2.Sequence(
                name="Hello",
                steps=[outreach_pb2.SequenceStep(channel="email", subject="Hi", body="Hello")],
            )
        )
    )
    outreach.Enrol(
        outreach_pb2.EnrolRequest(
            sequence_id=seq.id, candidates=outreach_pb2.EnrolCandidateIds(ids=[cid])
        )
    )
    scheduler = Scheduler(db, settings)
    try:
        scheduler.run(once=True)
    finally:
        scheduler.close()
    header = next(
        r.message for r in mailbox.to("ada@example.com") if r.message["List-Unsubscribe"]
    )
    link = re.search(
        rf"<({re.escape(PORTAL_URL)}/unsubscribe/[0-9a-f]+)>", str(header["List-Unsubscribe"])
    )
    return link.group(1).removeprefix(PORTAL_URL)


def test_one_click_unsubscribe(portal, person, db, settings, channel, mailbox):
    cid = person("ada@example.com")
    path = mailed_unsubscribe_path(db, settings, channel, mailbox, cid)
    page = portal.get(path)  # shows a button, changes nothing
    assert page.status_code == 200 and "List-Unsubscribe" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    privacy = privacy_pb2_grpc.PrivacyServiceStub(channel)
    assert privacy.GetConsent(privacy_pb2.GetConsentRequest(candidate_id=cid)).state == "granted"
    portal.cookies.clear()  # a mail client: no session, no CSRF token
    done = portal.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert privacy.GetConsent(privacy_pb2.GetConsentRequest(candidate_id=cid)).state == "opted_out"
    again = portal.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and "already unsubscribed" in again.text
    assert portal.post(path, data={}).status_code == 400
    unknown = portal.post("/unsubscribe/" + "f" * 32, data={"List-Unsubscribe": "One-Click"})
    assert unknown.status_code == 404
    assert (
        portal.post("/unsubscribe/..%2Fx", data={"List-Unsubscribe": "One-Click"}).status_code
        == 404
    )


def test_recommended_for_you(portal, ada, channel):
    empty = portal.get("/recommended")
    assert empty.status_code == 200 and "Nothing new for you" in empty.text
    content = content_pb2_grpc.ContentServiceStub(channel)
    content.CreateContent(
        content_pb2.CreateContentRequest(
            item=content_pb2.ContentItem(
                kind=content_pb2.CONTENT_KIND_ARTICLE,
                title="Python at scale",
                subject="{{ first_name }}, a read for you",
                body="How teams run Python in production.",
                url="https://blog.example.com/python",
                topics=["python"],
            )
        )
    )
    # the library embeds a new item in the background: until then the page says to retry
    deadline = time.monotonic() + 30
    while True:
        page = portal.get("/recommended")
        if page.status_code != 503 or time.monotonic() > deadline:
            break
        assert "Traceback" not in page.text
        time.sleep(0.1)
    assert page.status_code == 200 and "Python at scale" in page.text
    assert "Ada, a read for you" in page.text


def test_export_downloads_my_data(portal, ada):
    document = post(portal, "/my-data/export", page="/my-data")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/json")
    assert "attachment" in document.headers["content-disposition"]
    assert ada in json.dumps(json.loads(document.content))


def test_erasure_needs_confirmation_then_signs_out(portal, ada, channel):
    page = portal.get("/my-data/erase")
    assert page.status_code == 200 and 'name="confirm"' in page.text
    unconfirmed = portal.post("/my-data/erase", data={"csrf_token": csrf(page)})
    assert unconfirmed.status_code == 400
    get_candidate(channel, ada)  # still there
    done = portal.post("/my-data/erase", data={"csrf_token": csrf(page), "confirm": "yes"})
    assert done.status_code == 200 and "Your data is erased" in done.text
    with pytest.raises(grpc.RpcError) as gone:
        get_candidate(channel, ada)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert portal.get("/profile", follow_redirects=False).headers["location"] == "/sign-in"


def test_a_session_of_someone_erased_elsewhere_is_signed_out(portal, ada, channel):
    privacy_pb2_grpc.PrivacyServiceStub(channel).EraseCandidate(
        privacy_pb2.EraseCandidateRequest(candidate_id=ada)
    )
    page = portal.get("/profile")
    assert page.status_code == 404 and "You are signed out" in page.text
    assert portal.get("/profile", follow_redirects=False).status_code == 303
