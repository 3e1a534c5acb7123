"""A candidate's consent state. Opting out must reach every reader at once, so the change
goes to the change feed (op "consent") in the same transaction: matching drops the person
from its index and outreach stops."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from rapport.core.domain import ConsentState
from rapport.core.store import audit, candidates, feed
from rapport.core.store.schema import CandidateRow


def set_state(session: Session, candidate_id: str, state: ConsentState, *, basis: str = "") -> None:
    pk = candidates.pk_for(session, candidate_id, lock=True)
    now = datetime.now(UTC)
    session.execute(
        update(CandidateRow)
        .where(CandidateRow.pk == pk)
        .values(consent_state=state.value, version=CandidateRow.version + 1, updated_at=now)
    )
    feed.append(session, [(candidate_id, "consent")], at=now)
    audit.record(
        session, "candidate.consent", [candidate_id], details={"state": state.value, "basis": basis}
    )
