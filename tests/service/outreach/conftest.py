"""Outreach fixtures: a real SMTP server (aiosmtpd) on a free local port that keeps every
message it accepts, settings that point the scheduler at it, and people to write to.

Nothing here talks to a real mail server: seeded and test addresses sit on real domains."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.policy import default as DEFAULT_POLICY

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from rapport.core.config import Settings
from rapport.core.domain import CandidateDraft, ConsentState
from rapport.core.store import candidates, consent
from rapport.core.store.schema import OutreachEnrolmentRow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=DEFAULT_POLICY)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def body(self) -> str:
        """The decoded text, with the wire's CRLF line ends as newlines."""
        return self.message.get_content().replace("\r\n", "\n")


@dataclass
class Sink:
    """The SMTP server's side: what it accepted, and hooks a test can use to act at an
    exact point of a conversation (before MAIL is answered, once DATA has arrived)."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    on_mail: Callable[[int], str | None] | None = None  # may return a reply to refuse with
    on_data: Callable[[Received, int], str | None] | None = None
    slow: Callable[[Received], float] | None = None  # seconds to wait before answering DATA
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.on_mail is not None:
            refused = self.on_mail(len(self.received))
            if refused:
                return refused
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        got = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        if self.slow is not None:
            await asyncio.sleep(self.slow(got))  # this connection only; others go on
        if self.on_data is not None:
            refused = self.on_data(got, len(self.received))
            if refused:
                return refused
        with self.lock:
            self.received.append(got)
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    def message_id_counts(self) -> Counter:
        return Counter(r.message_id for r in self.received)


@pytest.fixture(name="free_port")
def free_port_fixture():
    """A port nothing listens on right now."""
    return free_port


@pytest.fixture
def sink():
    box = Sink(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


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
