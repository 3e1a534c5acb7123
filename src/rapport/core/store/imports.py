"""Bookkeeping of imports: fingerprints of applied records and the log of import runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapport.core import context
from rapport.core.ids import uuid7
from rapport.core.store import bulk
from rapport.core.store.candidates import ACTIVE, CANDIDATES
from rapport.core.store.schema import ImportFingerprintRow, ImportRunRow

FINGERPRINTS = ImportFingerprintRow.__table__


# json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":")), without
# building an encoder per call (once per imported record)
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fingerprint(options_key: str, fields: Mapping) -> str:
    """Digest of one raw record and the import options that shape its meaning.

    "surrogatepass": a JSON record may escape a lone surrogate ("\\ud800"); validation
    refuses that record, but its digest must not fail the whole import first."""
    raw = _CANONICAL.encode(fields)
    data = f"{options_key}\x1e{raw}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def known(session: Session, fingerprints: Iterable[str]) -> tuple[dict[str, str], set[str]]:
    """(fingerprint -> candidate id for records already applied to an active candidate,
    every one of `fingerprints` the store holds at all, whatever candidate it names)."""
    fps = list(set(fingerprints))
    if not fps:
        return {}, set()
    rows = session.execute(
        select(FINGERPRINTS.c.fingerprint, CANDIDATES.c.id, CANDIDATES.c.status)
        .outerjoin(CANDIDATES, CANDIDATES.c.pk == FINGERPRINTS.c.candidate_pk)
        .where(bulk.member_of(session, FINGERPRINTS.c.fingerprint, fps))
    ).all()
    return {fp: cid for fp, cid, status in rows if status == ACTIVE}, {fp for fp, _, _ in rows}


def remember(
    session: Session, applied: Sequence[tuple[str, int]], present: set[str] | None = None
) -> None:
    """Record (fingerprint, candidate pk) pairs. `present`: which of them the store already
    holds (from `known`), saving a lookup; those are re-pointed at the candidate that now
    carries the record (the one they named was merged away)."""
    unique = {fp: pk for fp, pk in applied}
    if present is None:
        present = known(session, unique)[1]
    for fp in present & unique.keys():
        session.execute(
            FINGERPRINTS.update()
            .where(FINGERPRINTS.c.fingerprint == fp)
            .values(candidate_pk=unique[fp])
        )
    bulk.copy_rows(
        session,
        FINGERPRINTS,
        ("fingerprint", "candidate_pk"),
        ((fp, pk) for fp, pk in unique.items() if fp not in present),
    )


def log_run(
    session: Session,
    *,
    file_name: str,
    fmt: str,
    started_at: datetime,
    finished_at: datetime,
    summary: Mapping,
) -> None:
    session.add(
        ImportRunRow(
            id=uuid7(),
            file_name=file_name[:500],
            format=fmt,
            actor=context.current().actor,
            started_at=started_at,
            finished_at=finished_at,
            summary=dict(summary),
        )
    )
