"""Audit rows, written in the same transaction as the change they describe.

Who and under which request id come from `rapport.core.context`. Rows never hold contact
details: targets are ids, details are field names and counts.

The log is a hash chain (DESIGN §9): row `seq` (1, 2, 3, ... without gaps) carries
`prev_hash`, the `row_hash` of row `seq - 1` (`GENESIS` for the first), and its own
`row_hash`, the SHA-256 of `canonical(row) + prev_hash`. The one-row `audit_head` table
holds the last (seq, hash): `record` claims its seqs by updating it in the caller's
transaction, so two writers queue on that row (and on PostgreSQL on an advisory lock)
instead of forking the chain, and never scan the log. Changing, removing or inserting a
row breaks the chain at that seq, which `verify` reports. Triggers (migration 0008)
reject UPDATE and DELETE on `audit_log` on both backends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rapport.core import context
from rapport.core.store import bulk
from rapport.core.store.schema import AuditHeadRow, AuditRow

AUDIT = AuditRow.__table__
HEAD = AuditHeadRow.__table__
COLUMNS = (
    "seq",
    "at",
    "actor",
    "key_id",
    "request_id",
    "action",
    "target_type",
    "target_id",
    "details",
    "prev_hash",
    "row_hash",
)
GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain head: "rapp" "audt" as one int64
ADVISORY_LOCK = 0x7261707061756474
VERIFY_CHUNK = 5000

_CLAIM = text("UPDATE audit_head SET seq = seq + :n WHERE id = 1 RETURNING seq, hash")
_SET_HASH = text("UPDATE audit_head SET hash = :hash WHERE id = 1")


# ------------------------------------------------------------------ canonical form


def canonical_details(details: Mapping | None) -> str:
    """Details as hashed: JSON with sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(
        dict(details or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def canonical_at(at: datetime) -> str:
    """Microsecond UTC text: what both backends store and give back."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(
    seq: int,
    at: datetime,
    actor: str,
    key_id: str,
    request_id: str,
    action: str,
    target_type: str,
    target_id: str,
    details: Mapping | None,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of one row's canonical serialisation followed by `prev_hash`."""
    return _hasher(
        canonical_at(at), actor, key_id, request_id, action, target_type, canonical_details(details)
    )(seq, target_id, prev_hash)


def _hasher(at: str, actor, key_id, request_id, action, target_type, details_json: str):
    # A JSON array of the fields: unambiguous, and cheap to build per row since everything
    # but seq, target and prev_hash is the same for all rows of one `record` call.
    middle = ",".join(
        (
            f'"{at}"',
            encode_basestring(actor or ""),
            encode_basestring(key_id or ""),
            encode_basestring(request_id or ""),
            encode_basestring(action or ""),
            encode_basestring(target_type or ""),
        )
    )
    tail = "," + details_json + "]"
    sha256 = hashlib.sha256

    def digest(seq: int, target_id: str, prev_hash: str) -> str:
        canonical = f"[{seq},{middle},{encode_basestring(target_id or '')}{tail}"
        return sha256((canonical + prev_hash).encode()).hexdigest()

    return digest


# ------------------------------------------------------------------ writing


@dataclass(frozen=True)
class Pending:
    """One `record` call made earlier and written later (the batched read audit): who and
    when are captured at the call, not at the write."""

    at: datetime
    actor: str
    key_id: str
    request_id: str
    action: str
    target_type: str
    target_ids: tuple[str, ...]
    details_json: str


def pending(
    action: str,
    target_ids: Iterable[str] = ("",),
    *,
    target_type: str = "candidate",
    details: Mapping | None = None,
) -> Pending:
    """What `record` would append now, for `append` to write later."""
    ctx = context.current()
    return Pending(
        datetime.now(UTC),
        ctx.actor,
        getattr(ctx, "key_id", "") or "",
        ctx.request_id,
        action,
        target_type,
        tuple("" if t is None else str(t) for t in target_ids),
        canonical_details(details),
    )


def record(
    session: Session,
    action: str,
    target_ids: Iterable[str] = ("",),
    *,
    target_type: str = "candidate",
    details: Mapping | None = None,
) -> None:
    """Append one row per target id to the chain, in the caller's transaction."""
    append(session, [pending(action, target_ids, target_type=target_type, details=details)])


def append(session: Session, entries: Iterable[Pending]) -> int:
    """Append the rows of `entries` to the chain in the caller's transaction (one claim on
    the head for all of them); returns how many rows were written."""
    entries = [e for e in entries if e.target_ids]
    n = sum(len(e.target_ids) for e in entries)
    if not n:
        return 0
    last, prev = _claim(session, n)
    seq = last - n
    rows = []
    for e in entries:
        details = json.loads(e.details_json)  # stored exactly as hashed
        digest = _hasher(
            canonical_at(e.at),
            e.actor,
            e.key_id,
            e.request_id,
            e.action,
            e.target_type,
            e.details_json,
        )
        head = (e.at, e.actor, e.key_id, e.request_id, e.action, e.target_type)
        for tid in e.target_ids:
            seq += 1
            h = digest(seq, tid, prev)
            rows.append((seq, *head, tid, details, prev, h))
            prev = h
    bulk.copy_rows(session, AUDIT, COLUMNS, rows)
    session.execute(_SET_HASH, {"hash": prev})
    return n


def _claim(session: Session, n: int) -> tuple[int, str]:
    """Reserve seqs (head.seq + 1 .. head.seq + n) for this transaction; returns the new last
    seq and the hash the first of them links to. The head row stays locked until commit:
    a second writer waits here (PostgreSQL row lock, SQLite database lock) and then sees
    this transaction's head, so the chain cannot fork."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
    row = session.execute(_CLAIM, {"n": n}).one_or_none()
    if row is None:  # a store whose head row went missing: start it (verify will tell)
        session.execute(HEAD.insert().values(id=1, seq=0, hash=GENESIS))
        row = session.execute(_CLAIM, {"n": n}).one()
    return int(row[0]), row[1] or GENESIS


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    key_id: str
    request_id: str
    action: str
    target_type: str
    target_id: str
    details: dict
    row_hash: str


def query(
    session: Session,
    *,
    candidate_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first. `action` ending in '*' matches by prefix (e.g. 'candidate.*')."""
    a = AUDIT.c
    stmt = select(
        a.seq,
        a.at,
        a.actor,
        a.key_id,
        a.request_id,
        a.action,
        a.target_type,
        a.target_id,
        a.details,
        a.row_hash,
    )
    if candidate_id:
        stmt = stmt.where(a.target_id == candidate_id)
    if actor:
        stmt = stmt.where(a.actor == actor)
    if action:
        if action.endswith("*"):
            prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(a.action.like(prefix + "%", escape="\\"))
        else:
            stmt = stmt.where(a.action == action)
    if since is not None:
        stmt = stmt.where(a.at >= since)
    if until is not None:
        stmt = stmt.where(a.at < until)
    stmt = stmt.order_by(a.seq.desc()).limit(max(1, min(int(limit), 100_000)))
    return [AuditEntry(*r) for r in session.execute(stmt)]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows_checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    head_hash: str = ""


def head(session: Session) -> tuple[int, str]:
    row = session.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one_or_none()
    return (0, GENESIS) if row is None else (int(row[0]), row[1] or GENESIS)


def _chunks(session: Session, up_to: int, chunk: int) -> Iterator:
    """Rows seq <= up_to in seq order, `chunk` at a time (keyset pages: bounded memory on
    every backend, no server-side cursor needed)."""
    a = AUDIT.c
    cols = (
        a.seq,
        a.at,
        a.actor,
        a.key_id,
        a.request_id,
        a.action,
        a.target_type,
        a.target_id,
        a.details,
        a.prev_hash,
        a.row_hash,
    )
    after = 0
    while True:
        rows = session.execute(
            select(*cols).where(a.seq > after, a.seq <= up_to).order_by(a.seq).limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def verify(session: Session, *, chunk: int = VERIFY_CHUNK) -> VerifyResult:
    """Walk the chain from seq 1 to the head and recompute every hash."""
    head_seq, head_hash = head(session)
    expected, prev, checked = 1, GENESIS, 0

    def bad(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, reason, head_seq, head_hash)

    # rows of one `record` call share all fields but seq and target: one hasher for them
    shared: tuple | None = None
    digest = None
    for seq, at, actor, key_id, request_id, action, ttype, tid, details, p, h in _chunks(
        session, head_seq, chunk
    ):
        if seq != expected:
            return bad(expected, f"row {expected} is missing (next row is {seq})")
        if p != prev:
            return bad(seq, "prev_hash does not match the previous row's hash")
        # compared as canonical text: dict equality would take 1.0 for 1 or True
        fields = (
            canonical_at(at),
            actor,
            key_id,
            request_id,
            action,
            ttype,
            canonical_details(details),
        )
        if fields != shared:
            shared, digest = fields, _hasher(*fields)
        if digest is None or digest(seq, tid, p) != h:
            return bad(seq, "row content does not match its hash (modified)")
        prev, expected, checked = h, expected + 1, checked + 1
    if checked != head_seq:
        return bad(expected, f"rows {expected}..{head_seq} are missing (head is {head_seq})")
    if prev != head_hash:
        return bad(head_seq, "last row's hash differs from the recorded head")
    beyond = session.execute(select(AUDIT.c.seq).where(AUDIT.c.seq > head_seq).limit(1)).first()
    if beyond is not None and not _appended_since(session, head_seq):
        return bad(beyond[0], f"row {beyond[0]} lies beyond the recorded head {head_seq}")
    return VerifyResult(True, checked, None, "", head_seq, head_hash)


def _appended_since(session: Session, head_seq: int) -> bool:
    """Rows past the head we read may be a writer that committed meanwhile (PostgreSQL
    reads each statement at its own snapshot): fine if the head has moved on."""
    return head(session)[0] > head_seq
