"""Reads for the matching index: who may be ranked, in bulk and by id.

Rankable means active (not merged away) and not opted out. Matching keeps an index of
exactly these people; anyone else must disappear from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from rapport.core.domain import Candidate, ConsentState
from rapport.core.store import bulk
from rapport.core.store.candidates import ACTIVE, load_many
from rapport.core.store.schema import CandidateRow

RANKABLE = and_(
    CandidateRow.status == ACTIVE, CandidateRow.consent_state != ConsentState.OPTED_OUT.value
)


def is_rankable(candidate: Candidate) -> bool:
    return not candidate.merged_into and candidate.consent_state != ConsentState.OPTED_OUT


def count_rankable(session: Session) -> int:
    return session.execute(select(func.count()).where(RANKABLE)).scalar_one()


def rankable_after(session: Session, after_pk: int, limit: int) -> list[Candidate]:
    """The next `limit` rankable candidates in primary-key order (a full scan in pages)."""
    pks = list(
        session.execute(
            select(CandidateRow.pk)
            .where(RANKABLE, CandidateRow.pk > after_pk)
            .order_by(CandidateRow.pk)
            .limit(limit)
        ).scalars()
    )
    return load_many(session, pks)


def rankable_by_id(session: Session, ids: Sequence[str]) -> list[Candidate]:
    """Those of `ids` that are rankable now; the others are gone, merged or opted out."""
    if not ids:
        return []
    pks = list(
        session.execute(
            select(CandidateRow.pk).where(RANKABLE, bulk.member_of(session, CandidateRow.id, ids))
        ).scalars()
    )
    return load_many(session, pks)


def rankable_pks(session: Session, conditions: Sequence[ColumnElement]) -> list[int]:
    """Primary keys of rankable candidates meeting every condition (compiled rule parts)."""
    stmt = select(CandidateRow.pk).where(RANKABLE, *conditions)
    return list(session.execute(stmt).scalars().all())  # one fetchall, not a row at a time
