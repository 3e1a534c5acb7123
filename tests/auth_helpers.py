"""API keys for tests: every test server runs with authentication on (issue 7).

Test modules that start their own server create a key in its database with `create_key`
and open channels with `open_channel` (which sends the key on every call)."""

from __future__ import annotations

from datetime import datetime

from rapport.core import auth
from rapport.core.store.db import Database
from rapport.services.common.channels import open_channel


def create_key(
    database_url: str,
    role: str = "admin",
    *,
    team: str = "",
    scopes: tuple[str, ...] = (),
    label: str = "",
    expires_at: datetime | None = None,
) -> str:
    """A new key's plaintext token, stored in the database at `database_url`."""
    db = Database(database_url)
    try:
        with db.transaction() as s:
            _, token = auth.create_key(
                s,
                role,
                team=team,
                scopes=scopes,
                label=label or f"test-{role}",
                expires_at=expires_at,
            )
        return token
    finally:
        db.close()


__all__ = ["create_key", "open_channel"]
