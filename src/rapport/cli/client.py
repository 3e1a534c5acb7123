"""The gRPC channel the client verbs share, and turning RpcErrors into exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import typer

from rapport.cli.output import errors
from rapport.services.common.channels import open_channel
from rapport.services.common.errors import describe_rpc_error

DEFAULT_TIMEOUT_S = 30.0


@dataclass
class ClientOptions:
    server: str
    api_key: str
    json: bool
    timeout: float = DEFAULT_TIMEOUT_S
    # TLS (RAPPORT_TLS_CA_FILE; mutual TLS with RAPPORT_TLS_CLIENT_CERT_FILE / _KEY_FILE)
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.api_key}")] if self.api_key else []


@contextlib.contextmanager
def channel(opts: ClientOptions) -> Iterator[grpc.Channel]:
    """A channel whose RpcErrors become `CODE: message` on stderr and exit code 1."""
    options = [
        ("grpc.max_receive_message_length", 64 << 20),
        ("grpc.max_send_message_length", 64 << 20),
    ]
    with open_channel(
        opts.server,
        ca_file=opts.tls_ca_file,
        cert_file=opts.tls_cert_file,
        key_file=opts.tls_key_file,
        options=options,
    ) as ch:
        try:
            yield ch
        except grpc.RpcError as err:
            errors.print(describe_rpc_error(err), markup=False, highlight=False)
            raise typer.Exit(1) from None
