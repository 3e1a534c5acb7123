"""Signing in with a one-time link: the RPCs and the pages, including links that are
expired, replayed or unknown, CSRF and rate limits."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from portal_helpers import PORTAL_URL, post, sign_in
from sqlalchemy import select, update

from rapport.core.domain import ConsentState
from rapport.core.store import consent
from rapport.core.store.schema import AuditRow, SignInLinkRow
from rapport.services.common.channels import open_channel
from rapport.v1 import portal_pb2, portal_pb2_grpc, privacy_pb2, privacy_pb2_grpc


@pytest.fixture
def stub(server, portal_key):
    with open_channel(server, portal_key) as channel:
        yield portal_pb2_grpc.CandidatePortalServiceStub(channel)


def ask(stub, address: str, base: str = f"{PORTAL_URL}/auth"):
    return stub.RequestSignInLink(
        portal_pb2.RequestSignInLinkRequest(email=address, link_base_url=base)
    )


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_a_link_signs_in_once_and_only_the_hash_is_stored(stub, mailbox, person, db):
    cid = person("ada@example.com")
    assert ask(stub, "  Ada@Example.com ").valid_minutes == 15
    link = mailbox.wait_for_link("ada@example.com")
    assert link.startswith(f"{PORTAL_URL}/auth/")
    mail = mailbox.to("ada@example.com")[0].message
    assert mail["Subject"] == "Your sign-in link" and "List-Unsubscribe" not in mail
    token = token_of(link)
    with db.read() as s:
        stored = s.execute(select(SignInLinkRow.token_hash)).scalars().all()
    assert stored and token not in stored  # only the hash
    redeemed = stub.RedeemSignInLink(portal_pb2.RedeemSignInLinkRequest(token=token))
    assert redeemed.candidate_id == cid
    with pytest.raises(grpc.RpcError) as replay:
        stub.RedeemSignInLink(portal_pb2.RedeemSignInLinkRequest(token=token))
    assert replay.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "already been used" in replay.value.details()
    with db.read() as s:
        actions = s.execute(select(AuditRow.action, AuditRow.target_id)).all()
    assert ("portal.signed_in", cid) in actions
    assert ("portal.sign_in_requested", cid) in actions
    assert any(a == "portal.sign_in_refused" for a, _ in actions)


def test_expired_and_unknown_links_are_refused_with_their_reason(stub, mailbox, person, db):
    person("bob@example.com", "Bob")
    ask(stub, "bob@example.com")
    token = token_of(mailbox.wait_for_link("bob@example.com"))
    with db.transaction() as s:
        s.execute(update(SignInLinkRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    for given, reason in (
        (token, "expired"),
        (secrets.token_urlsafe(32), "not a valid sign-in link"),
        ("short", "not a valid sign-in link"),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            stub.RedeemSignInLink(portal_pb2.RedeemSignInLinkRequest(token=given))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason in refused.value.details()


def test_two_redeems_at_once_one_wins(stub, mailbox, person):
    person("race@example.com")
    ask(stub, "race@example.com")
    token = token_of(mailbox.wait_for_link("race@example.com"))

    def redeem(_):
        try:
            stub.RedeemSignInLink(portal_pb2.RedeemSignInLinkRequest(token=token))
            return "won"
        except grpc.RpcError as err:
            return err.code()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(redeem, range(4)))
    assert results.count("won") == 1
    assert results.count(grpc.StatusCode.UNAUTHENTICATED) == 3


def test_unknown_and_erased_people_get_the_same_answer_and_no_mail(stub, mailbox, person, channel):
    gone = person("gone@example.com")
    privacy_pb2_grpc.PrivacyServiceStub(channel).EraseCandidate(
        privacy_pb2.EraseCandidateRequest(candidate_id=gone)
    )
    person("known@example.com")
    answers = [ask(stub, a) for a in ("nobody@example.com", "gone@example.com")]
    answers.append(ask(stub, "known@example.com"))
    assert len({a.SerializeToString() for a in answers}) == 1
    mailbox.wait_for_link("known@example.com")  # mail goes out in order: the others first
    assert not mailbox.to("nobody@example.com") and not mailbox.to("gone@example.com")


def test_opted_out_people_can_sign_in(stub, mailbox, person, db):
    cid = person("out@example.com")
    with db.transaction() as s:
        consent.set_state(s, cid, ConsentState.OPTED_OUT)
    ask(stub, "out@example.com")
    token = token_of(mailbox.wait_for_link("out@example.com"))
    assert (
        stub.RedeemSignInLink(portal_pb2.RedeemSignInLinkRequest(token=token)).candidate_id == cid
    )


def test_bad_requests_are_invalid_arguments(stub):
    for address, base in (
        ("not an address", f"{PORTAL_URL}/auth"),
        ("a@example.com", "javascript:alert(1)"),
        ("a@example.com", "https://portal.test/auth?next=evil"),
    ):
        with pytest.raises(grpc.RpcError) as bad:
            ask(stub, address, base)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_open_links_are_capped_per_person(stub, mailbox, person, settings):
    person("many@example.com")
    for _ in range(settings.portal_sign_in_open_links + 2):
        ask(stub, "many@example.com")
    ask(stub, "nobody@example.com")  # a marker: the queue is drained once nothing is pending
    mailbox.wait_for_link("many@example.com", settings.portal_sign_in_open_links)
    assert len(mailbox.to("many@example.com")) == settings.portal_sign_in_open_links


def test_a_recruiter_key_may_not_sign_anyone_in(server, make_key):
    with (
        open_channel(server, make_key("recruiter")) as ch,
        pytest.raises(grpc.RpcError) as denied,
    ):
        ask(portal_pb2_grpc.CandidatePortalServiceStub(ch), "a@example.com")
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


# ---------------------------------------------------------------- the pages


def test_sign_in_pages(portal, mailbox, person):
    person("ada@example.com")
    assert portal.get("/profile", follow_redirects=False).headers["location"] == "/sign-in"
    cookie = sign_in(portal, mailbox, "ada@example.com").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=1800" in cookie
    page = portal.get("/profile")
    assert page.status_code == 200 and "Hello, Ada" in page.text
    out = post(portal, "/sign-out", page="/profile", follow_redirects=False)
    assert out.headers["location"] == "/sign-in"
    assert portal.get("/profile", follow_redirects=False).status_code == 303


def test_the_link_page_does_not_use_the_link_up(portal, mailbox, person):
    person("scan@example.com")
    post(portal, "/sign-in", {"email": "scan@example.com"})
    path = mailbox.wait_for_link("scan@example.com").removeprefix(PORTAL_URL)
    for _ in range(3):  # a mail scanner fetching the link
        page = portal.get(path)
        assert page.status_code == 200 and ">Sign in</button>" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    assert post(portal, path, follow_redirects=False).status_code == 303
    again = post(portal, path)
    assert again.status_code == 401 and "already been used" in again.text
    assert 'role="alert"' in again.text


def test_expired_and_unknown_link_pages(portal, mailbox, person, db):
    person("late@example.com")
    post(portal, "/sign-in", {"email": "late@example.com"})
    path = mailbox.wait_for_link("late@example.com").removeprefix(PORTAL_URL)
    with db.transaction() as s:
        s.execute(update(SignInLinkRow).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    expired = post(portal, path)
    assert expired.status_code == 401 and "expired" in expired.text
    unknown = post(portal, f"/auth/{secrets.token_urlsafe(32)}")
    assert unknown.status_code == 401 and "not a valid sign-in link" in unknown.text
    assert "/profile" not in unknown.text  # still signed out


def test_the_same_answer_for_unknown_addresses_on_the_page(portal, person):
    person("ada@example.com")
    known = post(portal, "/sign-in", {"email": "ada@example.com"})
    unknown = post(portal, "/sign-in", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text  # no form on it: nothing differs
    invalid = post(portal, "/sign-in", {"email": "not an address"})
    assert invalid.status_code == 400 and 'role="alert"' in invalid.text


def test_posts_without_the_sessions_csrf_token_are_refused(portal, mailbox, person):
    person("ada@example.com")
    portal.get("/sign-in")
    assert portal.post("/sign-in", data={"email": "ada@example.com"}).status_code == 403
    forged = portal.post("/sign-in", data={"email": "ada@example.com", "csrf_token": "x" * 43})
    assert forged.status_code == 403 and "expired" in forged.text
    sign_in(portal, mailbox, "ada@example.com")
    refused = portal.post("/preferences/unsubscribe", data={})
    assert refused.status_code == 403


def test_sign_in_requests_are_rate_limited_per_email(portal, settings):
    limit = int(settings.portal_sign_in_email_per_hour)
    for _ in range(limit):
        assert post(portal, "/sign-in", {"email": "someone@example.com"}).status_code == 200
    limited = post(portal, "/sign-in", {"email": "SomeOne@example.com"})
    assert limited.status_code == 429 and "Too many sign-in requests" in limited.text
    assert post(portal, "/sign-in", {"email": "other@example.com"}).status_code == 200


def test_security_headers(portal):
    page = portal.get("/sign-in")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    missing = portal.get("/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.text
