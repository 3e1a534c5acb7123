"""Transactional mail over the outreach SMTP relay: what a person asked for or a booking
owes (a sign-in link, a calendar invite), not outreach, so no tracking and no list headers.

It goes out on one background thread after the caller has answered: the answer never
waits for an SMTP conversation (nor reveals, by its timing, whether mail was sent). A
relay that refuses or cannot be reached is logged, by what the mail was for, never by
address (personal data); a clean shutdown sends what was queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from rapport.services.outreach.mail import MailSettings, SmtpClient

log = logging.getLogger(__name__)


def plain_message(ms: MailSettings, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from the configured sender; attachments may be added."""
    message = EmailMessage()
    message["From"] = formataddr((ms.from_name, ms.from_address))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=ms.domain)
    message.set_content(body)
    return message


class BackgroundMailer:
    def __init__(self, ms: MailSettings, thread_name: str) -> None:
        self._ms = ms
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)

    def send(self, build: Callable[[], Sequence[tuple[str, bytes]]], what: str) -> None:
        """Queue mail; returns at once. `build()` makes the (recipient, whole message) pairs
        on the mail thread, so the caller does not even pay for composing them. `what` names
        the mail in logs ("the sign-in link for candidate X")."""
        self._pool.submit(self._deliver, build, what)

    def _deliver(self, build: Callable[[], Sequence[tuple[str, bytes]]], what: str) -> None:
        client = SmtpClient(self._ms)
        try:
            for to, data in build():
                result = client.deliver(to, data)
                if result.result != "sent":
                    log.warning(
                        "%s not delivered to one recipient (%s): %s",
                        what,
                        result.result,
                        result.response,
                    )
        except Exception:  # a mail thread that dies silently would hide every later failure
            log.exception("mailing %s failed", what)
        finally:
            client.close()

    def close(self) -> None:
        """Sends what is queued, then stops the thread."""
        self._pool.shutdown(wait=True)


__all__ = ["BackgroundMailer", "plain_message"]
