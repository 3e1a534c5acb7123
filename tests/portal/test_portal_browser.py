"""The portal in a real browser (Debian's chromium driven by Playwright, headless): the
real app served by uvicorn on a free port, the in-process gRPC services behind it and an
SMTP sink. A candidate asks for a link, reads it from the mail, signs in, adds a skill with
the keyboard alone, unsubscribes from everything and books a call. Screenshots of each
page go to test-artifacts/portal/; the profile's also to docs/portal.png (the README's).

Skips, saying so, when chromium is not installed (`make browser`); CI sets
CI_REQUIRE_BROWSER=1, which turns that skip into a failure. Nothing is downloaded."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mail_helpers import free_port

from rapport.core.domain import CandidateDraft, ConsentState, SkillClaim
from rapport.core.store import candidates, consent
from rapport.core.taxonomy import Taxonomy
from rapport.services.common.http_thread import ServerThread
from rapport.v1 import scheduling_pb2, scheduling_pb2_grpc

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI_REQUIRE_BROWSER") == "1":  # CI: never skip
    raise RuntimeError("CI_REQUIRE_BROWSER=1 but chromium is not installed (make browser)")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make browser, or apt-get install chromium)"
)
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artifacts" / "portal"
README_SHOT = ROOT / "docs" / "portal.png"
START_TIMEOUT_S = 30.0
STEP_TIMEOUT_MS = 30_000
EMAIL = "ada.lovelace@example.com"


@pytest.fixture
def portal_url(server, settings, portal_key):
    """The portal served by uvicorn in a thread, as `rapport portal` serves it."""
    from rapport.portal.server import portal_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    configured = settings.model_copy(
        update={"portal_api_key": portal_key, "portal_public_url": url}
    )
    with portal_app(configured, server) as app:
        web = ServerThread(app, port=port).start(START_TIMEOUT_S)
        yield url
        web.stop()


@pytest.fixture
def ada(db) -> str:
    draft = CandidateDraft(
        first_name="Ada",
        last_name="Lovelace",
        emails=[EMAIL],
        headline="Senior data engineer · Python, Spark and analytical engines",
        summary=(
            "Ten years building data platforms: batch and streaming pipelines, "
            "warehouse modelling and the tooling analysts love."
        ),
        city="London",
        country="GB",
        timezone="Europe/London",
        languages=["en", "fr"],
        skills=[
            SkillClaim(*Taxonomy.bundled().resolve(name))
            for name in ("Python", "SQL", "Apache Spark", "Airflow", "dbt")
        ],
    )
    with db.transaction() as s:
        cid = candidates.create(s, draft).id
        consent.set_state(s, cid, ConsentState.GRANTED, basis="consent")
    return cid


@pytest.fixture
def calendar(channel) -> str:
    """A recruiter's calendar from an inline ICS feed, open every day for the next week."""
    busy_start = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    ics = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Rapport tests//EN",
            "BEGIN:VEVENT",
            "UID:busy-1@rapport.test",
            f"DTSTAMP:{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
            f"DTSTART:{busy_start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{busy_start + timedelta(hours=2):%Y%m%dT%H%M%SZ}",
            "SUMMARY:Team meeting",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    stub = scheduling_pb2_grpc.SchedulingServiceStub(channel)
    made = stub.PutCalendar(
        scheduling_pb2.PutCalendarRequest(
            calendar=scheduling_pb2.Calendar(
                owner_name="Grace Hopper",
                owner_email="grace@example.com",
                timezone="Europe/Berlin",
                working_hours=[
                    scheduling_pb2.WorkingHours(weekday=d, start="08:00", end="18:00")
                    for d in range(1, 8)
                ],
                slot_minutes=30,
                min_notice_hours=1,
                horizon_days=7,
            ),
            ics=ics,
        )
    )
    return made.calendar_id


def shot(page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def test_a_candidate_uses_the_portal_in_a_browser(portal_url, mailbox, ada, calendar):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            # sign in by magic link, the form driven by the keyboard alone
            page.goto(f"{portal_url}/sign-in")
            shot(page, "01-sign-in")
            page.keyboard.press("Tab")  # the skip link comes first
            expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
            page.get_by_label("Email address").focus()
            page.keyboard.type(EMAIL)
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
            shot(page, "02-check-your-inbox")
            link = mailbox.wait_for_link(EMAIL)
            assert link.startswith(portal_url)
            page.goto(link)
            shot(page, "03-sign-in-link")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Hello, Ada")).to_be_visible()

            # add a skill with the keyboard: free text, shown by its canonical name
            page.get_by_label("Add a skill").focus()
            page.keyboard.type("k8s")
            page.keyboard.press("Enter")
            expect(page.get_by_role("status")).to_contain_text("Added Kubernetes")
            expect(page.locator(".skill-label", has_text="Kubernetes")).to_be_visible()
            page.mouse.move(0, 0)
            profile = shot(page, "04-profile")
            README_SHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(README_SHOT))  # the first screen, as the README shows it
            assert profile.stat().st_size > 20_000

            # unsubscribe from everything
            page.get_by_role("link", name="Preferences").click()
            page.get_by_role("button", name="Unsubscribe from everything").click()
            expect(page.get_by_role("status")).to_contain_text("unsubscribed from everything")
            expect(page.get_by_label("No, do not contact me")).to_be_checked()
            shot(page, "05-preferences")

            page.get_by_role("link", name="For you").click()
            expect(page.get_by_role("heading", name="Recommended for you")).to_be_visible()
            shot(page, "06-recommended")

            # book a call in the candidate's timezone
            page.get_by_role("link", name="Book a call").click()
            shot(page, "07-book")
            page.get_by_role("link", name="See free times with Grace Hopper").click()
            expect(page.get_by_text("Times are in your time zone, Europe/London")).to_be_visible()
            shot(page, "08-slots")
            page.locator('input[name="start"]').first.check()
            page.get_by_label("What would you like to talk about?").fill("The data platform role")
            page.get_by_role("button", name="Book this time").click()
            expect(page.get_by_role("heading", name="Your call is booked")).to_be_visible()
            invite = page.get_by_role("link", name="Add to my calendar (.ics)")
            expect(invite).to_be_visible()
            shot(page, "09-booked")
            with page.expect_download() as download:
                invite.click()
            assert "BEGIN:VCALENDAR" in Path(download.value.path()).read_text()

            page.get_by_role("link", name="My data").click()
            shot(page, "10-my-data")
            assert not errors, errors  # no CSP violations, no failed resources
        finally:
            browser.close()
