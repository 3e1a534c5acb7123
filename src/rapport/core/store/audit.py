"""Audit rows, written in the same transaction as the change they describe.

Who and under which request id come from `rapport.core.context`. Rows never hold contact
details: targets are ids, details are field names and counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from rapport.core import context
from rapport.core.store import bulk
from rapport.core.store.schema import AuditRow

AUDIT = AuditRow.__table__
COLUMNS = ("at", "actor", "request_id", "action", "target_type", "target_id", "details")


def record(
    session: Session,
    action: str,
    target_ids: Iterable[str] = ("",),
    *,
    target_type: str = "candidate",
    details: Mapping | None = None,
) -> None:
    ctx = context.current()
    head = (datetime.now(UTC), ctx.actor, ctx.request_id, action, target_type)
    details = dict(details or {})
    bulk.copy_rows(session, AUDIT, COLUMNS, ((*head, tid, details) for tid in target_ids))
