"""HMAC-SHA256 signatures of web hooks, compared in constant time.

- Greenhouse signs the raw body: `Signature: sha256 <hex>`.
- Our generic web hooks (in and out) sign "<unix time>.<raw body>":
  `X-Rapport-Signature: t=<unix time>,v1=<hex>`, and a receiver refuses a time outside
  its tolerance, so a captured delivery cannot be replayed later (and one replayed within
  the window is caught by its event id).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from rapport.services.ats.adapter import WebhookRefused

GREENHOUSE_HEADER = "Signature"
RAPPORT_HEADER = "X-Rapport-Signature"


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def greenhouse_signature(secret: str, body: bytes) -> str:
    """The `Signature` header value Greenhouse sends with `body`."""
    return f"sha256 {hex_hmac(secret, body)}"


def verify_greenhouse(secret: str, header: str | None, body: bytes) -> None:
    if not secret:
        raise WebhookRefused("no web hook secret is configured: every delivery is refused")
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "sha256" or not given:
        raise WebhookRefused("missing or malformed Signature header")
    if not _same(given.strip(), hex_hmac(secret, body)):
        raise WebhookRefused("signature does not match")


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of hex digests (any case; bytes, so that a header with
    non-ASCII characters is simply unequal)."""
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def rapport_signature(secret: str, body: bytes, at: float | None = None) -> str:
    """The `X-Rapport-Signature` header value for `body` sent at `at` (default now)."""
    stamp = int(time.time() if at is None else at)
    return f"t={stamp},v1={hex_hmac(secret, f'{stamp}.'.encode() + body)}"


def verify_rapport(
    secret: str, header: str | None, body: bytes, tolerance_s: float, now: float | None = None
) -> None:
    if not secret:
        raise WebhookRefused("no web hook secret is configured: every delivery is refused")
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    stamps, signatures = parts.get("t", []), parts.get("v1", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        raise WebhookRefused(f"missing or malformed {RAPPORT_HEADER} header")
    stamp = int(stamps[0])
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        raise WebhookRefused("signature timestamp outside the tolerance window")
    expected = hex_hmac(secret, f"{stamp}.".encode() + body)
    # every v1 is compared (a sender rotating its secret sends two)
    if not any(_same(s, expected) for s in signatures):
        raise WebhookRefused("signature does not match")


__all__ = [
    "GREENHOUSE_HEADER",
    "RAPPORT_HEADER",
    "greenhouse_signature",
    "rapport_signature",
    "verify_greenhouse",
    "verify_rapport",
]
