"""Who may call what: the server side of API keys (DESIGN §9).

`Authorizer.admit` runs for every non-infrastructure call before its handler: it reads the
`authorization: Bearer <key>` metadata, authenticates the key (UNAUTHENTICATED when missing
or invalid), checks the authorization table in `rapport.core.authorization`
(PERMISSION_DENIED, audited as `access.denied` in its own transaction) and the key's rate
(RESOURCE_EXHAUSTED). It returns the principal the interceptor puts in the request context.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from rapport.core import authorization, context
from rapport.core.auth import Authenticator, Principal
from rapport.core.config import Settings
from rapport.core.errors import PermissionDenied, RateLimited, Unauthenticated
from rapport.core.store import audit
from rapport.core.store.db import Database

_LOG = logging.getLogger(__name__)

AUTHORIZATION_KEY = "authorization"
_BEARER = "bearer "


class TokenBuckets:
    """One token bucket per key: `rate` calls per second sustained, `burst` at once.

    Keys may be unbounded (client addresses, email addresses): a bucket that has refilled
    is the same as none, so such buckets are dropped whenever the table doubles. Memory is
    bounded by the keys seen within one refill period (burst / rate seconds)."""

    PRUNE_FROM = 10_000

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = max(1.0, float(burst))
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._prune_at = self.PRUNE_FROM

    def __len__(self) -> int:
        return len(self._buckets)

    def _prune(self, now: float) -> None:
        self._buckets = {
            key: (tokens, at)
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._rate < self._burst
        }
        self._prune_at = max(self.PRUNE_FROM, 2 * len(self._buckets))

    def take(self, key: str, now: float | None = None) -> bool:
        if self._rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            tokens, at = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True


class Authorizer:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._authenticator = Authenticator(db, settings.auth_cache_ttl_s)
        self._buckets = TokenBuckets(settings.auth_rate_limit_per_s, settings.auth_rate_limit_burst)

    def admit(self, method: str, metadata: Mapping[str, str]) -> Principal:
        """The caller's principal, if it may call `method` now; raises otherwise."""
        token = bearer_token(metadata.get(AUTHORIZATION_KEY))
        if not token:
            raise Unauthenticated("missing API key: send 'authorization: Bearer <key>'")
        principal = self._authenticator.authenticate(token)
        if not authorization.allows(principal.role, method):
            self._audit_denial(method, principal)
            raise PermissionDenied(
                f"role {principal.role} may not call {method.rsplit('/', 1)[-1]}"
            )
        if not self._buckets.take(principal.key_id):
            raise RateLimited("rate limit exceeded for this API key: slow down and retry")
        return principal

    def _audit_denial(self, method: str, principal: Principal) -> None:
        ctx = context.current()
        token = context.set_current(
            context.RequestContext(
                request_id=ctx.request_id,
                actor=principal.actor,
                key_id=principal.key_id,
                role=principal.role,
            )
        )
        try:
            with self._db.transaction() as s:
                audit.record(
                    s,
                    "access.denied",
                    [principal.key_id],
                    target_type="api_key",
                    details={"method": method, "key_id": principal.key_id, "role": principal.role},
                )
        except Exception:  # the denial stands even if its audit row cannot be written
            _LOG.exception("could not audit a denied call to %s", method)
        finally:
            context.reset(token)


def bearer_token(value: object) -> str:
    if not isinstance(value, str) or value[: len(_BEARER)].lower() != _BEARER:
        return ""
    return value[len(_BEARER) :].strip()
