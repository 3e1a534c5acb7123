"""The append-only timeline of one candidate: every touch, response and stage change."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from rapport.core.domain import CHANNELS, TIMELINE_KINDS, Page, TimelineEvent
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.ids import uuid7
from rapport.core.store import audit, feed, paging
from rapport.core.store.candidates import pk_for
from rapport.core.store.schema import CandidateRow, TimelineEventRow

MAX_PAYLOAD_BYTES = 64_000
FUTURE_TOLERANCE = timedelta(minutes=5)


def validate_event(
    kind: str, occurred_at: datetime | None, channel: str, payload: dict, prefix: str = "event"
) -> None:
    problems = []
    if kind not in TIMELINE_KINDS:
        problems.append(
            Violation(f"{prefix}.kind", "unknown kind; one of " + ", ".join(sorted(TIMELINE_KINDS)))
        )
    if channel not in CHANNELS:
        problems.append(
            Violation(
                f"{prefix}.channel",
                "unknown channel; one of " + ", ".join(sorted(c for c in CHANNELS if c)),
            )
        )
    if occurred_at is not None and occurred_at > datetime.now(UTC) + FUTURE_TOLERANCE:
        problems.append(Violation(f"{prefix}.occurred_at", "is in the future"))
    if len(json.dumps(payload, default=str)) > MAX_PAYLOAD_BYTES:
        problems.append(Violation(f"{prefix}.payload", f"larger than {MAX_PAYLOAD_BYTES} bytes"))
    if problems:
        raise ValidationFailed(problems)


def _to_domain(row: TimelineEventRow, candidate_id: str) -> TimelineEvent:
    return TimelineEvent(
        row.id,
        candidate_id,
        row.kind,
        row.occurred_at,
        row.channel,
        row.actor,
        row.stage,
        dict(row.payload or {}),
    )


def add(
    session: Session,
    candidate_id: str,
    kind: str,
    *,
    occurred_at: datetime | None = None,
    channel: str = "",
    actor: str = "",
    stage: str = "",
    payload: dict | None = None,
) -> TimelineEvent:
    payload = payload or {}
    validate_event(kind, occurred_at, channel, payload)
    pk = pk_for(session, candidate_id)
    now = datetime.now(UTC)
    values = {
        "id": uuid7(),
        "candidate_pk": pk,
        "kind": kind,
        "occurred_at": occurred_at or now,
        "channel": channel,
        "actor": actor,
        "stage": stage,
        "payload": payload,
        "recorded_at": now,
    }
    session.execute(insert(TimelineEventRow), values)
    feed.append(session, [(candidate_id, "timeline")], at=now)
    audit.record(session, "timeline.add", [candidate_id], details={"kind": kind})
    return TimelineEvent(
        values["id"], candidate_id, kind, values["occurred_at"], channel, actor, stage, payload
    )


def add_many(session: Session, rows: Sequence[dict]) -> None:
    """Bulk append for seeding and imports: dicts with candidate_pk, kind, occurred_at, ...
    (already validated by the caller)."""
    now = datetime.now(UTC)
    full = [
        {
            "id": uuid7(),
            "channel": "",
            "actor": "",
            "stage": "",
            "payload": {},
            "recorded_at": now,
        }
        | r
        for r in rows
    ]
    if full:
        session.execute(insert(TimelineEventRow.__table__), full)


def list_page(
    session: Session, candidate_id: str, size: int, token: str, kinds: Sequence[str] = ()
) -> Page:
    """Newest first; the token is the last event's key."""
    size = paging.page_size(size)
    pk = pk_for(session, candidate_id)
    stmt = select(TimelineEventRow).where(TimelineEventRow.candidate_pk == pk)
    if kinds:
        stmt = stmt.where(TimelineEventRow.kind.in_(list(kinds)))
    after = paging.decode(token)
    if after:
        last = session.execute(
            select(TimelineEventRow.occurred_at).where(TimelineEventRow.pk == after)
        ).scalar_one_or_none()
        if last is None:
            raise ValidationFailed(
                Violation("page_token", "points at an event that no longer exists")
            )
        stmt = stmt.where(
            or_(
                TimelineEventRow.occurred_at < last,
                and_(TimelineEventRow.occurred_at == last, TimelineEventRow.pk < after),
            )
        )
    rows = (
        session.execute(
            stmt.order_by(TimelineEventRow.occurred_at.desc(), TimelineEventRow.pk.desc()).limit(
                size + 1
            )
        )
        .scalars()
        .all()
    )
    more = len(rows) > size
    rows = rows[:size]
    cid = session.execute(select(CandidateRow.id).where(CandidateRow.pk == pk)).scalar_one()
    return Page([_to_domain(r, cid) for r in rows], paging.encode(rows[-1].pk) if more else "")
