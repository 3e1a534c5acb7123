"""Process-wide logging: one line per record, each tagged with the request id.

`rapport serve` calls `configure_logging(settings.log_level, settings.log_json)` once; the
request id comes from the RequestContext the call interceptor sets, so any module's log
lines during a call can be joined to that call's access-log line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from rapport.core.context import current

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


class RequestIdFilter(logging.Filter):
    """Stamps `request_id` from the current call (or "-"), unless the record carries one.

    Attach it to handlers, not loggers, so records from every library are stamped too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current().request_id or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, then `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _RapportHandler(logging.StreamHandler):
    """Marks the handler this module installed, so configuring twice replaces it."""


def configure_logging(level: str | int, json: bool) -> None:
    """Sends every logger's records to stderr, as text or JSON lines, at `level`."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RapportHandler)]:
        root.removeHandler(old)
        old.close()
    handler = _RapportHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
