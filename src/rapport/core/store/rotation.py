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


@dataclass
class RotationReport:
    scanned: int = 0
    resealed: int = 0
    merges_resealed: int = 0
    sends_resealed: int = 0


def _reseal_column(db, table, name: str, batch: int, reseal, *, skip_empty: bool = False):
    """Re-seal `table.<name>` in pk batches, one transaction each (rows holding "" left out
    with `skip_empty`); yields (rows scanned, rows re-sealed) per batch."""
    raw = type_coerce(table.c[name], Text())  # the token as stored, not opened
    after = 0
    while True:
        with db.transaction() as session:
            stmt = select(table.c.pk, raw).where(table.c.pk > after)
            if skip_empty:
                stmt = stmt.where(raw != "")
            rows = session.execute(stmt.order_by(table.c.pk).limit(batch)).all()
            if not rows:
                return
            changes = [
                {"b_pk": pk, "b_token": new}
                for pk, token in rows
                if (new := reseal(token)) is not None
            ]
            if changes:
                session.execute(
                    update(table)
                    .where(table.c.pk == bindparam("b_pk"))
                    .values({name: type_coerce(bindparam("b_token"), Text())}),
                    changes,
                )
            after = rows[-1][0]
        yield len(rows), len(changes)


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

    for scanned, resealed in _reseal_column(db, C, "contacts", batch, reseal):
        report.scanned += scanned
        report.resealed += resealed
        progress(report.scanned)
    for _, resealed in _reseal_column(db, S, "to_address", batch, reseal, skip_empty=True):
        report.sends_resealed += resealed

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
