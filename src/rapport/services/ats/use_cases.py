"""ATS sync use cases (issue 9): submissions to the ATS through an outbox, inbound events
(web hooks, pull sync) applied one transaction per event, and the worker that delivers
the outbox with retries. No grpc and no HTTP framework here: the servicer and the web
hook app both call this.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from rapport.core.ats import (
    APPLIED,
    EVENT_APPLIED,
    EVENT_DUPLICATE,
    EVENT_REFUSED,
    REFERENCE_PREFIX,
    RETURNED_TO_NURTURE,
    SUBMISSION_CREATED,
    SUBMISSION_STATUSES,
    AtsApplication,
    AtsEvent,
    AtsPerson,
    EventOutcome,
    Submission,
)
from rapport.core.config import Settings
from rapport.core.domain import Page
from rapport.core.errors import NotFound, PreconditionFailed, ValidationFailed, Violation
from rapport.core.store import ats as store
from rapport.core.store import candidates
from rapport.core.store.db import Database
from rapport.services.ats import generic
from rapport.services.ats.adapter import (
    AtsAdapter,
    AtsError,
    AtsRejected,
    AtsUnavailable,
    NewPerson,
)
from rapport.services.ats.greenhouse import STATUS_KINDS, GreenhouseAdapter
from rapport.services.ats.signatures import RAPPORT_HEADER, rapport_signature

log = logging.getLogger(__name__)

MAX_JOB_ID_CHARS = 100
MAX_KEY_CHARS = 200
# How far before a submission was queued the ATS is searched for the person we may have
# created already (clocks differ; a create may sit in the ATS's queue).
FIND_WINDOW = timedelta(hours=1)
# Deliveries claimed per pass, and the ATS calls one may take (look, create, apply): the
# claim's lease covers them all, so another worker never takes one still in flight.
CLAIM_BATCH = 5
CALLS_PER_DELIVERY = 3


def build_adapter(settings: Settings) -> AtsAdapter | None:
    """The configured ATS adapter, or None when no ATS is configured."""
    if not settings.ats_base_url:
        return None
    return GreenhouseAdapter(
        settings.ats_base_url,
        settings.ats_api_key.get_secret_value(),
        settings.ats_on_behalf_of,
        settings.ats_webhook_secret.get_secret_value(),
        timeout_s=settings.ats_request_timeout_s,
    )


def backoff_s(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: about base * 2^(attempts-1), capped, and spread
    over its upper half so that deliveries failed together do not retry together."""
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


@dataclass(frozen=True)
class SyncReport:
    applications: int
    applied: int
    refused: int
    duplicate: int
    cursor: datetime | None


class AtsUseCases:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        adapter: AtsAdapter | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._adapter = adapter
        self._rng = rng or random.Random()
        self._hooks_out = bool(settings.ats_webhook_out_url)
        self._http = (
            httpx.Client(timeout=settings.ats_request_timeout_s) if self._hooks_out else None
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def adapter(self) -> AtsAdapter | None:
        return self._adapter

    # ------------------------------------------------------------------ submissions
    def submit(self, candidate_id: str, job_id: str, idempotency_key: str = "") -> Submission:
        problems = []
        if not candidate_id:
            problems.append(Violation("candidate_id", "required"))
        if not job_id.strip():
            problems.append(Violation("ats_job_id", "required"))
        elif len(job_id) > MAX_JOB_ID_CHARS:
            problems.append(Violation("ats_job_id", f"at most {MAX_JOB_ID_CHARS} characters"))
        if len(idempotency_key) > MAX_KEY_CHARS:
            problems.append(Violation("idempotency_key", f"at most {MAX_KEY_CHARS} characters"))
        if problems:
            raise ValidationFailed(problems)
        adapter = self._require_adapter()
        with self._db.transaction() as s:
            submission, created = store.submit(
                s, candidate_id, adapter.name, job_id.strip(), idempotency_key
            )
            if created and self._hooks_out:
                self._hook(
                    s,
                    SUBMISSION_CREATED,
                    {
                        "submission_id": submission.id,
                        "candidate_id": submission.candidate_id,
                        "ats": submission.ats,
                        "job_id": submission.ats_job_id,
                    },
                    submission.candidate_id,
                )
        self._wake.set()
        return submission

    def get_submission(self, submission_id: str) -> Submission:
        if not submission_id:
            raise ValidationFailed(Violation("id", "required"))
        with self._db.read() as s:
            return store.get_submission(s, submission_id)

    def list_submissions(
        self, *, candidate_id: str = "", status: str = "", page_size: int = 0, page_token: str = ""
    ) -> Page:
        if status and status not in SUBMISSION_STATUSES:
            raise ValidationFailed(Violation("status", f"one of {', '.join(SUBMISSION_STATUSES)}"))
        with self._db.read() as s:
            return store.list_submissions(
                s, page_size, page_token, candidate_id=candidate_id, status=status
            )

    def _require_adapter(self) -> AtsAdapter:
        if self._adapter is None:
            raise PreconditionFailed("no ATS is configured (set RAPPORT_ATS_BASE_URL)")
        return self._adapter

    def _hook(self, session, event_type: str, data: Mapping, candidate_id: str) -> None:
        """Queues an outgoing web hook in the caller's transaction."""
        document = generic.outgoing(event_type, data)
        store.enqueue(
            session,
            kind=store.WEBHOOK,
            dedupe_key=f"webhook:{document['id']}",
            candidate_pk=candidates.pk_for(session, candidate_id),
            payload=document,
        )

    # ------------------------------------------------------------------ inbound
    def receive_webhook(
        self, source: str, headers: Mapping[str, str], body: bytes
    ) -> list[EventOutcome]:
        """Verifies, parses and applies one web hook delivery (WebhookRefused,
        WebhookMalformed for the web hook app to answer 401 / 400)."""
        if source == generic.SOURCE:
            events = generic.parse(
                headers,
                body,
                self._settings.ats_generic_webhook_secret.get_secret_value(),
                self._settings.ats_webhook_tolerance_s,
            )
        else:
            if self._adapter is None or source != self._adapter.name:
                raise NotFound("web hook source", source)
            events = self._adapter.parse_webhook(headers, body)
        return [self.apply(event) for event in events]

    def apply(self, event: AtsEvent) -> EventOutcome:
        """One inbound event, in one transaction: all of its effects or none."""
        with self._db.transaction() as s:
            applied = store.apply_event(s, event, self._settings.ats_nurture_pool)
            if applied.returned_to_nurture and self._hooks_out:
                self._hook(
                    s,
                    RETURNED_TO_NURTURE,
                    {
                        "candidate_id": applied.outcome.candidate_id,
                        "pool": self._settings.ats_nurture_pool,
                        "ats": event.ats,
                        "job_id": event.job_id,
                        "application_id": event.application_id,
                    },
                    applied.outcome.candidate_id,
                )
        if applied.returned_to_nurture and self._hooks_out:
            self._wake.set()
        log.info(
            "ats event %s %s from %s: %s",
            event.kind,
            event.application_id,
            event.ats,
            applied.outcome.outcome,
        )
        return applied.outcome

    def sync_now(self) -> SyncReport:
        """Applies what changed in the ATS since the cursor, as events; idempotent."""
        adapter = self._require_adapter()
        with self._db.read() as s:
            since = store.cursor(s, adapter.name)
        try:
            applications = adapter.list_applications(since)
        except AtsError as exc:
            raise PreconditionFailed(f"the ATS could not be read: {exc}") from None
        counts = {EVENT_APPLIED: 0, EVENT_REFUSED: 0, EVENT_DUPLICATE: 0}
        people: dict[str, AtsPerson] = {}
        for application in applications:
            if application.ats_candidate_id not in people:
                try:
                    people[application.ats_candidate_id] = adapter.get_person(
                        application.ats_candidate_id
                    )
                except AtsError as exc:
                    raise PreconditionFailed(f"the ATS could not be read: {exc}") from None
            for event in self._events_of(adapter.name, application, people):
                counts[self.apply(event).outcome] += 1
        position = since
        if applications:
            # a second back: an application changed in the same second as the newest one
            # is read again next time (and found a duplicate) rather than missed
            newest = max(a.updated_at for a in applications) - timedelta(seconds=1)
            position = max(newest, since) if since else newest
            with self._db.transaction() as s:
                store.advance_cursor(s, adapter.name, position)
        return SyncReport(
            len(applications),
            counts[EVENT_APPLIED],
            counts[EVENT_REFUSED],
            counts[EVENT_DUPLICATE],
            position,
        )

    @staticmethod
    def _events_of(
        ats: str, application: AtsApplication, people: Mapping[str, AtsPerson]
    ) -> list[AtsEvent]:
        """An application's state as events: it was applied, and it is at its stage (or
        rejected, or hired). Receipts make the ones already applied duplicates."""
        state = STATUS_KINDS.get(application.status)
        kinds = [APPLIED] + ([state] if state else [])
        stamp = application.updated_at.isoformat()
        return [
            AtsEvent(
                kind=kind,
                ats=ats,
                delivery_key=f"sync:{application.id}:{kind}:{application.stage}:{stamp}",
                person=people[application.ats_candidate_id],
                application_id=application.id,
                job_id=application.job_id,
                job_name=application.job_name,
                stage=application.stage,
                reason=application.reason,
                occurred_at=min(application.updated_at, datetime.now(UTC)),
            )
            for kind in kinds
        ]

    # ------------------------------------------------------------------ the worker
    def start(self) -> None:
        """The delivery worker, when there is anything to deliver to."""
        if self._thread is not None or (self._adapter is None and not self._hooks_out):
            return
        self._thread = threading.Thread(target=self._loop, name="ats-outbox", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.deliver_due()
            except Exception:
                log.exception("ATS outbox pass failed; trying again shortly")
                busy = 0
            if not busy:
                self._wake.wait(self._settings.ats_poll_interval_s)
                self._wake.clear()

    def deliver_due(self) -> int:
        """One pass over the due deliveries; how many were attempted."""
        timeout = self._settings.ats_request_timeout_s
        lease_s = 30.0 + CLAIM_BATCH * CALLS_PER_DELIVERY * timeout
        with self._db.transaction() as s:
            due = store.claim_due(s, datetime.now(UTC), lease_s, CLAIM_BATCH)
        for delivery in due:
            if self._stop.is_set():
                break  # claimed ones are retried when their lease runs out
            self._deliver(delivery)
        return len(due)

    def _deliver(self, delivery: store.Delivery) -> None:
        try:
            if delivery.kind == store.SUBMISSION:
                ats_candidate, application = self._deliver_submission(delivery)
            else:
                self._deliver_webhook(delivery)
                ats_candidate = application = ""
        except AtsError as exc:
            permanent = isinstance(exc, AtsRejected)
            last = delivery.attempts >= self._settings.ats_max_attempts
            retry_at = None
            if not (permanent or last):
                delay = backoff_s(
                    delivery.attempts,
                    self._settings.ats_retry_base_s,
                    self._settings.ats_retry_max_s,
                    self._rng,
                )
                retry_at = datetime.now(UTC) + timedelta(seconds=delay)
            with self._db.transaction() as s:
                store.record_failure(s, delivery, str(exc), retry_at)
            log.warning(
                "ATS %s %s attempt %d failed (%s): %s",
                delivery.kind,
                delivery.id,
                delivery.attempts,
                "retrying" if retry_at else "giving up",
                exc,
            )
            return
        with self._db.transaction() as s:
            store.record_delivered(s, delivery, ats_candidate, application)
        log.info("ATS %s %s delivered (attempt %d)", delivery.kind, delivery.id, delivery.attempts)

    def _deliver_submission(self, delivery: store.Delivery) -> tuple[str, str]:
        """Creates the person and their application in the ATS, unless a look first finds
        them (an earlier attempt whose answer was lost, or someone already there)."""
        adapter = self._require_adapter()
        person = delivery.candidate
        new = NewPerson(
            person.first_name,
            person.last_name,
            tuple(person.emails),
            tuple(person.phones),
            REFERENCE_PREFIX + person.id,
        )
        found = adapter.find_candidate(new.emails, new.reference, delivery.created_at - FIND_WINDOW)
        if found is None:
            return adapter.create_candidate_with_application(new, delivery.ats_job_id)
        application = found.applications.get(delivery.ats_job_id)
        if not application:
            application = adapter.add_application(found.id, delivery.ats_job_id)
        return found.id, application

    def _deliver_webhook(self, delivery: store.Delivery) -> None:
        url, secret = (
            self._settings.ats_webhook_out_url,
            self._settings.ats_webhook_out_secret.get_secret_value(),
        )
        if self._http is None or not url:
            raise AtsRejected("no web hook URL is configured any more")
        body = generic.json_body(delivery.payload)
        try:
            response = self._http.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    RAPPORT_HEADER: rapport_signature(secret, body),
                },
            )
        except httpx.HTTPError as exc:
            raise AtsUnavailable(f"POST {url}: {type(exc).__name__}: {exc}") from None
        code = response.status_code
        if code in (408, 429) or code >= 500:
            raise AtsUnavailable(f"POST {url}: HTTP {code}")
        if code >= 400:
            raise AtsRejected(f"POST {url}: HTTP {code}")

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            self._thread = None
        if self._adapter is not None:
            self._adapter.close()
        if self._http is not None:
            self._http.close()


__all__ = ["AtsUseCases", "SyncReport", "backoff_s", "build_adapter"]
