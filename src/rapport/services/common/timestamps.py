"""datetime <-> google.protobuf.Timestamp for every service's convert module: aware UTC
datetimes in, aware UTC datetimes out, and "not set" as None both ways."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2


def to_pb(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp, or None (a message field left unset) for None."""
    if value is None:
        return None
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value.astimezone(UTC) if value.tzinfo else value)
    return out


def from_pb(message, field: str) -> datetime | None:
    """`message.<field>` as an aware UTC datetime, None when the field is not set."""
    if not message.HasField(field):
        return None
    return getattr(message, field).ToDatetime(tzinfo=UTC)


__all__ = ["from_pb", "to_pb"]
