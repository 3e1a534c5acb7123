"""Sign-in links for the candidate portal: issued to a known address and mailed, redeemed
once. No grpc here.

The answer to a request never depends on whether the address is known: the link is stored
in the request's transaction, and mailed afterwards by a background thread, so neither the
answer nor its timing (an SMTP conversation takes a while) tells who is in the store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.policy import SMTP
from urllib.parse import urlsplit

from rapport.core.config import Settings
from rapport.core.errors import Unauthenticated, ValidationFailed, Violation
from rapport.core.store import signin
from rapport.core.store.db import Database
from rapport.core.validation import normalise_email
from rapport.services.outreach.mail import MailSettings
from rapport.services.outreach.transactional import BackgroundMailer, plain_message

MAX_URL_CHARS = 500
REFUSALS = {
    signin.EXPIRED: "this sign-in link has expired: ask for a new one",
    signin.USED: "this sign-in link has already been used: ask for a new one",
    signin.UNKNOWN: "this is not a valid sign-in link: ask for a new one",
}


def _check_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or len(url) > MAX_URL_CHARS
    ):
        raise ValidationFailed(
            Violation("link_base_url", "an http(s) URL without query or fragment")
        )
    return url.strip().rstrip("/")


def sign_in_message(ms: MailSettings, to: str, link: str, minutes: int) -> bytes:
    """The sign-in mail: plain text, no tracking, no unsubscribe header (it is not outreach:
    the person asked for it)."""
    body = (
        "Hello,\n\n"
        f"Here is your link to sign in to your candidate portal. It works once, within the "
        f"next {minutes} minutes:\n\n{link}\n\n"
        "If you did not ask for it, ignore this message: nothing changes.\n"
    )
    return plain_message(ms, to, "Your sign-in link", body).as_bytes(policy=SMTP)


class SignInUseCases:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._mail = MailSettings.from_settings(settings)
        self._minutes = max(1, settings.portal_sign_in_link_minutes)
        self._outbox = BackgroundMailer(self._mail, "portal-mail")

    def request_link(self, email: str, link_base_url: str) -> int:
        """Issues and mails a link when `email` is a person's; returns the minutes a link
        is valid either way."""
        base = _check_base_url(link_base_url)
        try:
            address = normalise_email(email)
        except ValueError as exc:
            raise ValidationFailed(Violation("email", str(exc))) from None
        with self._db.transaction() as s:
            issued = signin.issue(
                s,
                address,
                now=datetime.now(UTC),
                valid_for=timedelta(minutes=self._minutes),
                max_open=self._settings.portal_sign_in_open_links,
            )
        if issued is not None:
            link = f"{base}/{issued.token}"
            self._outbox.send(
                lambda: [(address, sign_in_message(self._mail, address, link, self._minutes))],
                f"the sign-in link for candidate {issued.candidate_id}",
            )
        return self._minutes

    def redeem(self, token: str) -> tuple[str, datetime]:
        """(candidate id, when) for a valid link, used up now; Unauthenticated otherwise."""
        now = datetime.now(UTC)
        with self._db.transaction() as s:
            outcome = signin.redeem(s, token.strip(), now=now)
        if outcome.refused:
            raise Unauthenticated(REFUSALS[outcome.refused])
        return outcome.candidate_id, now

    def close(self) -> None:
        """Sends what is queued, then stops the mail thread."""
        self._outbox.close()


__all__ = ["REFUSALS", "SignInUseCases", "sign_in_message"]
