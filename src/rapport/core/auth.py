"""API keys (DESIGN §9): created once, stored hashed, looked up by prefix, revocable.

A key reads `rk_<prefix>_<secret>`: the 8-character prefix is public and indexes the row,
the secret is 32 random bytes. Being 256-bit random, the token needs no slow password hash:
the store keeps SHA-256 of the whole token and compares digests in constant time.

`Authenticator` caches successful lookups for a few seconds, so authenticating a hot RPC
costs no database round trip; `revoke` in this process drops the key from every cache at
once, and another process's cache forgets it within the TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rapport.core.errors import NotFound, Unauthenticated, ValidationFailed, Violation
from rapport.core.store import audit
from rapport.core.store.db import Database
from rapport.core.store.schema import ApiKeyRow

ROLES = (
    "admin",
    "recruiter",
    "sourcer",
    "hiring_manager",
    "outreach_engine",
    "data_scientist",
    "portal",  # the candidate portal process (issue 9)
)
TOKEN_PREFIX = "rk_"
_TOKEN = re.compile(r"rk_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})")
_SCOPE = re.compile(r"(pool|role):[A-Za-z0-9._-]{1,64}")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Principal:
    """Who a valid key says the caller is."""

    key_id: str
    role: str
    team: str = ""
    scopes: tuple[str, ...] = ()
    label: str = ""

    @property
    def actor(self) -> str:
        return self.label or self.key_id


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: everything but the secret."""

    id: str
    prefix: str
    role: str
    team: str
    scopes: tuple[str, ...]
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def parse_duration(text: str) -> timedelta:
    """ "90d", "12h", "30m", "2w" -> timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise ValidationFailed(Violation("expires_in", "a positive duration like 90d, 12h, 30m"))
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _to_domain(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        prefix=row.prefix,
        role=row.role,
        team=row.team,
        scopes=tuple(row.scopes or ()),
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def create_key(
    session: Session,
    role: str,
    *,
    team: str = "",
    scopes: Sequence[str] = (),
    label: str = "",
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Stores a new key; returns it with the plaintext token (shown once, never stored)."""
    problems = []
    if role not in ROLES:
        problems.append(Violation("role", f"one of {', '.join(ROLES)}"))
    problems += [
        Violation("scopes", f"{s!r} is not pool:<id> or role:<id>")
        for s in scopes
        if not _SCOPE.fullmatch(s)
    ]
    if len(label) > 200 or len(team) > 100:
        problems.append(Violation("label", "label up to 200, team up to 100 characters"))
    if problems:
        raise ValidationFailed(problems)
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        id=str(uuid.uuid4()),
        prefix=prefix,
        secret_hash=digest(token),
        role=role,
        team=team,
        scopes=list(dict.fromkeys(scopes)),
        label=label,
        created_at=datetime.now(UTC),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record(session, "key.create", [row.id], target_type="api_key", details={"role": role})
    return _to_domain(row), token


def lookup(session: Session, token: str, now: datetime | None = None) -> Principal:
    """The principal of a valid token; Unauthenticated for anything else (one message for
    every reason, so that a caller learns nothing about which keys exist)."""
    match = _TOKEN.fullmatch(token or "")
    if not match:
        raise Unauthenticated("invalid API key")
    row = session.execute(
        select(ApiKeyRow).where(ApiKeyRow.prefix == match.group(1))
    ).scalar_one_or_none()
    expected = row.secret_hash if row is not None else "0" * 64
    if not hmac.compare_digest(expected, digest(token)) or row is None:
        raise Unauthenticated("invalid API key")
    now = now or datetime.now(UTC)
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise Unauthenticated("invalid API key")
    return Principal(row.id, row.role, row.team, tuple(row.scopes or ()), row.label)


def touch(session: Session, key_id: str, now: datetime | None = None) -> None:
    session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.id == key_id)
        .values(last_used_at=now or datetime.now(UTC))
    )


def revoke(session: Session, key_id: str) -> ApiKey:
    row = session.execute(select(ApiKeyRow).where(ApiKeyRow.id == key_id)).scalar_one_or_none()
    if row is None:
        raise NotFound("api key", key_id)
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        audit.record(session, "key.revoke", [row.id], target_type="api_key")
    session.flush()
    for authenticator in list(_AUTHENTICATORS):
        authenticator.forget(key_id)
    return _to_domain(row)


def list_keys(session: Session) -> list[ApiKey]:
    rows = session.execute(select(ApiKeyRow).order_by(ApiKeyRow.created_at)).scalars()
    return [_to_domain(r) for r in rows]


_AUTHENTICATORS: weakref.WeakSet[Authenticator] = weakref.WeakSet()


class Authenticator:
    """Authenticates tokens against the store, remembering valid ones for `ttl_s` seconds.

    Only successes are cached (keyed by the token's digest): a forged token always costs a
    lookup, which the per-key rate limit cannot bound, but an indexed one. `last_used_at`
    is written when a key is (re)loaded, so it is accurate to the TTL.
    """

    def __init__(self, db: Database, ttl_s: float = 5.0) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Principal, float, datetime | None]] = {}
        _AUTHENTICATORS.add(self)

    def authenticate(self, token: str) -> Principal:
        key = digest(token or "")
        now_mono = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            principal, until, expires_at = hit
            if now_mono < until and (expires_at is None or expires_at > datetime.now(UTC)):
                return principal
        with self._db.transaction() as s:
            principal = lookup(s, token)
            touch(s, principal.key_id)
            expires_at = s.execute(
                select(ApiKeyRow.expires_at).where(ApiKeyRow.id == principal.key_id)
            ).scalar_one()
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (principal, now_mono + self._ttl_s, expires_at)
        return principal

    def forget(self, key_id: str) -> None:
        with self._lock:
            for key in [k for k, v in self._cache.items() if v[0].key_id == key_id]:
                del self._cache[key]


__all__ = [
    "ROLES",
    "ApiKey",
    "Authenticator",
    "Principal",
    "create_key",
    "list_keys",
    "lookup",
    "parse_duration",
    "revoke",
]
