"""One email: composed with the headers bulk senders owe their recipients, handed to an SMTP
server in a way that lets a crash be told apart before and after the point of no return.

SMTP has no way to ask a server "did you take message X?". A message is the server's once
it has read the final "." of DATA; before that a dropped connection discards it. So the
client writes the message, then notes "about to hand over" in the delivery journal, writes
the 3-byte ".\\r\\n", notes "handed over", and only then reads the server's answer. See
`journal` for what a restarted scheduler makes of those notes.
"""

from __future__ import annotations

import binascii
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

from rapport.core.config import Settings

CRLF = b"\r\n"
_BARE_EOL = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class MailSettings:
    """The outreach settings one SMTP conversation needs (RAPPORT_OUTREACH_*)."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"
    user: str = ""
    password: str = ""
    timeout_s: float = 30.0
    from_address: str = "recruiting@localhost"
    from_name: str = "Rapport"
    reply_address: str = ""
    unsubscribe_address: str = ""
    unsubscribe_url: str = "https://localhost/unsubscribe"

    @classmethod
    def from_settings(cls, s: Settings) -> MailSettings:
        return cls(
            host=s.outreach_smtp_host,
            port=s.outreach_smtp_port,
            security=s.outreach_smtp_security,
            user=s.outreach_smtp_user,
            password=s.outreach_smtp_password.get_secret_value(),
            timeout_s=s.outreach_smtp_timeout_s,
            from_address=s.outreach_from_address,
            from_name=s.outreach_from_name,
            reply_address=s.outreach_reply_address,
            unsubscribe_address=s.outreach_unsubscribe_address,
            unsubscribe_url=s.outreach_unsubscribe_url,
        )

    @property
    def domain(self) -> str:
        """The from address's domain: Message-IDs and default addresses live under it."""
        return self.from_address.rpartition("@")[2] or "localhost"

    def unsubscribe_link(self, token: str) -> str:
        return f"{self.unsubscribe_url.rstrip('/')}/{token}"

    def unsubscribe_mailto(self, token: str) -> str:
        return plus_address(self.unsubscribe_address or f"unsubscribe@{self.domain}", token)

    def reply_to(self, token: str) -> str:
        return plus_address(self.reply_address, token) if self.reply_address else ""


def plus_address(address: str, tag: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+{tag}@{domain}"


def plus_tag(address: str) -> str:
    """The +tag of local+tag@domain ("" if none)."""
    local = parseaddr(address)[1].partition("@")[0]
    return local.partition("+")[2]


@dataclass(frozen=True)
class Composed:
    """A message ready for DATA: its headers (for previews) and its bytes."""

    headers: dict[str, str]
    body: str
    data: bytes


MAX_REFERENCES = 20


def compose(
    ms: MailSettings,
    *,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    token: str,
    sender_name: str = "",
    thread: Sequence[str] = (),
    test: bool = False,
) -> Composed:
    """A text/plain message with List-Unsubscribe (mailto and https) and
    List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), threaded under `thread`
    (earlier Message-IDs of the same sequence, oldest first). The one-click POST only counts
    with receivers when the relay DKIM-signs these headers.

    Written by hand rather than with `email.message.EmailMessage`, whose header registry
    cost more than the SMTP conversation itself (about 2.5 ms a message); the tests parse
    the result back with the standard parser."""
    headers = {
        "From": _from(sender_name or ms.from_name, ms.from_address),
        "To": to,
        "Subject": _encode_header(("[TEST] " if test else "") + _one_line(subject)),
        "Date": format_datetime(datetime.now(UTC)),
        "Message-ID": message_id,
    }
    if thread:
        headers["In-Reply-To"] = thread[-1]
        headers["References"] = " ".join(thread[-MAX_REFERENCES:])
    reply_to = ms.reply_to(token)
    if reply_to:
        headers["Reply-To"] = reply_to
    headers["List-Unsubscribe"] = (
        f"<mailto:{ms.unsubscribe_mailto(token)}?subject=unsubscribe>, "
        f"<{ms.unsubscribe_link(token)}>"
    )
    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    headers["MIME-Version"] = "1.0"
    headers["Content-Type"] = 'text/plain; charset="utf-8"'
    headers["Content-Transfer-Encoding"] = "quoted-printable"
    encoded = binascii.b2a_qp(body.encode("utf-8"), quotetabs=False, istext=True)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("utf-8")
    return Composed(headers, body, head + CRLF + _BARE_EOL.sub(CRLF, encoded))


@lru_cache(maxsize=256)
def _from(name: str, address: str) -> str:
    return formataddr((_one_line(name), address))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _encode_header(text: str) -> str:
    """ASCII as is (folded if very long), anything else as RFC 2047 encoded words."""
    if text.isascii() and len(text) < 900:
        return text
    charset = "us-ascii" if text.isascii() else "utf-8"
    return Header(text, charset, maxlinelen=76).encode(linesep="\r\n")


@dataclass(frozen=True)
class Delivery:
    """What one attempt came to.

    result: sent (250 after DATA) | temporary (4xx, or a dropped connection before the
    hand-over: try again) | permanent (5xx) | unknown (the connection broke between handing
    over the final "." and reading the answer: it may have been delivered).
    reached_server: False when nothing of this message reached a server (no connection).
    """

    result: str
    code: int = 0
    response: str = ""
    reached_server: bool = True


class SmtpClient:
    """One reused SMTP connection (reopened when the server drops it)."""

    def __init__(self, ms: MailSettings) -> None:
        self._ms = ms
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        ms = self._ms
        if ms.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                ms.host, ms.port, timeout=ms.timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(ms.host, ms.port, timeout=ms.timeout_s)
        # The final "." goes out as its own small write (see the module docstring): without
        # TCP_NODELAY, Nagle holds it until the server's delayed ACK, ~40 ms per message.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo()
        if ms.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if ms.user:
            smtp.login(ms.user, ms.password)
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def deliver(
        self, to: str, data: bytes, mark: Callable[[str], None] = lambda _stage: None
    ) -> Delivery:
        """Send `data` (a whole message) to `to`. `mark("P")` is called right before the
        final "." is written and `mark("D")` right after; nothing else is written between."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            self._smtp = None
            return Delivery("temporary", 0, f"cannot connect: {_describe(exc)}", False)
        smtp = self._smtp
        try:
            code, resp = smtp.mail(self._ms.from_address)
            if code == 250:
                code, resp = smtp.rcpt(to)
            if code in (250, 251):
                code, resp = smtp.docmd("DATA")
            if code != 354:
                self._reset(code)
                return Delivery(_class_of(code), code, _text(resp))
            smtp.send(_stuffed(data))
        except (smtplib.SMTPException, OSError) as exc:  # before the hand-over: not delivered
            self._drop()
            return Delivery("temporary", 0, f"connection lost: {_describe(exc)}")
        mark("P")
        try:
            smtp.send(b"." + CRLF)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return Delivery("unknown", 0, f"connection lost handing over: {_describe(exc)}")
        mark("D")
        try:
            code, resp = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return Delivery("unknown", 0, f"no answer after the message: {_describe(exc)}")
        if code == 250:
            return Delivery("sent", code, _text(resp))
        self._reset(code)
        return Delivery(_class_of(code), code, _text(resp))

    def _reset(self, code: int = 0) -> None:
        """RSET after a refusal; a protocol error or a malformed reply drops the connection
        instead, so that a conversation out of step never carries on."""
        if code in PROTOCOL_ERRORS or code < 0:
            self._drop()
            return
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None


def _stuffed(data: bytes) -> bytes:
    """DATA payload without its final ".": CRLF line ends, leading dots doubled."""
    data = _LEADING_DOT.sub(b"..", _BARE_EOL.sub(CRLF, data))
    return data if data.endswith(CRLF) else data + CRLF


# 500-504: the server did not understand the conversation (a syntax or sequence error),
# which says nothing about the recipient: the connection is dropped and the message retried.
PROTOCOL_ERRORS = frozenset({500, 501, 502, 503, 504})


def _class_of(code: int) -> str:
    # 4xx and the client-side "-1" (a malformed reply) may pass later; other 5xx will not.
    return "permanent" if 500 <= code < 600 and code not in PROTOCOL_ERRORS else "temporary"


def _text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())[:250]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"[:200]
