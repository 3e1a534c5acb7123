"""Tombstones of erased people: a keyed hash of each normalised identity they had, so that a
later import or create of the same person is refused without the store keeping who they
were. The key (salt) is per installation, made at the first erasure and kept in
`privacy_keys` (from the `privacy_salt` setting when one is configured).

Writers of candidates ask `erased_keys` before adding identities; it costs one primary-key
read while nobody was ever erased.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rapport.core.store.schema import ErasureRow, ErasureTombstoneRow, PrivacyKeyRow

SALT_NAME = "tombstone_salt"


def salt(session: Session, *, create: bool = False, configured: str = "") -> bytes | None:
    """The installation's tombstone salt; made (from `configured`, else random) if `create`."""
    value = session.execute(
        select(PrivacyKeyRow.value).where(PrivacyKeyRow.name == SALT_NAME)
    ).scalar_one_or_none()
    if value is None and create:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(PrivacyKeyRow)
            .values(
                name=SALT_NAME,
                value=configured or secrets.token_hex(32),
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
        )
        return salt(session)
    return value.encode() if value is not None else None


def digests(key: bytes, pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """digest -> (kind, value) for each identity pair (HMAC-SHA256, hex)."""
    base = hmac.new(key, digestmod=hashlib.sha256)
    out = {}
    for kind, value in pairs:
        h = base.copy()
        h.update(f"{kind}\x1f{value}".encode())
        out[h.hexdigest()] = (str(kind), value)
    return out


@dataclass(frozen=True)
class _Known:
    version: tuple[int, int]  # (erasures, last erasure pk): tombstones only come with erasures
    key: bytes
    digests: frozenset[str]


_known: dict[str, _Known] = {}  # database URL -> the tombstones last read
_known_lock = threading.Lock()


def _tombstones(session: Session) -> _Known | None:
    """Every tombstone of the store, read again only when an erasure was added: the import
    path asks once per batch, and a lookup of thousands of digests cost it 20-30 ms."""
    count, last = session.execute(select(func.count(), func.max(ErasureRow.pk))).one()
    if not count:
        return None
    url = session.get_bind().url.render_as_string(hide_password=False)
    version = (int(count), int(last))
    known = _known.get(url)
    if known is None or known.version != version:
        key = salt(session)
        if key is None:
            return None
        found = frozenset(session.execute(select(ErasureTombstoneRow.digest)).scalars())
        known = _Known(version, key, found)
        with _known_lock:
            _known[url] = known
    return known


def erased_keys(session: Session, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those (kind, value) identities that belonged to someone erased."""
    pairs = list(pairs)
    if not pairs:
        return set()
    known = _tombstones(session)
    if known is None:  # nobody was ever erased here
        return set()
    by_digest = digests(known.key, pairs)
    return {by_digest[d] for d in by_digest.keys() & known.digests}


__all__ = ["SALT_NAME", "digests", "erased_keys", "salt"]
