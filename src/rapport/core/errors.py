"""Domain errors. services/common maps each class to one gRPC status (DESIGN §4)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One reason a field was refused: the field path and a human sentence."""

    field: str
    reason: str


class RapportError(Exception):
    """Base of every error a client is meant to see. The message is safe to return."""


class ValidationFailed(RapportError):
    def __init__(self, violations: list[Violation] | Violation, message: str = "") -> None:
        self.violations = [violations] if isinstance(violations, Violation) else list(violations)
        text = message or "; ".join(f"{v.field}: {v.reason}" for v in self.violations)
        super().__init__(text or "invalid request")


class NotFound(RapportError):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind, self.ident = kind, ident
        super().__init__(f"{kind} {ident} not found")


class AlreadyExists(RapportError):
    """A unique key (an email, a phone, an external id, a name) is taken."""


class StaleVersion(RapportError):
    def __init__(self, kind: str, ident: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{kind} {ident} is at version {actual}, not {expected}: re-read and retry"
        )


class PreconditionFailed(RapportError):
    """The request is valid but the system is not in a state to perform it."""


class Unauthenticated(RapportError):
    pass


class PermissionDenied(RapportError):
    pass


class RateLimited(RapportError):
    """The caller sent more requests than its key's rate allows; retry after a pause."""


class Unavailable(RapportError):
    """A dependency (model, index, database) is not ready; retrying later may work."""


class SchemaOutOfDate(RapportError):
    def __init__(self, current: str | None, head: str) -> None:
        super().__init__(
            f"database schema is at revision {current or 'none'}, code expects {head}: "
            "run `rapport db upgrade`"
        )
