"""Portal fixtures: a local SMTP sink the sign-in links go to, settings pointing at it, a
portal key, and the portal app over the real in-process gRPC `server`."""

from __future__ import annotations

import re
import time

import pytest
from mail_helpers import Sink
from mail_helpers import running as running_sink
from starlette.testclient import TestClient

from rapport.core.config import Settings
from rapport.core.domain import CandidateDraft, ConsentState, SkillClaim
from rapport.core.store import candidates, consent

PORTAL_URL = "http://portal.test"
LINK = re.compile(r"(https?://\S+/auth/([A-Za-z0-9_-]{43}))")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MAIL_WAIT_S = 30.0  # a generous deadline for a background thread to hand a mail over


class Mailbox(Sink):
    """The sink, and the sign-in links in what it received."""

    def wait_for_link(self, address: str, count: int = 1) -> str:
        """The sign-in link of the `count`-th mail to `address` (waits for it)."""
        deadline = time.monotonic() + MAIL_WAIT_S
        while time.monotonic() < deadline:
            mails = self.to(address)
            if len(mails) >= count:
                return LINK.search(mails[count - 1].body()).group(1)
            time.sleep(0.02)
        raise AssertionError(f"no mail number {count} to {address}")


@pytest.fixture
def mailbox():
    with running_sink(Mailbox()) as box:
        yield box


@pytest.fixture
def settings(settings, mailbox) -> Settings:
    return Settings(
        **(
            settings.model_dump()
            | {
                "outreach_smtp_host": "127.0.0.1",
                "outreach_smtp_port": mailbox.port,
                "outreach_smtp_timeout_s": 10.0,
                "outreach_from_address": "talent@rapport.test",
                "outreach_unsubscribe_url": f"{PORTAL_URL}/unsubscribe",
                "portal_public_url": PORTAL_URL,
                "portal_sign_in_email_per_hour": 3.0,
                "content_quiet_hours": "",
            }
        )
    )


@pytest.fixture
def portal_key(make_key) -> str:
    return make_key("portal", label="portal")


@pytest.fixture
def portal(server, portal_key, settings):
    """A TestClient of the portal app, calling `server` with the portal key."""
    from rapport.portal.server import portal_app

    configured = settings.model_copy(update={"portal_api_key": portal_key})
    with portal_app(configured, server) as app, TestClient(app, base_url=PORTAL_URL) as client:
        yield client


@pytest.fixture
def person(db):
    """person("ada@example.com", ...) -> candidate id (consent granted, a skill)."""

    def make(address: str, first: str = "Ada", **extra) -> str:
        draft = CandidateDraft(
            first_name=first,
            last_name="Lovelace",
            emails=[address],
            headline="Analyst",
            skills=[SkillClaim("python", "Python")],
            **extra,
        )
        with db.transaction() as s:
            cid = candidates.create(s, draft).id
            consent.set_state(s, cid, ConsentState.GRANTED, basis="consent")
        return cid

    return make


def csrf(page) -> str:
    return CSRF.search(page.text).group(1)


def post(client, path: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """POSTs a form with the CSRF token of `page` (default: `path` itself, fetched)."""
    token = csrf(client.get(page or path))
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def sign_in(client, mailbox: Mailbox, address: str, count: int = 1):
    """Signs in by the mailed link; returns the redeeming response."""
    answer = post(client, "/sign-in", {"email": address})
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    link = mailbox.wait_for_link(address, count)
    path = link.removeprefix(PORTAL_URL)
    done = post(client, path, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/profile", done.text
    return done
