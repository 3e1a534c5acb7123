"""The change feed: appended in the writer's transaction, read by index maintainers and
the engagement scorer, each following it with a `FeedCursor`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapport.core.domain import ChangeEvent
from rapport.core.store import bulk
from rapport.core.store.schema import ChangeFeedRow

FEED = ChangeFeedRow.__table__
log = logging.getLogger(__name__)

# A sequence number not visible yet may belong to a transaction still committing (PostgreSQL
# hands them out before commit) or to one rolled back. Wait this long before skipping it.
GAP_TIMEOUT_S = 30.0


@dataclass
class FeedCursor:
    """Applied change-feed positions: everything up to `upto`, plus `ahead` (past a gap)."""

    upto: int = 0
    ahead: set[int] = field(default_factory=set)
    gaps: dict[int, float] = field(default_factory=dict)  # missing seq -> first noticed

    def advance(self, seqs: list[int], now: float) -> None:
        self.ahead.update(seq for seq in seqs if seq > self.upto)
        top = max(self.ahead, default=self.upto)
        for missing in range(self.upto + 1, top):
            if missing not in self.ahead:
                self.gaps.setdefault(missing, now)
        while True:
            nxt = self.upto + 1
            if nxt in self.ahead:
                self.ahead.discard(nxt)
            elif nxt in self.gaps and now - self.gaps[nxt] > GAP_TIMEOUT_S:
                log.warning("change feed seq %d never became visible; skipping it", nxt)
            else:
                break
            self.gaps.pop(nxt, None)
            self.upto = nxt


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


def head(session: Session) -> int:
    """The latest sequence number (0 for an empty feed)."""
    return session.execute(select(func.max(ChangeFeedRow.seq))).scalar_one() or 0
