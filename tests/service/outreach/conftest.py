"""Outreach fixtures: a real SMTP server (aiosmtpd) on a free local port that keeps every
message it accepts, settings that point the scheduler at it, and people to write to.

Nothing here talks to a real mail server: seeded and test addresses sit on real domains."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mail_helpers import free_port
from mail_helpers import running as running_sink
from sqlalchemy import update

from rapport.core.config import Settings
from rapport.core.domain import CandidateDraft, ConsentState
from rapport.core.store import candidates, consent
from rapport.core.store.schema import OutreachEnrolmentRow


@pytest.fixture(name="free_port")
def free_port_fixture():
    """A port nothing listens on right now."""
    return free_port


@pytest.fixture
def sink():
    with running_sink() as box:
        yield box


@pytest.fixture
def settings(settings, sink, tmp_path) -> Settings:
    """The root settings, pointed at the local sink and a journal directory of the test."""
    return Settings(
        **(
            settings.model_dump()
            | {
                "outreach_smtp_host": "127.0.0.1",
                "outreach_smtp_port": sink.port,
                "outreach_smtp_timeout_s": 10.0,
                "outreach_from_address": "talent@rapport.test",
                "outreach_from_name": "Rapport Talent",
                "outreach_reply_address": "replies@rapport.test",
                "outreach_unsubscribe_url": "https://rapport.test/u",
                "outreach_journal_dir": tmp_path / "journal",
                "outreach_poll_interval_s": 0.05,
                "outreach_trigger_interval_s": 3600.0,
            }
        )
    )


@pytest.fixture
def person(db):
    """Makes a candidate: person("Ana", consent=GRANTED) -> candidate id."""
    counter = iter(range(1, 10_000))

    def make(
        first: str = "",
        *,
        email_address: str | None = None,
        consent_state: ConsentState = ConsentState.GRANTED,
        last: str = "Tester",
        company: str = "",
        created_at: datetime | None = None,
    ) -> str:
        if email_address is None:  # a fresh address; "" means none at all
            email_address = f"{(first or 'person').lower()}{next(counter)}@example.com"
        draft = CandidateDraft(
            first_name=first,
            last_name=last,
            emails=[email_address] if email_address else [],
            current_company=company,
        )
        with db.transaction() as s:
            cid = candidates.create(s, draft, created_at=created_at).id
            if consent_state != ConsentState.UNKNOWN:
                consent.set_state(s, cid, consent_state, basis="test")
        return cid

    return make


@pytest.fixture
def fast_forward(db):
    """Makes every active enrolment's next step due now (time passing, without sleeping)."""

    def run() -> None:
        with db.transaction() as s:
            s.execute(
                update(OutreachEnrolmentRow)
                .where(OutreachEnrolmentRow.state == "active")
                .values(next_due_at=datetime.now(UTC))
            )

    return run


@pytest.fixture
def run_scheduler(db, settings):
    """Runs a scheduler until nothing is due (`rapport outreach run --once`)."""
    from rapport.services.outreach.scheduler import Scheduler

    def run(**kwargs):
        scheduler = Scheduler(db, settings, **kwargs)
        try:
            return scheduler.run(once=True)
        finally:
            scheduler.close()

    return run
