"""Who is asking and under which request id, for audit rows and log lines.

The gRPC interceptor sets it per call; the store reads it. A ContextVar keeps threads apart.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """`role` is "" outside an authenticated call (local admin verbs, jobs, tests of use
    cases): the use cases then apply no scope. With authentication on, the interceptor
    always sets the calling key's id, role, team and scopes (DESIGN §9)."""

    request_id: str = ""
    actor: str = "system"
    key_id: str = ""
    role: str = ""
    team: str = ""
    scopes: tuple[str, ...] = ()


_DEFAULT = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("rapport_request", default=_DEFAULT)


def current() -> RequestContext:
    return _current.get()


def set_current(ctx: RequestContext):
    """Returns the token for `reset`."""
    return _current.set(ctx)


def reset(token) -> None:
    _current.reset(token)
