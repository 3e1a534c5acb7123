"""Opaque keyset page tokens: a page continues after the last primary key it returned."""

from __future__ import annotations

import base64

from rapport.core.errors import ValidationFailed, Violation

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int, field: str = "page_size") -> int:
    if requested < 0:
        raise ValidationFailed(Violation(field, "must not be negative"))
    if requested > MAX_PAGE_SIZE:
        raise ValidationFailed(Violation(field, f"at most {MAX_PAGE_SIZE}"))
    return requested or DEFAULT_PAGE_SIZE


def encode(after_pk: int) -> str:
    return base64.urlsafe_b64encode(f"k1:{after_pk}".encode()).decode().rstrip("=")


def decode(token: str, field: str = "page_token") -> int:
    """0 for the first page; ValidationFailed for a token this server did not make."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "k1":
            raise ValueError(prefix)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(Violation(field, "not a page token from this server")) from None
