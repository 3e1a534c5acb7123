"""Running the portal: one gRPC channel with the portal's key, the web app, uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from rapport.core.config import Settings
from rapport.portal.backend import Backend
from rapport.portal.web import create_app
from rapport.services.common.channels import open_channel


class PortalNotConfigured(RuntimeError):
    """The portal cannot start; the message says what to set."""


@contextmanager
def portal_app(settings: Settings, server: str) -> Iterator[Starlette]:
    """The web app talking to the gRPC API at `server` with RAPPORT_PORTAL_API_KEY; the
    channel closes when the block ends."""
    if settings.auth_enabled and not settings.portal_api_key:
        raise PortalNotConfigured(
            "RAPPORT_PORTAL_API_KEY is not set: create one with "
            "`rapport keys create --role portal --label portal`"
        )
    with open_channel(
        server,
        settings.portal_api_key,
        ca_file=settings.tls_ca_file,
        cert_file=settings.tls_client_cert_file,
        key_file=settings.tls_client_key_file,
    ) as channel:
        yield create_app(settings, Backend(channel))


def run(settings: Settings, server: str, host: str, port: int) -> None:
    """Serve the portal until SIGTERM or Ctrl-C."""
    with portal_app(settings, server) as app:
        print(f"rapport portal on http://{host}:{port} (API {server})", flush=True)
        uvicorn.run(
            app, host=host, port=port, log_level=settings.log_level.lower(), server_header=False
        )


__all__ = ["PortalNotConfigured", "portal_app", "run"]
