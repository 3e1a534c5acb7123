"""API keys for tests: every test server runs with authentication on (issue 7).

Test modules that start their own server create a key in its database with `create_key`
and open channels with `open_channel` (which sends the key on every call)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from rapport.core import auth
from rapport.core.store.db import Database
from rapport.services.common.channels import open_channel


@contextmanager
def running(settings, services: str = "all") -> Iterator[str]:
    """A real in-process server of `services` on a free port, stopped as `rapport serve`
    stops (health NOT_SERVING, drain, each service's shutdown hook, the store closed)."""
    from rapport.services.app import start
    from rapport.services.common.server import graceful_stop

    srv, port, health, database, specs = start(settings, services=services, port=0)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        graceful_stop(srv, health, 1.0)
        for spec in specs:
            if spec.on_shutdown:
                spec.on_shutdown()
        database.close()


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


def audit_rows_eventually(settings, action: str, expected: set[str], timeout: float = 10.0):
    """Audit rows of `action` once they name every id in `expected` (bulk reads are written
    in batches off the request path, within a fraction of a second), or at the timeout."""
    import time

    from sqlalchemy import select

    from rapport.core.store.schema import AuditRow

    db = Database(settings.effective_database_url, settings=settings)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with db.read() as s:
                rows = list(s.execute(select(AuditRow).where(AuditRow.action == action)).scalars())
            if {r.target_id for r in rows} >= expected or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)
    finally:
        db.close()
