"""Mailing a booked call's invite (or its cancellation) to both sides, over the outreach
SMTP relay (RAPPORT_OUTREACH_SMTP_*), once the booking has committed.

Mail goes out on a background thread: the booking is the caller's answer, the invite a
consequence of it. A relay that refuses or cannot be reached is logged and never undoes a
booking (the invite stays downloadable from the booking)."""

from __future__ import annotations

from dataclasses import dataclass
from email.policy import SMTP

from rapport.core.config import Settings
from rapport.services.outreach.mail import MailSettings
from rapport.services.outreach.transactional import BackgroundMailer, plain_message


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
        self._mailer = BackgroundMailer(self._ms, "invite-mail")

    def send(self, invite: Invite, booking_id: str) -> None:
        """Queue `invite` for every recipient; returns at once. Logs name the booking, not
        the addresses (personal data)."""
        self._mailer.send(
            lambda: [(to, self._message(invite, to)) for to in invite.recipients],
            f"the invite for booking {booking_id}",
        )

    def _message(self, invite: Invite, to: str) -> bytes:
        msg = plain_message(self._ms, to, invite.subject, invite.body)
        msg.add_attachment(
            invite.ics,
            subtype="calendar",
            filename="invite.ics",
            params={"method": invite.method},
        )
        return msg.as_bytes(policy=SMTP)

    def close(self) -> None:
        """Waits for queued invites (a clean shutdown sends what it promised)."""
        self._mailer.close()


__all__ = ["Invite", "InviteMailer"]
