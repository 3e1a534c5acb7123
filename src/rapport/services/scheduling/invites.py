"""Mailing a booked call's invite (or its cancellation) to both sides, over the outreach
SMTP relay (RAPPORT_OUTREACH_SMTP_*), once the booking has committed.

Mail goes out on a background thread: the booking is the caller's answer, the invite a
consequence of it. A relay that refuses or cannot be reached is logged and never undoes a
booking (the invite stays downloadable from the booking)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from rapport.core.config import Settings
from rapport.services.outreach.mail import MailSettings, SmtpClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Invite:
    """One invite as mailed: the same iCalendar document to every recipient."""

    recipients: tuple[str, ...]
    subject: str
    body: str
    ics: str
    method: str  # REQUEST | CANCEL


class InviteMailer:
    def __init__(self, settings: Settings) -> None:
        self._ms = MailSettings.from_settings(settings)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="invite-mail")

    def send(self, invite: Invite, booking_id: str) -> None:
        """Queue `invite` for every recipient; returns at once."""
        self._pool.submit(self._deliver, invite, booking_id)

    def _deliver(self, invite: Invite, booking_id: str) -> None:
        client = SmtpClient(self._ms)
        try:
            for to in invite.recipients:
                result = client.deliver(to, self._message(invite, to))
                if result.result != "sent":
                    # the address is personal data: the booking id says whose invite it was
                    log.warning(
                        "invite for booking %s not delivered to one recipient: %s %s",
                        booking_id,
                        result.result,
                        result.response,
                    )
        except Exception:  # a mail thread that dies silently would hide every later failure
            log.exception("mailing the invite for booking %s failed", booking_id)
        finally:
            client.close()

    def _message(self, invite: Invite, to: str) -> bytes:
        msg = EmailMessage()
        msg["From"] = formataddr((self._ms.from_name, self._ms.from_address))
        msg["To"] = to
        msg["Subject"] = invite.subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid(domain=self._ms.domain)
        msg.set_content(invite.body)
        msg.add_attachment(
            invite.ics,
            subtype="calendar",
            filename="invite.ics",
            params={"method": invite.method},
        )
        return msg.as_bytes(policy=SMTP)

    def close(self) -> None:
        """Waits for queued invites (a clean shutdown sends what it promised)."""
        self._pool.shutdown(wait=True)


__all__ = ["Invite", "InviteMailer"]
