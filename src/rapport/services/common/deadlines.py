"""Server-side deadlines, so that a call whose client set none still ends.

gRPC only knows the client's deadline; without one `time_remaining()` is about 292 years.
The call interceptor hands every handler a `CallContext` whose `time_remaining()` and
`is_active()` also count down the server's default (settings.default_deadline_s, or a
per-method value from ServiceSpec.deadlines). Handlers check it before expensive steps
(encode, search, score) and streaming handlers stop when `is_active()` turns false.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc

# Beyond this a client "deadline" is grpc's infinity: the client did not set one.
_NO_CLIENT_DEADLINE_S = 10 * 365 * 24 * 3600.0


class CallContext(grpc.ServicerContext):
    """grpc's servicer context plus the server's deadline and a record of aborts.

    The record lets the interceptor tell a handler's own `abort` (status already chosen)
    from an unexpected exception (to be mapped and logged).
    """

    def __init__(self, inner: grpc.ServicerContext, default_deadline_s: float) -> None:
        self._inner = inner
        self._client_has_deadline = inner.time_remaining() < _NO_CLIENT_DEADLINE_S
        self._server_deadline = time.monotonic() + default_deadline_s
        self.default_deadline_s = default_deadline_s
        self.aborted = False

    @property
    def client_has_deadline(self) -> bool:
        return self._client_has_deadline

    # -- the two methods this class exists for ------------------------------------------
    def time_remaining(self) -> float:
        """Seconds left: the client's deadline if it set one, else the server's default."""
        if self._client_has_deadline:
            return self._inner.time_remaining()
        return max(0.0, self._server_deadline - time.monotonic())

    def is_active(self) -> bool:
        """False once the client went away or the deadline (client's or server's) passed."""
        return self._inner.is_active() and self.time_remaining() > 0

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted = True
        self._inner.abort(code, details)

    def abort_with_status(self, status: grpc.Status) -> None:
        self.aborted = True
        self._inner.abort_with_status(status)

    # -- plain delegation ----------------------------------------------------------------
    def cancel(self) -> None:
        self._inner.cancel()

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return self._inner.add_callback(callback)

    def invocation_metadata(self) -> Sequence[Any]:
        return self._inner.invocation_metadata()

    def peer(self) -> str:
        return self._inner.peer()

    def peer_identities(self) -> Sequence[bytes] | None:
        return self._inner.peer_identities()

    def peer_identity_key(self) -> str | None:
        return self._inner.peer_identity_key()

    def auth_context(self) -> Mapping[str, Sequence[bytes]]:
        return self._inner.auth_context()

    def set_compression(self, compression: grpc.Compression) -> None:
        self._inner.set_compression(compression)

    def send_initial_metadata(self, initial_metadata: Sequence[tuple[str, Any]]) -> None:
        self._inner.send_initial_metadata(initial_metadata)

    def set_trailing_metadata(self, trailing_metadata: Sequence[tuple[str, Any]]) -> None:
        self._inner.set_trailing_metadata(trailing_metadata)

    def trailing_metadata(self) -> Sequence[tuple[str, Any]] | None:
        return self._inner.trailing_metadata()

    def set_code(self, code: grpc.StatusCode) -> None:
        self._inner.set_code(code)

    def code(self) -> grpc.StatusCode | None:
        return self._inner.code()

    def set_details(self, details: str) -> None:
        self._inner.set_details(details)

    def details(self) -> bytes | None:
        return self._inner.details()

    def disable_next_message_compression(self) -> None:
        self._inner.disable_next_message_compression()


def remaining(context: grpc.ServicerContext, default_s: float) -> float:
    """Time budget for the next step: what is left of the call, never more than default_s.

    Use it as the timeout of a downstream wait (database, MLflow, SMTP). It caps a step
    even when `context` is a bare grpc context whose client set no deadline.
    """
    return max(0.0, min(context.time_remaining(), default_s))


def require_time(context: grpc.ServicerContext, step: str, needed_s: float = 0.0) -> None:
    """Aborts with DEADLINE_EXCEEDED unless more than `needed_s` is left for `step`.

    Call it before work that is wasted once the caller has given up (encode, search, score).
    """
    if context.time_remaining() <= needed_s:
        context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"deadline exceeded before {step}")
