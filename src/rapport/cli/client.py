"""The gRPC channel the client verbs share, and turning RpcErrors into exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import typer

from rapport.cli.output import errors
from rapport.services.common.errors import describe_rpc_error

DEFAULT_TIMEOUT_S = 30.0


@dataclass
class ClientOptions:
    server: str
    api_key: str
    json: bool
    timeout: float = DEFAULT_TIMEOUT_S

    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.api_key}")] if self.api_key else []


@contextlib.contextmanager
def channel(opts: ClientOptions) -> Iterator[grpc.Channel]:
    """A channel whose RpcErrors become `CODE: message` on stderr and exit code 1."""
    options = [
        ("grpc.max_receive_message_length", 64 << 20),
        ("grpc.max_send_message_length", 64 << 20),
    ]
    with grpc.insecure_channel(opts.server, options=options) as ch:
        try:
            yield ch
        except grpc.RpcError as err:
            errors.print(describe_rpc_error(err), markup=False, highlight=False)
            raise typer.Exit(1) from None
