"""One-time sign-in links of the candidate portal (issue 9).

A link's token is 256 random bits; only its SHA-256 is stored, so a copy of the database
signs nobody in. Redeeming is one conditional UPDATE (unused and unexpired), so two tabs or
a replayed link cannot both win, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from rapport.core.store import audit, candidates
from rapport.core.store.schema import CandidateRow, SignInLinkRow

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# Used and expired links are kept this long (what `redeem` tells "used" and "expired" from
# "unknown" by), then deleted when the same person asks for a new link.
KEEP_SPENT = timedelta(days=1)

USED, EXPIRED, UNKNOWN = "used", "expired", "unknown"


@dataclass(frozen=True)
class Issued:
    candidate_id: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Redeemed:
    """`candidate_id` when the link signed someone in, else why not (used | expired |
    unknown)."""

    candidate_id: str = ""
    refused: str = ""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _owner(session: Session, email: str) -> tuple[int, str] | None:
    """(pk, id) of the person holding `email` (a normalised address), following a merged
    record to the record it was merged into; None when nobody holds it."""
    owners = candidates.identity_owners(session, [("email", email)])
    pk = owners.get(("email", email))
    if pk is None:
        return None
    row = session.execute(
        select(CandidateRow.id, CandidateRow.merged_into_pk).where(CandidateRow.pk == pk)
    ).one()
    if row.merged_into_pk is None:
        return pk, row.id
    survivor = session.execute(
        select(CandidateRow.id).where(CandidateRow.pk == row.merged_into_pk)
    ).scalar_one()
    return row.merged_into_pk, survivor


def issue(
    session: Session, email: str, *, now: datetime, valid_for: timedelta, max_open: int
) -> Issued | None:
    """A new link for the person holding `email`, or None when nobody does or when they
    already have `max_open` unexpired links (a mailbox is not flooded by repeated asks).
    Audited either way (never with the address)."""
    owner = _owner(session, email)
    if owner is None:
        audit.record(session, "portal.sign_in_requested", target_type="", details={"known": False})
        return None
    pk, candidate_id = owner
    session.execute(
        delete(SignInLinkRow).where(
            SignInLinkRow.candidate_pk == pk, SignInLinkRow.expires_at < now - KEEP_SPENT
        )
    )
    open_links = session.execute(
        select(func.count())
        .select_from(SignInLinkRow)
        .where(SignInLinkRow.candidate_pk == pk, SignInLinkRow.expires_at > now)
    ).scalar_one()
    if open_links >= max_open:
        audit.record(
            session, "portal.sign_in_requested", [candidate_id], details={"throttled": True}
        )
        return None
    token = secrets.token_urlsafe(32)
    expires_at = now + valid_for
    session.execute(
        SignInLinkRow.__table__.insert().values(
            token_hash=token_hash(token), candidate_pk=pk, created_at=now, expires_at=expires_at
        )
    )
    audit.record(session, "portal.sign_in_requested", [candidate_id], details={"known": True})
    return Issued(candidate_id, token, expires_at)


def redeem(session: Session, token: str, *, now: datetime) -> Redeemed:
    """Marks the link used if it is unused and unexpired (exactly one caller wins).
    Audited either way."""
    outcome = _redeem(session, token, now)
    if outcome.refused:
        audit.record(
            session, "portal.sign_in_refused", target_type="", details={"reason": outcome.refused}
        )
    else:
        audit.record(session, "portal.signed_in", [outcome.candidate_id])
    return outcome


def _redeem(session: Session, token: str, now: datetime) -> Redeemed:
    if not _TOKEN.fullmatch(token or ""):
        return Redeemed(refused=UNKNOWN)
    digest = token_hash(token)
    won = session.execute(
        update(SignInLinkRow)
        .where(
            and_(
                SignInLinkRow.token_hash == digest,
                SignInLinkRow.used_at.is_(None),
                SignInLinkRow.expires_at > now,
            )
        )
        .values(used_at=now)
    ).rowcount
    row = session.execute(
        select(SignInLinkRow.candidate_pk, SignInLinkRow.used_at).where(
            SignInLinkRow.token_hash == digest
        )
    ).one_or_none()
    if row is None:
        return Redeemed(refused=UNKNOWN)
    if won != 1:
        return Redeemed(refused=USED if row.used_at is not None else EXPIRED)
    candidate = session.execute(
        select(CandidateRow.id, CandidateRow.merged_into_pk).where(
            CandidateRow.pk == row.candidate_pk
        )
    ).one()
    candidate_id = candidate.id
    if candidate.merged_into_pk is not None:  # merged since the link was sent
        candidate_id = session.execute(
            select(CandidateRow.id).where(CandidateRow.pk == candidate.merged_into_pk)
        ).scalar_one()
    return Redeemed(candidate_id=candidate_id)


__all__ = [
    "EXPIRED",
    "UNKNOWN",
    "USED",
    "Issued",
    "Redeemed",
    "issue",
    "redeem",
    "token_hash",
]
