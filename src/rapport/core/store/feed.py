"""The change feed: appended in the writer's transaction, read by index maintainers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.core.domain import ChangeEvent
from rapport.core.store import bulk
from rapport.core.store.schema import ChangeFeedRow

FEED = ChangeFeedRow.__table__


def append(
    session: Session, changes: Iterable[tuple[str, str]], at: datetime | None = None
) -> None:
    """Record (candidate id, op) pairs as part of the caller's transaction."""
    at = at or datetime.now(UTC)
    bulk.copy_rows(
        session, FEED, ("candidate_id", "op", "at"), ((cid, op, at) for cid, op in changes)
    )


def read_since(session: Session, since_seq: int, limit: int = 1000) -> list[ChangeEvent]:
    rows = session.execute(
        select(ChangeFeedRow)
        .where(ChangeFeedRow.seq > since_seq)
        .order_by(ChangeFeedRow.seq)
        .limit(limit)
    ).scalars()
    return [ChangeEvent(r.seq, r.candidate_id, r.op, r.at) for r in rows]
