"""Client channels to a Rapport server: TLS when a CA is given, the API key on every call.

The CLI, tests, benchmarks, the demo and service-to-service clients all open channels here,
so that `authorization: Bearer <key>` and TLS are never forgotten by one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc


class _BearerKey(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <key>` to every call made through the channel."""

    def __init__(self, api_key: str) -> None:
        self._header = ("authorization", f"Bearer {api_key}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [m for m in (details.metadata or ()) if m[0] != "authorization"]
        metadata.append(self._header)
        return _Details(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return continuation(self._details(client_call_details), request_iterator)


class _Details(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def _read(path: str | Path | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def open_channel(
    address: str,
    api_key: str = "",
    *,
    ca_file: str | Path | None = None,
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.Channel:
    """A channel to `address`; TLS when `ca_file` is given (mutual TLS with cert and key
    files too); every call carries `api_key` when one is given. Close it when done (it is
    a context manager, like any grpc channel)."""
    if ca_file:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read(ca_file),
            private_key=_read(key_file),
            certificate_chain=_read(cert_file),
        )
        channel = grpc.secure_channel(address, credentials, options=list(options))
    else:
        channel = grpc.insecure_channel(address, options=list(options))
    if api_key:
        return _ClosingChannel(grpc.intercept_channel(channel, _BearerKey(api_key)), channel)
    return channel


class _ClosingChannel(grpc.Channel):
    """An intercepted channel that also closes (and enters/exits) its underlying channel."""

    def __init__(self, intercepted: grpc.Channel, raw: grpc.Channel) -> None:
        self._intercepted = intercepted
        self._raw = raw

    def subscribe(self, callback, try_to_connect=False):
        self._raw.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback):
        self._raw.unsubscribe(callback)

    def unary_unary(self, *args, **kwargs):
        return self._intercepted.unary_unary(*args, **kwargs)

    def unary_stream(self, *args, **kwargs):
        return self._intercepted.unary_stream(*args, **kwargs)

    def stream_unary(self, *args, **kwargs):
        return self._intercepted.stream_unary(*args, **kwargs)

    def stream_stream(self, *args, **kwargs):
        return self._intercepted.stream_stream(*args, **kwargs)

    def close(self):
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self._raw.close()
        return False


__all__ = ["open_channel"]
