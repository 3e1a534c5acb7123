"""The one table from domain errors to gRPC status codes (DESIGN §4).

Use cases raise `rapport.core.errors`; the call interceptor sends them through `abort_for`,
so no servicer chooses a status code by hand. Anything not in the table is a bug: it is
logged with its traceback and the client only learns the request id to quote.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from rapport.core.errors import (
    AlreadyExists,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RapportError,
    RateLimited,
    SchemaOutOfDate,
    StaleVersion,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)

_LOG = logging.getLogger(__name__)

STATUS: dict[type[RapportError], grpc.StatusCode] = {
    ValidationFailed: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    StaleVersion: grpc.StatusCode.ABORTED,
    PreconditionFailed: grpc.StatusCode.FAILED_PRECONDITION,
    SchemaOutOfDate: grpc.StatusCode.FAILED_PRECONDITION,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,
}

# Message and details travel in trailers (the message twice: grpc-message, percent-encoded,
# and inside grpc-status-details-bin). Past 8 KiB clients start failing calls with
# RESOURCE_EXHAUSTED, which would hide the real error, so stay well below that.
MAX_MESSAGE_BYTES = 512
MAX_VIOLATION_BYTES = 4 * 1024


def status_code_for(exc: BaseException) -> grpc.StatusCode | None:
    """The mapped code for a domain error (subclasses inherit), or None if unmapped."""
    for cls in type(exc).__mro__:
        code = STATUS.get(cls)
        if code is not None:
            return code
    return None


def to_status(exc: RapportError, code: grpc.StatusCode) -> status_pb2.Status:
    """The rich status for a domain error: its safe message, plus field violations."""
    status = status_pb2.Status(code=code.value[0], message=_clip(str(exc), MAX_MESSAGE_BYTES))
    if isinstance(exc, ValidationFailed):
        detail = any_pb2.Any()
        detail.Pack(_bad_request(exc))
        status.details.append(detail)
    return status


def abort_for(context: grpc.ServicerContext, exc: BaseException, request_id: str) -> None:
    """Ends the call with the status `exc` maps to. Always raises (grpc's abort does)."""
    code = status_code_for(exc)
    if code is None or not isinstance(exc, RapportError):
        _LOG.error(
            "unexpected %s (request id %s)",
            type(exc).__name__,
            request_id,
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"request_id": request_id},
        )
        context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})")
    else:
        context.abort_with_status(rpc_status.to_status(to_status(exc, code)))


def describe_rpc_error(err: grpc.RpcError) -> str:
    """One readable text for a failed call: "CODE: message" then "  field: reason" lines.

    For the CLI, which prints it on stderr; the code name comes first so scripts can match it.
    """
    if not isinstance(err, grpc.Call):  # raised by the channel itself, no status attached
        return f"UNKNOWN: {err}"
    code = err.code()
    lines = [f"{code.name if code else 'UNKNOWN'}: {err.details() or ''}"]
    try:
        status = rpc_status.from_call(err)
    except ValueError:  # details disagree with code/message: show what the call itself says
        status = None
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines.extend(f"  {v.field}: {v.description}" for v in bad.field_violations)
    return "\n".join(lines)


def _bad_request(exc: ValidationFailed) -> error_details_pb2.BadRequest:
    """Every violation that fits the trailer budget, then a count of the ones that do not."""
    bad = error_details_pb2.BadRequest()
    used = 0
    for shown, violation in enumerate(exc.violations):
        item = error_details_pb2.BadRequest.FieldViolation(
            field=_clip(violation.field, 200), description=_clip(violation.reason, 500)
        )
        used += item.ByteSize() + 4
        if used > MAX_VIOLATION_BYTES:
            bad.field_violations.add(
                field="", description=f"{len(exc.violations) - shown} more violations not shown"
            )
            break
        bad.field_violations.append(item)
    return bad


def _clip(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, never splitting a character."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "…"
