"""A real SMTP server (aiosmtpd) on a free local port that keeps every message it accepts:
what outreach, invites and sign-in links are sent to in tests. Nothing here talks to a
real mail server."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.policy import default as DEFAULT_POLICY

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on right now."""
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
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]

    def message_id_counts(self) -> Counter:
        with self.lock:
            return Counter(r.message_id for r in self.received)

    def wait_for(self, n: int, timeout: float = 20.0) -> list[Received]:
        """The first `n` messages once they have arrived (what there is at the deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)


@contextmanager
def running(sink: Sink | None = None) -> Iterator[Sink]:
    """`sink` (a plain one by default) served on a free local port while the block runs."""
    box = sink or Sink()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
