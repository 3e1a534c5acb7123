"""Portal fixtures: a local SMTP sink the sign-in links go to, settings pointing at it, a
portal key, and the portal app over the real in-process gRPC `server`."""

from __future__ import annotations

import pytest
from mail_helpers import running as running_sink
from portal_helpers import PORTAL_URL, Mailbox
from starlette.testclient import TestClient

from rapport.core.config import Settings
from rapport.core.domain import CandidateDraft, ConsentState, SkillClaim
from rapport.core.store import candidates, consent


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
