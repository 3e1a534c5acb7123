"""Key rotation for contact details at rest (`rapport db rotate-keys`).

Put a new key (`rapport db new-key`) first in RAPPORT_ENCRYPTION_KEYS (keep the old ones
after it), run this, then drop the old keys. Every sealed token not sealed with the first
key is re-sealed with it (same plaintext): candidates in pk batches of `batch`, one
transaction each, then outreach send addresses likewise, then the merge before-images.
Resumable: a second run skips tokens already under the first key, so an interrupted run is
simply run again. The lookup key is not rotated here: every identity hash would change (a
re-hash of the identities table from the opened values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Text, bindparam, select, type_coerce, update

from rapport.core.crypto import InvalidToken, WrongKey
from rapport.core.store.schema import CandidateRow, MergeRow, OutreachSendRow
from rapport.core.store.sealing import keys_of

C = CandidateRow.__table__
M = MergeRow.__table__
S = OutreachSendRow.__table__
RAW = type_coerce(C.c.contacts, Text())  # the token as stored, not opened
RAW_TO = type_coerce(S.c.to_address, Text())


@dataclass
class RotationReport:
    scanned: int = 0
    resealed: int = 0
    merges_resealed: int = 0
    sends_resealed: int = 0


def rotate(db, *, batch: int = 1_000, progress: Callable[[int], None] = lambda n: None):
    report = RotationReport()
    keys = keys_of(db.engine)

    def reseal(token: str) -> str | None:
        if not token or keys.sealed_with_first(token):
            return None
        try:
            return keys.reseal(token)
        except InvalidToken:
            raise WrongKey() from None

    after = 0
    while True:
        with db.transaction() as session:
            rows = session.execute(
                select(C.c.pk, RAW).where(C.c.pk > after).order_by(C.c.pk).limit(batch)
            ).all()
            if not rows:
                break
            changes = [
                {"b_pk": pk, "b_token": new}
                for pk, token in rows
                if (new := reseal(token)) is not None
            ]
            if changes:
                session.execute(
                    update(C)
                    .where(C.c.pk == bindparam("b_pk"))
                    .values(contacts=type_coerce(bindparam("b_token"), Text())),
                    changes,
                )
            after = rows[-1][0]
            report.scanned += len(rows)
            report.resealed += len(changes)
        progress(report.scanned)

    after = 0
    while True:
        with db.transaction() as session:
            rows = session.execute(
                select(S.c.pk, RAW_TO)
                .where(S.c.pk > after, S.c.to_address != "")
                .order_by(S.c.pk)
                .limit(batch)
            ).all()
            if not rows:
                break
            changes = [
                {"b_pk": pk, "b_token": new}
                for pk, token in rows
                if (new := reseal(token)) is not None
            ]
            if changes:
                session.execute(
                    update(S)
                    .where(S.c.pk == bindparam("b_pk"))
                    .values(to_address=type_coerce(bindparam("b_token"), Text())),
                    changes,
                )
            after = rows[-1][0]
            report.sends_resealed += len(changes)

    with db.transaction() as session:
        for pk, before in session.execute(select(M.c.pk, M.c.before)).all():
            changed = False
            image = dict(before or {})
            for side in ("survivor", "merged"):
                row = dict((image.get(side) or {}).get("row") or {})
                new = reseal(row.get("contacts") or "")
                if new is not None:
                    row["contacts"] = new
                    image[side] = dict(image[side]) | {"row": row}
                    changed = True
            if changed:
                session.execute(update(M).where(M.c.pk == pk).values(before=image))
                report.merges_resealed += 1
    return report


__all__ = ["RotationReport", "rotate"]
