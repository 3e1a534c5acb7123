"""`rapport portal`: the candidate portal's web server (issue 9)."""

from __future__ import annotations

import typer

from rapport.cli.output import errors
from rapport.core.config import Settings


def register(app: typer.Typer) -> None:
    app.command("portal")(portal)


def portal(
    ctx: typer.Context,
    port: int = typer.Option(None, "--port", help="Port to listen on (default 8080)."),
    host: str = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
    server: str = typer.Option(
        None, "--server", help="HOST:PORT of the Rapport gRPC API (default: the global one)."
    ),
) -> None:
    """Serve the candidate portal until SIGTERM or Ctrl-C. It calls the API with
    RAPPORT_PORTAL_API_KEY (`rapport keys create --role portal`); sign-in links point at
    RAPPORT_PORTAL_PUBLIC_URL."""
    from rapport.portal.server import PortalNotConfigured, run

    settings = Settings()
    try:
        run(
            settings,
            server or ctx.obj.server,
            host or settings.portal_host,
            settings.portal_port if port is None else port,
        )
    except PortalNotConfigured as exc:
        errors.print(f"FAILED_PRECONDITION: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
