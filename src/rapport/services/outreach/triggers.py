"""Triggers, run by the scheduler on every pass.

Event triggers follow the timeline by its key from a stored cursor (a `FeedCursor`, so
keys PostgreSQL hands out before a slow transaction commits are not skipped), and act on
each new event of their kind whose payload matches. Each (trigger, event) is recorded once,
so a rescan after a crash acts on nothing twice.

Dormancy triggers look, at most every `outreach_trigger_interval_s`, for people with no
activity on their timeline for N days (who may be mailed, were not enrolled by this trigger
within those N days and are not in its sequence now), and enrol them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence as Seq
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from rapport.core.config import Settings
from rapport.core.errors import NotFound, RapportError
from rapport.core.outreach import MAILABLE_CONSENT, payload_matches
from rapport.core.store import candidates, pools, segments
from rapport.core.store import outreach as store
from rapport.core.store.candidates import ACTIVE
from rapport.core.store.db import Database
from rapport.core.store.feed import FeedCursor
from rapport.core.store.rules import compile_rule
from rapport.core.store.schema import (
    CandidateRow,
    OutreachSequenceRow,
    OutreachTriggerRow,
    PoolMemberRow,
    PoolRow,
    TimelineEventRow,
)
from rapport.core.store.sealing import KIND_BITS

log = logging.getLogger(__name__)

SCAN_BATCH = 5000
MAX_DORMANT_PER_PASS = 10_000
# Bookkeeping, not activity: these do not end anyone's dormancy.
NOT_ACTIVITY = ("imported", "merged", "unmerged")


class TriggerRunner:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._cursor: FeedCursor | None = None

    def run(self) -> int:
        """Run event triggers over new timeline events, then dormancy triggers if due.
        Returns how many times triggers fired."""
        return self.run_events() + self.run_dormant()

    # ------------------------------------------------------------------ events

    def run_events(self) -> int:
        fired = 0
        while True:
            with self._db.transaction() as s:
                triggers = [t for t in store.trigger_rows(s) if t.kind == "event"]
                if not triggers:
                    return fired
                if self._cursor is None:
                    self._cursor = FeedCursor(upto=store.cursor(s, store.TRIGGER_CURSOR))
                cursor = self._cursor
                t = TimelineEventRow
                raw = s.execute(
                    select(t.pk, t.candidate_pk, t.kind, t.payload, t.recorded_at)
                    .where(t.pk > cursor.upto)
                    .order_by(t.pk)
                    .limit(SCAN_BATCH)
                ).all()
                rows = [r for r in raw if r.pk not in cursor.ahead]
                for trig in triggers:
                    wanted = tuple((trig.payload_equals or {}).items())
                    hits = [
                        (r.candidate_pk, r.pk)
                        for r in rows
                        if r.kind == trig.event_kind
                        and r.recorded_at >= trig.created_at
                        and payload_matches(r.payload or {}, wanted)
                    ]
                    if hits:
                        fired += self._fire(s, trig, hits)
                before = cursor.upto
                cursor.advance([r.pk for r in rows], time.monotonic())
                store.set_cursor(s, store.TRIGGER_CURSOR, cursor.upto)
            if len(raw) < SCAN_BATCH or cursor.upto == before:
                return fired

    # ------------------------------------------------------------------ dormancy

    def run_dormant(self) -> int:
        fired = 0
        now = datetime.now(UTC)
        interval = timedelta(seconds=self._settings.outreach_trigger_interval_s)
        with self._db.transaction() as s:
            for trig in store.trigger_rows(s):
                if trig.kind != "dormant":
                    continue
                if trig.last_run_at is not None and now - trig.last_run_at < interval:
                    continue
                n, complete = self._dormant(s, trig, now)
                fired += n
                if complete:
                    s.execute(
                        update(OutreachTriggerRow)
                        .where(OutreachTriggerRow.pk == trig.pk)
                        .values(last_run_at=now)
                    )
        return fired

    def _dormant(self, s, trig: OutreachTriggerRow, now: datetime) -> tuple[int, bool]:
        """Fire for dormant people; (how many, whether everyone dormant was reached)."""
        seq_id = (trig.actions or {}).get("enrol_sequence_id", "")
        seq_pk = s.execute(
            select(OutreachSequenceRow.pk).where(OutreachSequenceRow.id == seq_id)
        ).scalar_one_or_none()
        if seq_pk is None:
            log.warning("trigger %s enrols in sequence %s, which is gone", trig.id, seq_id)
            return 0, True
        cutoff = now - timedelta(days=trig.dormant_days)
        tl = TimelineEventRow
        recent = (
            select(tl.pk)
            .where(
                tl.candidate_pk == CandidateRow.pk,
                tl.occurred_at >= cutoff,
                tl.kind.not_in(NOT_ACTIVITY),
            )
            .exists()
        )
        where = [
            CandidateRow.status == ACTIVE,
            CandidateRow.consent_state.in_(MAILABLE_CONSENT),
            CandidateRow.created_at < cutoff,
            ~recent,
            ~store.active_in(seq_pk),
            ~store.fired_since(trig.pk, cutoff),
        ]
        if trig.segment_id:
            try:
                where += compile_rule(segments.get(s, trig.segment_id).rule, now)
            except NotFound:
                log.warning("trigger %s names segment %s, which is gone", trig.id, trig.segment_id)
                return 0, True
        rows = s.execute(
            select(CandidateRow.pk, CandidateRow.contact_kinds)
            .where(*where)
            .order_by(CandidateRow.pk)
            .limit(MAX_DORMANT_PER_PASS)
        ).all()
        people = [r.pk for r in rows if r.contact_kinds & KIND_BITS["email"]]
        if not people:
            return 0, True
        new = store.record_firings(s, trig.pk, [(pk, None) for pk in people], _describe(trig))
        self._act(s, trig, new)
        return len(new), len(rows) < MAX_DORMANT_PER_PASS

    # ------------------------------------------------------------------ actions

    def _fire(self, s, trig: OutreachTriggerRow, hits: Seq[tuple[int, int]]) -> int:
        new = store.record_firings(s, trig.pk, hits, _describe(trig))
        self._act(s, trig, new)
        return len(new)

    def _act(self, s, trig: OutreachTriggerRow, firings: list[tuple[int, int, int | None]]) -> None:
        """Tag, add to a pool, enrol. A failing action is noted on the firings and leaves
        the others (and the rest of the pass) alone."""
        if not firings:
            return
        candidate_pks = list(dict.fromkeys(c for _, c, _ in firings))
        ids = dict(
            s.execute(
                select(CandidateRow.pk, CandidateRow.id).where(
                    CandidateRow.pk.in_(candidate_pks), CandidateRow.status == ACTIVE
                )
            ).all()
        )
        actions = trig.actions or {}
        failures = []
        for name, act in (
            ("add_tag", self._tag),
            ("add_to_pool_id", self._pool),
            ("enrol_sequence_id", self._enrol),
        ):
            value = actions.get(name, "")
            if not value or not ids:
                continue
            try:
                with s.begin_nested():
                    act(s, trig, value, ids)
            except RapportError as exc:
                log.warning("trigger %s: %s failed: %s", trig.id, name, exc)
                failures.append(f"{name}: {exc}")
        if failures:
            store.set_firing_outcome(
                s, [f for f, _, _ in firings], "failed: " + "; ".join(failures)
            )

    @staticmethod
    def _tag(s, trig, tag: str, ids: dict[int, str]) -> None:
        for cid in ids.values():
            current = candidates.get(s, cid)
            if tag not in current.tags:
                draft = current.draft()
                draft.tags = [*draft.tags, tag]
                candidates.update(s, cid, draft)

    @staticmethod
    def _pool(s, trig, pool_id: str, ids: dict[int, str]) -> None:
        """Adds people not in the pool yet; members keep the stage they are at."""
        members = set(
            s.execute(
                select(PoolMemberRow.candidate_pk)
                .join(PoolRow, PoolRow.pk == PoolMemberRow.pool_pk)
                .where(PoolRow.id == pool_id, PoolMemberRow.candidate_pk.in_(list(ids)))
            ).scalars()
        )
        fresh = [cid for pk, cid in ids.items() if pk not in members]
        if fresh:
            pools.add_members(s, pool_id, fresh)

    @staticmethod
    def _enrol(s, trig, sequence_id: str, ids: dict[int, str]) -> None:
        outcome = store.enrol(
            s, sequence_id, candidate_ids=list(ids.values()), source=f"trigger:{trig.id}"
        )
        if outcome.skipped_count:
            reasons: dict[str, int] = {}
            for skip in outcome.skips:
                reasons[skip.reason] = reasons.get(skip.reason, 0) + 1
            log.info("trigger %s: %d not enrolled %s", trig.id, outcome.skipped_count, reasons)


def _describe(trig: OutreachTriggerRow) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((trig.actions or {}).items()) if v)[:200]
