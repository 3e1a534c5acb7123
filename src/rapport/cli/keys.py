"""`rapport keys create|list|revoke`: local admin verbs on this machine's store (DESIGN §9).

Like `rapport db upgrade` they open the store directly (RAPPORT_DATABASE_URL or the SQLite
file under RAPPORT_HOME): whoever can do that already holds every key's power, and the
first admin key has to come from somewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import typer
from rich.table import Table

from rapport.cli.output import console, emit_json, errors
from rapport.core.config import Settings
from rapport.core.errors import RapportError

keys_app = typer.Typer(no_args_is_help=True, help="API keys (local: opens the store directly).")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@contextlib.contextmanager
def _store() -> Iterator:
    from rapport.core.store.db import Database
    from rapport.services.common.errors import status_code_for

    db = Database(Settings().effective_database_url)
    try:
        yield db
    except RapportError as err:
        code = status_code_for(err)
        status = code.name if code else "FAILED_PRECONDITION"
        errors.print(f"{status}: {err}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        db.close()


def _key_dict(key) -> dict:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "role": key.role,
        "team": key.team,
        "scopes": list(key.scopes),
        "label": key.label,
        "state": key.state(),
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
    }


@keys_app.command("create")
def create(
    ctx: typer.Context,
    role: str = typer.Option(
        ...,
        "--role",
        help="admin, recruiter, sourcer, hiring_manager, outreach_engine, data_scientist, portal.",
    ),
    team: str = typer.Option("", "--team", help="The team the key belongs to."),
    scope: list[str] = typer.Option(
        [], "--scope", help="pool:<id> or role:<id> (repeat); hiring managers see only these pools."
    ),
    expires_in: str = typer.Option("", "--expires-in", help="e.g. 90d, 12h; default: never."),
    label: str = typer.Option("", "--label", help="Who or what uses the key (audit rows)."),
) -> None:
    """Create a key and print it ONCE: only its hash is stored."""
    from rapport.core import auth

    with _store() as db:
        expires_at = datetime.now(UTC) + auth.parse_duration(expires_in) if expires_in else None
        with db.transaction() as s:
            key, token = auth.create_key(
                s, role, team=team, scopes=scope, label=label, expires_at=expires_at
            )
    if ctx.obj is not None and ctx.obj.json:
        emit_json(_key_dict(key) | {"key": token})
        return
    console.print(f"created {key.role} key {key.id} (prefix {key.prefix})")
    console.print("the key is shown this once; store it now:", style="bold")
    print(token, flush=True)
    print(f"use it with: export RAPPORT_API_KEY={token}", flush=True)


@keys_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every key with its role, scopes and state (never the key itself)."""
    from rapport.core import auth

    with _store() as db, db.read() as s:
        keys = auth.list_keys(s)
    if ctx.obj is not None and ctx.obj.json:
        emit_json({"keys": [_key_dict(k) for k in keys]})
        return
    table = Table(title=f"{len(keys)} API keys")
    for column in ("id", "prefix", "role", "team", "scopes", "label", "state", "expires", "used"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.id,
            k.prefix,
            k.role,
            k.team,
            " ".join(k.scopes),
            k.label,
            k.state(),
            k.expires_at.strftime("%Y-%m-%d %H:%M") if k.expires_at else "-",
            k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "-",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(ctx: typer.Context, key_id: str = typer.Argument(..., help="The key's id.")) -> None:
    """Revoke a key: refused from now on (running servers within their cache TTL, 5 s)."""
    from rapport.core import auth

    with _store() as db, db.transaction() as s:
        key = auth.revoke(s, key_id)
    if ctx.obj is not None and ctx.obj.json:
        emit_json(_key_dict(key))
    else:
        console.print(f"revoked key {key.id} ({key.role}, prefix {key.prefix})")
