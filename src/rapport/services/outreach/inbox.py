"""`rapport outreach inbox`: an SMTP endpoint (aiosmtpd) for what people send back.

Point the MX (or a forwarding rule) of the reply and unsubscribe addresses here. A message
to unsubscribe+<token>@ opts the person out (the List-Unsubscribe mailto); anything else is
a reply, matched to the thread it answers (In-Reply-To / References against our
Message-IDs, then a reply+<token>@ address, then the sender's address) and recorded through
the same use case as the RecordReply RPC. Out-of-office answers and delivery reports are
recorded as automatic: they stop nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as DEFAULT_POLICY
from email.utils import parseaddr

from aiosmtpd.controller import Controller

from rapport.core.errors import RapportError
from rapport.services.outreach.mail import MailSettings
from rapport.services.outreach.use_cases import InboundReply, OutreachUseCases

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
AUTO_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk", "list"})
DAEMONS = ("mailer-daemon@", "postmaster@")


def is_automatic(msg: EmailMessage, envelope_from: str) -> bool:
    """Out of office, vacation and delivery reports (RFC 3834, RFC 3464)."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return True
    if str(msg.get("Precedence", "")).strip().lower() in AUTO_PRECEDENCE:
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    sender = (parseaddr(str(msg.get("From", "")))[1] or envelope_from or "").lower()
    return not envelope_from or envelope_from == "<>" or sender.startswith(DAEMONS)


class InboxHandler:
    """aiosmtpd handler: every message is processed in a worker thread (the store is
    synchronous) and only acknowledged once recorded; a store error answers 451 so the
    sending server retries later."""

    def __init__(self, use_cases: OutreachUseCases, mail: MailSettings) -> None:
        self._uc = use_cases
        unsub = mail.unsubscribe_address or f"unsubscribe@{mail.domain}"
        self._unsubscribe_local = unsub.partition("@")[0].lower()
        self.processed = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if len(envelope.content or b"") > MAX_MESSAGE_BYTES:
            return "552 5.3.4 message too big"
        try:
            await asyncio.get_running_loop().run_in_executor(
                None,
                self.process,
                envelope.original_content or envelope.content,
                list(envelope.rcpt_tos),
                envelope.mail_from or "",
            )
        except Exception:
            log.exception("inbound message not recorded; asking the sender to retry")
            return "451 4.3.0 not recorded, try again later"
        return "250 2.0.0 recorded"

    def process(self, data: bytes, recipients: list[str], envelope_from: str) -> None:
        msg = BytesParser(policy=DEFAULT_POLICY).parsebytes(data)
        replies_to = []
        for rcpt in recipients:
            local = rcpt.partition("@")[0].lower()
            base, _, tag = local.partition("+")
            if base == self._unsubscribe_local:
                self._unsubscribe(tag)
            else:
                replies_to.append(rcpt)
        if replies_to:
            outcome = self._uc.record_reply(
                InboundReply(
                    message_id=str(msg.get("Message-ID", "") or ""),
                    in_reply_to=str(msg.get("In-Reply-To", "") or ""),
                    references=tuple(str(msg.get("References", "") or "").split()),
                    to_addresses=tuple(replies_to),
                    from_address=parseaddr(str(msg.get("From", "")))[1] or envelope_from,
                    subject=str(msg.get("Subject", "") or ""),
                    received_at=datetime.now(UTC),
                    automatic=is_automatic(msg, envelope_from),
                )
            )
            log.info(
                "reply recorded: matched=%s by %s, stopped=%s, automatic=%s",
                outcome.matched,
                outcome.method,
                outcome.stopped,
                outcome.automatic,
            )
        self.processed += 1

    def _unsubscribe(self, token: str) -> None:
        try:
            outcome = self._uc.unsubscribe(token, method="mailto")
        except RapportError as exc:  # an unknown or malformed token: nothing to do
            log.info("unsubscribe mail with an unknown token ignored (%s)", exc)
            return
        log.info("unsubscribed by mail; %d sequences stopped", outcome.stopped_enrolments)


class Inbox:
    """The SMTP endpoint, started in a background thread."""

    def __init__(self, use_cases: OutreachUseCases, mail: MailSettings, host: str, port: int):
        self.handler = InboxHandler(use_cases, mail)
        self._controller = Controller(
            self.handler,
            hostname=host,
            port=port,
            data_size_limit=MAX_MESSAGE_BYTES,
            server_hostname="rapport-inbox",
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
