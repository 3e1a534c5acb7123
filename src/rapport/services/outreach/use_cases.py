"""OutreachService use cases: sequences, enrolment, triggers, preview, test-send, replies and
unsubscribes. No grpc here; mail to candidates goes out from the scheduler, not from here."""

from __future__ import annotations

import re
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from datetime import datetime

from rapport.core.config import Settings
from rapport.core.domain import Page
from rapport.core.errors import (
    NotFound,
    PreconditionFailed,
    Unavailable,
    ValidationFailed,
    Violation,
)
from rapport.core.ids import uuid7
from rapport.core.outreach import (
    Enrolment,
    EnrolOutcome,
    ReplyOutcome,
    Sequence,
    Trigger,
    UnsubscribeOutcome,
    normalise_sequence,
    normalise_trigger,
)
from rapport.core.store import audit, candidates, segments
from rapport.core.store import outreach as store
from rapport.core.store import outreach_delivery as delivery
from rapport.core.store.db import Database
from rapport.core.store.outreach import why_not_mailable
from rapport.core.validation import normalise_email
from rapport.services.outreach.mail import MailSettings, SmtpClient, compose, plus_tag
from rapport.services.outreach.render import check_template, render_step

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
SHOWN_HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str
    to_address: str
    from_address: str
    headers: dict[str, str] = field(default_factory=dict)
    fallbacks_used: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    message: RenderedEmail
    would_send: bool
    reason: str = ""


@dataclass(frozen=True)
class TestSent:
    message: RenderedEmail
    message_id: str
    smtp_response: str


@dataclass(frozen=True)
class InboundReply:
    message_id: str
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    to_addresses: tuple[str, ...] = ()
    from_address: str = ""
    subject: str = ""
    received_at: datetime | None = None
    automatic: bool = False


class OutreachUseCases:
    def __init__(self, db: Database, settings: Settings, mail: MailSettings | None = None):
        self._db = db
        self._settings = settings
        self._ms = mail or MailSettings.from_settings(settings)

    # ------------------------------------------------------------------ sequences

    def create_sequence(self, seq: Sequence) -> Sequence:
        with self._db.transaction() as s:
            checked = normalise_sequence(
                seq,
                check_template=check_template,
                content_exists=lambda cid: store.content_template(s, cid) is not None,
            )
            return store.create_sequence(s, checked)

    def get_sequence(self, sequence_id: str) -> Sequence:
        with self._db.read() as s:
            return store.get_sequence(s, sequence_id)

    def list_sequences(self, size: int, token: str) -> Page:
        with self._db.read() as s:
            return store.list_sequences(s, size, token)

    # ------------------------------------------------------------------ enrolment

    def enrol(
        self,
        sequence_id: str,
        *,
        candidate_ids: Seq[str] = (),
        segment_id: str = "",
        start_at: datetime | None = None,
    ) -> EnrolOutcome:
        if bool(candidate_ids) == bool(segment_id):
            raise ValidationFailed(Violation("who", "candidate ids or a segment id, not both"))
        with self._db.transaction() as s:
            if segment_id:
                rule = segments.get(s, segment_id).rule
                return store.enrol(
                    s, sequence_id, rule=rule, source=f"segment:{segment_id}", start_at=start_at
                )
            return store.enrol(s, sequence_id, candidate_ids=candidate_ids, start_at=start_at)

    def unenrol(
        self, *, enrolment_id: str = "", sequence_id: str = "", candidate_id: str = ""
    ) -> Enrolment:
        with self._db.transaction() as s:
            return store.unenrol(
                s, enrolment_id=enrolment_id, sequence_id=sequence_id, candidate_id=candidate_id
            )

    def list_enrolments(self, **filters) -> Page:
        with self._db.read() as s:
            page = store.list_enrolments(s, **filters)
        shown = dict.fromkeys(e.candidate_id for e in page.items)  # with the addresses mailed
        self._db.read_audit.note("outreach.enrolments_read", shown)
        return page

    # ------------------------------------------------------------------ triggers

    def create_trigger(self, trigger: Trigger) -> Trigger:
        checked = normalise_trigger(trigger)
        with self._db.transaction() as s:
            return store.create_trigger(s, checked)

    def list_triggers(self) -> list[Trigger]:
        with self._db.read() as s:
            return store.list_triggers(s)

    # ------------------------------------------------------------------ preview, test

    def _render(self, s, sequence_id: str, step_key: str, candidate_id: str, *, to: str, test):
        seq = store.get_sequence(s, sequence_id)
        step = seq.step(step_key) if step_key else seq.steps[0]
        person = None
        if candidate_id:
            pk = candidates.pk_for(s, candidate_id)
            person = delivery.people(s, [pk])[pk]
        content = None
        if step.content_id:
            content = store.content_template(s, step.content_id)
            if content is None:
                raise PreconditionFailed(f"content item {step.content_id} no longer exists")
        token = "0" * 32  # names no send: a preview's links lead nowhere
        sender = seq.sender_name or self._ms.from_name
        rendered = render_step(
            seq,
            step,
            person.values if person else {},
            content=content,
            thread_subject="",
            unsubscribe_url=self._ms.unsubscribe_link(token),
            sender_name=sender,
        )
        to_address = to or (person.emails[0] if person and person.emails else "")
        message_id = f"<{'test' if test else 'preview'}.{uuid7()}@{self._ms.domain}>"
        message = compose(
            self._ms,
            to=to_address,
            subject=rendered.subject,
            body=rendered.body,
            message_id=message_id,
            token=token,
            sender_name=sender,
            test=test,
        )
        shown = RenderedEmail(
            subject=message.headers["Subject"],
            body=rendered.body,
            to_address=to_address,
            from_address=self._ms.from_address,
            headers={h: message.headers[h] for h in SHOWN_HEADERS if h in message.headers},
            fallbacks_used=rendered.fallbacks_used,
        )
        return seq, step, person, message, shown

    def preview(self, sequence_id: str, step_key: str, candidate_id: str) -> Preview:
        """The step as the scheduler would send it to this person now, and whether it would."""
        if not candidate_id:
            raise ValidationFailed(Violation("candidate_id", "required"))
        with self._db.read() as s:
            _, _, person, _, shown = self._render(
                s, sequence_id, step_key, candidate_id, to="", test=False
            )
        why = why_not_mailable(person.status, person.consent_state, list(person.emails))
        return Preview(shown, why is None, why[1] if why else "")

    def test_send(
        self, sequence_id: str, step_key: str, to_address: str, candidate_id: str = ""
    ) -> TestSent:
        """Render a step (with a candidate's values, or every fallback) and mail it to
        `to_address`, marked [TEST]. Nothing is recorded against any candidate."""
        try:
            to = normalise_email(to_address)
        except ValueError as exc:
            raise ValidationFailed(Violation("to_address", str(exc))) from None
        with self._db.read() as s:
            seq, step, _, message, shown = self._render(
                s, sequence_id, step_key, candidate_id, to=to, test=True
            )
        client = SmtpClient(self._ms)
        try:
            result = client.deliver(to, message.data)
        finally:
            client.close()
        if result.result == "permanent":
            raise PreconditionFailed(f"the SMTP server refused the test: {result.response}")
        if result.result != "sent":
            raise Unavailable(f"the SMTP server did not take the test: {result.response}")
        with self._db.transaction() as s:
            audit.record(
                s,
                "outreach.test_send",
                [seq.id],
                target_type="sequence",
                details={"step": step.key},
            )
        return TestSent(shown, message.headers["Message-ID"], result.response)

    # ------------------------------------------------------------------ inbound

    def record_reply(self, reply: InboundReply) -> ReplyOutcome:
        tokens = [t for t in (plus_tag(a) for a in reply.to_addresses) if _TOKEN.match(t)]
        with self._db.transaction() as s:
            return delivery.record_reply(
                s,
                message_id=reply.message_id,
                in_reply_to=reply.in_reply_to,
                references=reply.references,
                tokens=tokens,
                from_address=reply.from_address,
                subject=reply.subject,
                received_at=reply.received_at,
                automatic=reply.automatic,
            )

    def unsubscribe(self, token: str, *, method: str = "one-click") -> UnsubscribeOutcome:
        if not _TOKEN.match(token or ""):
            raise ValidationFailed(Violation("token", "not an unsubscribe token"))
        with self._db.transaction() as s:
            outcome = delivery.unsubscribe(s, token, method=method)
        if outcome is None:
            raise NotFound("unsubscribe token", token[:8] + "...")
        return outcome
