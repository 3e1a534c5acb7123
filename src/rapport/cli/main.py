"""`rapport`: local admin verbs (serve, db, seed) and a thin gRPC client (DESIGN §10)."""

from __future__ import annotations

import typer

from rapport.cli import (
    admin,
    ats,
    audit,
    calendars,
    candidates,
    content,
    engagement,
    evaluation,
    keys,
    matching,
    models,
    outreach,
    portal,
    privacy,
    report,
)
from rapport.cli.client import ClientOptions
from rapport.core.config import Settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Rapport: candidate relationship management over gRPC.",
)


@app.callback()
def _global(
    ctx: typer.Context,
    server: str = typer.Option(
        None, "--server", envvar="RAPPORT_SERVER", help="HOST:PORT of the Rapport gRPC API."
    ),
    api_key: str = typer.Option(
        None,
        "--api-key",
        envvar="RAPPORT_API_KEY",
        help="API key sent as 'authorization: Bearer ...'.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    settings = Settings()
    ctx.obj = ClientOptions(
        server=server or settings.server,
        api_key=api_key or settings.api_key,
        json=json_out,
        tls_ca_file=settings.tls_ca_file,
        tls_cert_file=settings.tls_client_cert_file,
        tls_key_file=settings.tls_client_key_file,
    )


admin.register(app)
app.add_typer(candidates.candidates_app, name="candidates")
app.add_typer(candidates.pools_app, name="pools")
app.add_typer(candidates.segments_app, name="segments")
app.command("watch")(candidates.watch)
matching.register(app)
engagement.register(app)
models.register(app)  # train engagement, models list|promote|rollback (local)
content.register(app)
outreach.register(app)
app.add_typer(evaluation.eval_app, name="eval")
report.register(app)  # report campaigns|pools|models|fairness
keys.register(app)  # keys create|list|revoke (local)
privacy.register(app)  # privacy erase|export ID, consent, retention run
app.add_typer(audit.audit_app, name="audit")  # audit query|verify (local)
calendars.register(app)  # calendars put|list|slots|book|bookings|cancel (issue 9)
portal.register(app)  # portal: the candidate portal web server (issue 9)
ats.register(app)  # ats submit|submissions|sync (client), webhooks|fake-server (local)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
