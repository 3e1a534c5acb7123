"""`rapport audit query|verify`: local admin verbs, they read this machine's store directly
(like `rapport db upgrade`), not through the API."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from rapport.cli.output import console, emit_json, key_value_table
from rapport.core.config import Settings

audit_app = typer.Typer(no_args_is_help=True, help="Audit log: query it, verify its hash chain.")


def _when(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r}: use YYYY-MM-DD or an ISO 8601 time", param_hint=option
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _database():
    from rapport.core.store.db import Database

    return Database(Settings().effective_database_url)


@audit_app.command("query")
def query(
    ctx: typer.Context,
    candidate: str = typer.Option(None, "--candidate", help="Rows about this candidate id."),
    actor: str = typer.Option(None, "--actor", help="Rows written by this actor."),
    action: str = typer.Option(
        None, "--action", help="Exact action, or a prefix ending in '*' (candidate.*)."
    ),
    since: str = typer.Option(None, "--since", help="From this date/time (UTC unless given)."),
    until: str = typer.Option(None, "--until", help="Before this date/time."),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="At most this many rows."),
) -> None:
    """Audit rows, newest first."""
    from rapport.core.store import audit

    since_at, until_at = _when(since, "--since"), _when(until, "--until")
    db = _database()
    try:
        with db.read() as s:
            rows = audit.query(
                s,
                candidate_id=candidate,
                actor=actor,
                action=action,
                since=since_at,
                until=until_at,
                limit=limit,
            )
    finally:
        db.close()
    if ctx.obj is not None and ctx.obj.json:
        emit_json(
            {
                "entries": [
                    {
                        "seq": r.seq,
                        "at": r.at.isoformat(),
                        "actor": r.actor,
                        "key_id": r.key_id,
                        "request_id": r.request_id,
                        "action": r.action,
                        "target_type": r.target_type,
                        "target_id": r.target_id,
                        "details": r.details,
                    }
                    for r in rows
                ]
            }
        )
        return
    table = Table(title=f"audit log ({len(rows)} rows, newest first)")
    for col in ("seq", "at", "actor", "key", "request", "action", "target", "details"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r.seq),
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.actor,
            r.key_id,
            r.request_id,
            r.action,
            f"{r.target_type}:{r.target_id}" if r.target_id else r.target_type,
            ", ".join(f"{k}={v}" for k, v in sorted(r.details.items())),
        )
    console.print(table)


@audit_app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Recompute the hash chain from the first row to the head. Exit 1 if it is broken."""
    from rapport.core.store import audit

    db = _database()
    try:
        with db.read() as s:
            result = audit.verify(s)
    finally:
        db.close()
    if ctx.obj is not None and ctx.obj.json:
        emit_json(
            {
                "ok": result.ok,
                "rows_checked": result.rows_checked,
                "first_bad_seq": result.first_bad_seq,
                "reason": result.reason,
                "head_seq": result.head_seq,
                "head_hash": result.head_hash,
            }
        )
    elif result.ok:
        console.print(
            key_value_table(
                "audit chain intact",
                {
                    "rows checked": f"{result.rows_checked:,}",
                    "head seq": result.head_seq,
                    "head hash": result.head_hash,
                },
            )
        )
    else:
        typer.echo(
            f"audit chain BROKEN at seq {result.first_bad_seq}: {result.reason} "
            f"({result.rows_checked:,} rows verified before it)",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(1)
