"""Local verbs: they act on this machine's store and processes, not through the API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from rapport.cli.output import console, emit_json, key_value_table
from rapport.core.config import Settings

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(seed)
    app.add_typer(db_app, name="db")


def serve(
    port: int = typer.Option(None, "--port", help="Port to listen on (0: any free port)."),
    services: str = typer.Option(None, "--services", help="Comma-separated services, or 'all'."),
) -> None:
    """Run the gRPC services in this process until SIGTERM or Ctrl-C."""
    from rapport.services.app import run

    settings = Settings()
    run(
        settings,
        services=services or settings.services,
        port=settings.port if port is None else port,
    )


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
    """Apply the Alembic migrations (the only way the schema changes)."""
    from rapport.core.store import db

    settings = Settings()
    db.upgrade(settings.effective_database_url, revision, settings=settings)
    if ctx.obj.json:
        emit_json({"revision": revision, "database": _redact(settings.effective_database_url)})
    else:
        console.print(f"database at {_redact(settings.effective_database_url)} is at {revision}")


@db_app.command("rotate-keys")
def db_rotate_keys(
    ctx: typer.Context,
    batch: int = typer.Option(1000, "--batch", min=1, max=100_000, help="Rows per transaction."),
) -> None:
    """Re-seal every contact detail with the first key of RAPPORT_ENCRYPTION_KEYS.

    Put the new key first (old keys after it), run this, then remove the old keys. An
    interrupted run is resumed by running it again. The lookup key is not rotated.
    """
    from rapport.core.store.db import Database
    from rapport.core.store.rotation import rotate

    settings = Settings()
    db = Database(settings.effective_database_url, settings=settings)
    try:
        report = rotate(db, batch=batch)
    finally:
        db.close()
    counts = {
        "scanned": report.scanned,
        "resealed": report.resealed,
        "merges_resealed": report.merges_resealed,
        "sends_resealed": report.sends_resealed,
    }
    if ctx.obj.json:
        emit_json(counts)
    else:
        console.print(key_value_table("contact details re-sealed with the first key", counts))


@db_app.command("new-key")
def db_new_key(ctx: typer.Context) -> None:
    """Print a new contact-detail sealing key (32 random bytes, urlsafe base64) to put first
    in RAPPORT_ENCRYPTION_KEYS before `rapport db rotate-keys`."""
    from rapport.core.crypto import generate_key

    key = generate_key()
    if ctx.obj.json:
        emit_json({"key": key})
    else:
        print(key)


def seed(
    ctx: typer.Context,
    candidates: int = typer.Option(
        5000, "--candidates", min=1, max=2_000_000, help="How many people to generate."
    ),
    seed_value: int = typer.Option(7, "--seed", help="Random seed (same seed, same people)."),
    explain: bool = typer.Option(False, "--explain", help="Print the generative model and exit."),
) -> None:
    """Generate realistic candidates and interaction histories into the local store."""
    from rapport.core.seeding import GROUND_TRUTH_DOC, generate_people
    from rapport.core.store import seed_loader
    from rapport.core.store.db import Database

    if explain:
        console.print(GROUND_TRUTH_DOC)
        return
    settings = Settings()
    db = Database(settings.effective_database_url, settings=settings)
    now = datetime.now(UTC).replace(microsecond=0)
    people = generate_people(candidates, seed_value, now=now)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=ctx.obj.json,
        transient=True,
    ) as bar:
        task = bar.add_task("seeding", total=candidates)
        counts = seed_loader.load_people(db, people, progress=lambda n: bar.advance(task, n))
    db.close()
    if ctx.obj.json:
        emit_json(counts)
    else:
        console.print(
            key_value_table(f"seeded {candidates} candidates (seed {seed_value})", counts)
        )


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


logging.getLogger("alembic").setLevel(logging.WARNING)
