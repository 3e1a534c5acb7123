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


def record(
    session: Session,
    action: str,
    target_ids: Iterable[str] = ("",),
    *,
    target_type: str = "candidate",
    details: Mapping | None = None,
) -> None:
    ctx = context.current()
    now = datetime.now(UTC)
    rows = [
        {
            "at": now,
            "actor": ctx.actor,
            "request_id": ctx.request_id,
            "action": action,
            "target_type": target_type,
            "target_id": tid,
            "details": dict(details or {}),
        }
        for tid in target_ids
    ]
    if rows:
        bulk.insert_rows(session, AuditRow.__table__, rows)
