"""The outreach scheduler: `rapport outreach run [--once] [--batch N]`.

Each pass runs the triggers, then takes due steps a batch at a time:

1. one transaction claims the batch (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite's single
   writer), decides for every step (stop rules, the step's condition, consent, an address),
   renders the messages and commits the send rows it will deliver as 'sending';
2. each message is then checked once more against the store right before it goes out
   (an unsubscribe or a reply recorded a moment ago wins), sent over one reused SMTP
   connection, its stages noted in the delivery journal;
3. a second transaction records every outcome (send rows, timeline events, enrolments moved
   on) and the journal is emptied.

Each step is sent at most once: the send row's idempotency key admits one row per
(enrolment, step), and a scheduler killed between 1 and 3 is reconciled from its journal by
the next one (see `journal`): messages it never handed over are sent then, messages it did
are recorded as sent, and the one it may have been handing over at the instant of the kill
is recorded failed rather than risk a second copy. At-most-once was chosen over
at-least-once at that instant because a second identical recruiting email does more harm
(it reads as spam and undermines the person's trust) than a missing nudge, which the next
step or a recruiter makes up for.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from rapport.core.config import Settings
from rapport.core.domain import ConsentState
from rapport.core.errors import ValidationFailed
from rapport.core.ids import uuid7
from rapport.core.outreach import Sequence, Step, StepCondition
from rapport.core.store import outreach as store
from rapport.core.store import outreach_delivery as delivery
from rapport.core.store.db import Database
from rapport.core.store.outreach import ContentTemplate, why_not_mailable
from rapport.core.store.schema import CandidateRow
from rapport.services.outreach import journal as journals
from rapport.services.outreach.mail import MailSettings, SmtpClient, compose
from rapport.services.outreach.render import render_step
from rapport.services.outreach.triggers import TriggerRunner

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ORPHAN_CHECK_S = 30.0
LEASE_SAFETY = 0.8  # stop sending from a claim once this share of the lease is gone
MAX_PAUSE_S = 60.0
REASON_HANDED_OVER = "reconciled after a crash: the message had been handed to the server"
REASON_ACCEPTED = "reconciled after a crash: the server had accepted the message"
REASON_UNKNOWN = (
    "a crash fell while the message was being handed over: it may have been delivered, "
    "so it is not sent again"
)
REASON_UNKNOWN_LIVE = (
    "the connection broke while the message was being handed over: it may have been "
    "delivered, so it is not sent again"
)


def worker_id() -> str:
    """Names this scheduler in claims and in its journal's file name (<= 40 chars)."""
    return f"{socket.gethostname()[:24]}:{secrets.token_hex(6)}"


@dataclass
class RunStats:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    stopped: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0
    reconciled: int = 0
    triggered: int = 0
    batches: int = 0

    def add(self, other: RunStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _Plan:
    decision: delivery.Decision
    sequence: Sequence
    step: Step
    candidate_id: str
    body: str = ""
    thread: tuple[str, ...] = ()
    sender_name: str = ""
    outcome_advance: tuple[int, int] | None = None


@dataclass
class _Batch:
    plans: list[_Plan]
    stats: RunStats
    slot: int  # the journal file its marks go to
    claimed_at: float  # monotonic
    shares: list = field(default_factory=list)  # futures of the sending threads


class Scheduler:
    """One scheduler process. Not thread-safe: run it from one thread (several processes,
    on PostgreSQL on several machines, may run side by side)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        batch_size: int = 0,
        connections: int = 0,
        worker: str = "",
        mail: MailSettings | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._ms = mail or MailSettings.from_settings(settings)
        self.worker = worker or worker_id()
        self._batch = max(1, batch_size or settings.outreach_batch_size)
        self._journal = journals.Journal(settings.outreach_journal, self.worker)
        # One SMTP connection per sending thread: while one waits for the server's answer,
        # another composes and checks the next message (the GIL is free during socket waits).
        self._clients = [
            SmtpClient(self._ms)
            for _ in range(max(1, connections or settings.outreach_smtp_connections))
        ]
        # Each connection has its own single thread, so its messages go one after another in
        # order even when the next batch's share is handed over before this one's is done.
        self._threads = [
            ThreadPoolExecutor(1, thread_name_prefix=f"outreach-smtp-{i}")
            for i in range(len(self._clients))
        ]
        self._sequences: dict[int, Sequence] = {}  # sequences never change once saved
        self._triggers = TriggerRunner(db, settings)
        self._pause_until = 0.0
        self._next_orphan_check = 0.0
        self._next_expiry_check = 0.0

    def close(self) -> None:
        for thread in self._threads:
            thread.shutdown(wait=True)
        for client in self._clients:
            client.close()
        self._journal.close()

    # ------------------------------------------------------------------ the loop

    def run(
        self,
        *,
        once: bool = False,
        stop: threading.Event | None = None,
        on_batch: Callable[[RunStats], None] | None = None,
    ) -> RunStats:
        """Send what is due until `stop` is set; with `once`, until nothing is due now (or
        the SMTP server cannot be reached)."""
        stop = stop or threading.Event()
        total = RunStats()
        total.reconciled += self.recover()
        while not stop.is_set():
            total.triggered += self._triggers.run()
            self._drain(stop, total, on_batch)
            if once:
                break
            total.reconciled += self._housekeeping()
            wait = self._pause_until - time.monotonic()
            stop.wait(wait if wait > 0 else self._settings.outreach_poll_interval_s)
        return total

    def _paused(self) -> bool:
        return time.monotonic() < self._pause_until

    def _housekeeping(self) -> int:
        now = time.monotonic()
        done = 0
        if now >= self._next_orphan_check or now >= self._next_expiry_check:
            done += self.recover(expired=now >= self._next_expiry_check)
        return done

    # ------------------------------------------------------------------ one batch

    def _drain(self, stop, total: RunStats, on_batch) -> None:
        """Batches until nothing is due, two at a time: while batch N is on the wire, batch
        N+1 is claimed, decided and rendered, and once N is sent its outcomes are recorded
        while N+1 goes out. The database work hides behind the SMTP round trips."""
        flight: _Batch | None = None
        slot = 0
        while True:
            nxt = None
            if not stop.is_set() and not self._paused():
                nxt = self._claim(slot)
                if nxt is not None:
                    self._send(nxt)
                    slot = 1 - slot
            if flight is not None:
                stats = self._finish(flight)
                total.add(stats)
                if on_batch is not None:
                    on_batch(stats)
            elif nxt is None:
                return  # nothing on the wire and nothing due (a finished batch may make
                # its next steps due at once: hence one more claim after each finish)
            flight = nxt

    def send_batch(self) -> RunStats:
        """Claim, decide, deliver and record one batch of due steps (no overlap)."""
        batch = self._claim(0)
        if batch is None:
            return RunStats()
        self._send(batch)
        return self._finish(batch)

    def _claim(self, slot: int) -> _Batch | None:
        """One transaction: claim due steps, decide each, render, write the send rows."""
        now = datetime.now(UTC)
        with self._db.transaction() as s:
            due = delivery.claim_due(s, self.worker, now, self._batch)
            if not due:
                return None
            sequences = self._sequences_for(s, {d.sequence_pk for d in due})
            pks = [d.candidate_pk for d in due]
            people = delivery.people(s, pks)
            history = delivery.history(s, pks, min(d.enrolled_at for d in due))
            earlier = delivery.earlier_sends(s, [d.enrolment_pk for d in due])
            contents = self._contents_for(s, sequences, due)
            plans = [
                self._decide(
                    d,
                    sequences[d.sequence_pk],
                    people.get(d.candidate_pk),
                    history.get(d.candidate_pk, []),
                    earlier.get(d.enrolment_pk, []),
                    contents,
                    now,
                )
                for d in due
            ]
            delivery.apply_decisions(
                s, [p.decision for p in plans], self.worker, now, self._ms.domain
            )
        stats = RunStats(claimed=len(due), batches=1)
        for p in plans:
            if p.decision.action == "skip":
                stats.skipped += 1
            elif p.decision.action == "stop":
                stats.stopped += 1
        return _Batch(plans, stats, slot, time.monotonic())

    def _send(self, batch: _Batch) -> None:
        """Hand the batch's messages to the sending threads (one share per connection)."""
        sending = [p for p in batch.plans if p.decision.action == "send"]
        n = len(self._clients)
        batch.shares = [
            self._threads[i].submit(self._deliver_share, self._clients[i], sending[i::n], batch)
            for i in range(min(n, len(sending)))
        ]

    def _finish(self, batch: _Batch) -> RunStats:
        outcomes = [o for share in batch.shares for o in share.result()]
        self._record(outcomes, self.worker, batch.stats)
        self._journal.reset(batch.slot)
        return batch.stats

    def _deliver_share(
        self, client: SmtpClient, plans: list[_Plan], batch: _Batch
    ) -> list[delivery.Outcome]:
        """One sending thread's part of a batch, in order, on its own connection."""
        with self._db.engine.connect() as conn:
            check = delivery.MailableCheck(conn)
            try:
                return [self._deliver(check, client, p, batch) for p in plans]
            finally:
                check.close()

    def _record(self, outcomes: list[delivery.Outcome], worker: str, stats: RunStats) -> None:
        with self._db.transaction() as s:
            dropped = delivery.complete(
                s,
                outcomes,
                worker,
                datetime.now(UTC),
                max_attempts=self._settings.outreach_max_attempts,
                retry_base_s=self._settings.outreach_retry_base_s,
            )
        for o in dropped:
            log.warning(
                "send %s: the claim was taken over (lease expired); outcome %s not recorded",
                o.send_id,
                o.result,
            )
        kept = {id(o) for o in outcomes} - {id(o) for o in dropped}
        for o in outcomes:
            if id(o) not in kept:
                continue
            if o.result in ("sent", "handed_over"):
                stats.sent += 1
            elif o.result == "temporary":
                stats.retried += 1
            elif o.result == "release":
                stats.released += 1
            elif o.result == "not_mailable":
                stats.stopped += 1
            else:
                stats.failed += 1

    def _sequences_for(self, session, pks: set[int]) -> dict[int, Sequence]:
        missing = [pk for pk in pks if pk not in self._sequences]
        if missing:
            self._sequences.update(store.sequences_by_pk(session, missing))
        return self._sequences

    def _contents_for(self, session, sequences, due) -> dict[str, ContentTemplate | None]:
        ids = {
            sequences[d.sequence_pk].steps[d.step_position].content_id
            for d in due
            if 0 <= d.step_position < len(sequences[d.sequence_pk].steps)
        } - {""}
        return {cid: store.content_template(session, cid) for cid in ids}

    # ------------------------------------------------------------------ deciding

    def _decide(self, d, seq, person, events, earlier, contents, now) -> _Plan:
        step = seq.steps[d.step_position] if 0 <= d.step_position < len(seq.steps) else None
        decision = delivery.Decision(due=d, action="stop")
        cid = person.id if person else ""
        plan = _Plan(decision, seq, step or Step(), cid)
        if step is None:
            decision.reason = "no_step"
            return plan
        if d.send_state in ("sent", "failed", "skipped"):
            decision.action, decision.advance = "resume", _skip_to(seq, step, now)
            return plan
        if d.send_pk is None:
            decision.send_id = uuid7()
            decision.message_id = f"<{decision.send_id}@{self._ms.domain}>"
            decision.token = delivery.new_token()
        else:
            decision.message_id, decision.token = d.message_id, d.token
        if person is None:
            decision.reason = "erased"
            return plan
        why = why_not_mailable(person.status, person.consent_state, list(person.emails))
        if why:
            decision.reason = _stop_reason(why[0], person.consent_state)
            return plan
        replied = any(
            e.kind in delivery.REPLY_KINDS and e.occurred_at >= d.enrolled_at for e in events
        )
        applied = any(e.kind == "applied" and e.occurred_at >= d.enrolled_at for e in events)
        if replied and seq.stops_on("reply"):
            decision.reason = "replied"
            return plan
        if applied and seq.stops_on("application"):
            decision.reason = "applied"
            return plan
        skip_why = ""
        if step.condition == StepCondition.NO_REPLY and replied:
            skip_why = "condition no_reply: the candidate replied"
        elif step.condition == StepCondition.NOT_OPENED and earlier:
            first = earlier[0].sent_at
            if any(
                e.kind == "email_opened" and not e.machine and e.occurred_at >= first
                for e in events
            ):
                skip_why = "condition not_opened: an earlier email was opened"
        if skip_why:
            decision.action, decision.reason = "skip", skip_why
            decision.advance = _skip_to(seq, step, now)
            return plan
        sender = seq.sender_name or self._ms.from_name
        try:
            content = contents.get(step.content_id) if step.content_id else None
            if step.content_id and content is None:
                raise ValidationFailed([], f"content item {step.content_id} no longer exists")
            rendered = render_step(
                seq,
                step,
                person.values,
                content=content,
                thread_subject=earlier[0].subject if earlier else "",
                unsubscribe_url=self._ms.unsubscribe_link(decision.token),
                sender_name=sender,
            )
        except ValidationFailed as exc:
            log.warning("sequence %s step %s cannot be rendered: %s", seq.id, step.key, exc)
            decision.reason = "template_error"
            return plan
        decision.action = "send"
        decision.to_address = person.emails[0]
        decision.subject = rendered.subject
        plan.body = rendered.body
        plan.thread = tuple(e.message_id for e in earlier)
        plan.sender_name = sender
        plan.outcome_advance = _advance_of(seq, step)
        return plan

    # ------------------------------------------------------------------ delivering

    def _deliver(self, check, client: SmtpClient, plan: _Plan, batch: _Batch) -> delivery.Outcome:
        d = plan.decision
        base = delivery.Outcome(
            send_pk=d.send_pk,
            send_id=d.send_id,
            enrolment_pk=d.due.enrolment_pk,
            candidate_pk=d.due.candidate_pk,
            candidate_id=plan.candidate_id,
            result="release",
            sequence_id=plan.sequence.id,
            step_key=plan.step.key,
            message_id=d.message_id,
            subject=d.subject,
            attempts_before=d.due.attempts,
            advance=plan.outcome_advance,
        )
        if self._paused():
            return base
        if (
            time.monotonic() - batch.claimed_at
            > LEASE_SAFETY * self._settings.outreach_claim_lease_s
        ):
            return base  # too close to the lease: another scheduler may take it over
        state, status, consent_state, emails = check(d.due.enrolment_pk)
        if state != "active":
            return replace(
                base, result="not_mailable", reason="the enrolment stopped before sending"
            )
        why = why_not_mailable(status, consent_state, emails)
        if why:
            return replace(
                base,
                result="not_mailable",
                reason=why[1],
                stop_reason=_stop_reason(why[0], consent_state),
            )
        if d.to_address not in emails:
            return base  # the address changed since the claim: decide again next pass
        message = compose(
            self._ms,
            to=d.to_address,
            subject=d.subject,
            body=plan.body,
            message_id=d.message_id,
            token=d.token,
            sender_name=plan.sender_name,
            thread=plan.thread,
        )
        data = message.data
        pk, slot, journal = d.send_pk, batch.slot, self._journal
        journal.mark("S", pk, slot=slot)
        result = client.deliver(
            d.to_address, data, lambda stage: journal.mark(stage, pk, slot=slot)
        )
        now = datetime.now(UTC)
        if result.result == "sent":
            journal.mark("A", pk, result.code, slot=slot)
            return replace(base, result="sent", at=now, smtp_response=result.response)
        if result.result == "permanent":
            journal.mark("X", pk, result.code, slot=slot)
            return replace(
                base,
                result="permanent",
                smtp_response=result.response,
                reason="refused by the server",
            )
        if result.result == "temporary":
            journal.mark("T", pk, result.code, slot=slot)
            if not result.reached_server:
                pause = min(self._settings.outreach_retry_base_s, MAX_PAUSE_S)
                self._pause_until = time.monotonic() + pause
                log.warning("SMTP server unreachable (%s); pausing %.0f s", result.response, pause)
                return replace(
                    base, smtp_response=result.response, retry_at=now + timedelta(seconds=pause)
                )
            return replace(
                base,
                result="temporary",
                smtp_response=result.response,
                reason="refused for now; retried later",
            )
        return replace(
            base, result="unknown", smtp_response=result.response, reason=REASON_UNKNOWN_LIVE
        )

    # ------------------------------------------------------------------ recovery

    def recover(self, *, expired: bool = True) -> int:
        """Reconcile the claims of dead schedulers: those whose journal on this machine is
        no longer locked, then (with `expired`) any claim past its lease whose scheduler
        is not alive here. Returns how many claims were settled."""
        settled = 0
        directory = self._settings.outreach_journal
        for orphan in journals.orphans(directory, own=self._journal.paths):
            log.info("reconciling the claims of dead scheduler %s", orphan.worker)
            settled += self._reconcile(orphan.worker, orphan.marks, reliable=orphan.same_boot)
            orphan.release(remove=True)
        self._next_orphan_check = time.monotonic() + ORPHAN_CHECK_S
        if expired:
            settled += self._reconcile_expired()
            self._next_expiry_check = time.monotonic() + self._settings.outreach_claim_lease_s / 4
        return settled

    def _reconcile_expired(self) -> int:
        lease = timedelta(seconds=self._settings.outreach_claim_lease_s)
        with self._db.read() as s:
            stale = delivery.stale_claims(s, workers=(), before=datetime.now(UTC) - lease)
        directory = self._settings.outreach_journal
        workers = {x.worker for x in stale} - {self.worker}
        settled = 0
        for worker in sorted(workers):
            if journals.is_alive(directory, worker):
                log.warning("scheduler %s holds claims past their lease but is alive", worker)
                continue
            log.warning("claims of scheduler %s expired; settling them at most once", worker)
            settled += self._reconcile(worker, {}, reliable=False)
        return settled

    def _reconcile(self, worker: str, marks: dict, *, reliable: bool) -> int:
        """Settle every claim `worker` left, from its journal marks (see `journal`)."""
        settled = 0
        seen: set[int] = set()
        while True:
            now = datetime.now(UTC)
            with self._db.transaction() as s:
                stale = delivery.stale_claims(s, workers=[worker], before=EPOCH)
                if not stale:
                    return settled
                if {x.enrolment_pk for x in stale} <= seen:  # a bug, not a state to spin on
                    log.error("claims of %s could not be settled: %s", worker, sorted(seen)[:10])
                    return settled
                seen |= {x.enrolment_pk for x in stale}
                sequences = self._sequences_for(s, {x.sequence_pk for x in stale})
                ids = dict(
                    s.execute(
                        select(CandidateRow.pk, CandidateRow.id).where(
                            CandidateRow.pk.in_({x.candidate_pk for x in stale})
                        )
                    ).all()
                )
                outcomes, bare = [], []
                for x in stale:
                    if x.send_pk is None:
                        bare.append(x.enrolment_pk)
                        continue
                    seq = sequences[x.sequence_pk]
                    step = seq.steps[x.step_position]
                    mark = marks.get(x.send_pk)
                    result, reason = _reconciled(mark, reliable)
                    outcomes.append(
                        delivery.Outcome(
                            send_pk=x.send_pk,
                            send_id=x.send_id,
                            enrolment_pk=x.enrolment_pk,
                            candidate_pk=x.candidate_pk,
                            candidate_id=ids.get(x.candidate_pk, ""),
                            result=result,
                            sequence_id=seq.id,
                            step_key=step.key,
                            message_id=x.message_id,
                            subject=x.subject,
                            smtp_response=str(mark.code) if mark and mark.code else "",
                            reason=reason,
                            attempts_before=x.attempts,
                            advance=_advance_of(seq, step),
                            at=datetime.fromtimestamp(mark.at, UTC) if mark and mark.at else None,
                        )
                    )
                delivery.complete(
                    s,
                    outcomes,
                    worker,
                    now,
                    max_attempts=self._settings.outreach_max_attempts,
                    retry_base_s=self._settings.outreach_retry_base_s,
                )
                delivery.release_claims(s, bare)
            settled += len(stale)
            log.info("settled %d claims of %s", len(stale), worker)


def _reconciled(mark: journals.Mark | None, reliable: bool) -> tuple[str, str]:
    stage = mark.stage if mark else ""
    if stage == "A":
        return "sent", REASON_ACCEPTED
    if stage == "T":
        return "temporary", "refused for now before a crash; retried later"
    if stage == "X":
        return "permanent", "refused by the server"
    if stage == "D":
        return "handed_over", REASON_HANDED_OVER
    if stage == "P" or not reliable:
        return "unknown", REASON_UNKNOWN
    return "release", ""  # never handed over: it goes out again, with the same Message-ID


def _advance_of(seq: Sequence, step: Step) -> tuple[int, int] | None:
    nxt = step.next_position
    return None if nxt < 0 else (nxt, seq.steps[nxt].delay_s)


def _skip_to(seq: Sequence, step: Step, now: datetime) -> tuple[int, datetime] | None:
    adv = _advance_of(seq, step)
    return None if adv is None else (adv[0], now + timedelta(seconds=adv[1]))


def _stop_reason(why: str, consent_state: str) -> str:
    if why == "no_consent" and consent_state == ConsentState.OPTED_OUT.value:
        return "unsubscribed"
    return why
