"""Our own web hook format, in and out (README "ATS sync"), for any ATS or tool that can
POST JSON: signed with `X-Rapport-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">` (see signatures.py).

In (POST /hooks/ats/generic), one event per delivery:

    {"id": "evt_123",                      # unique per event: a redelivery is a duplicate
     "type": "applied" | "stage_changed" | "rejected" | "hired",
     "occurred_at": "2026-11-26T10:00:00Z", # optional
     "candidate": {"id": "c-9", "first_name": "Ada", "last_name": "Lovelace",
                   "emails": ["ada@example.com"]},
     "application": {"id": "a-1", "job_id": "j-7", "job_name": "Backend engineer",
                     "stage": "Phone screen", "reason": "Not enough Go"}}

Out (to RAPPORT_ATS_WEBHOOK_OUT_URL), ids only, never contact details:

    {"id": "<uuid>", "type": "submission.created" | "candidate.returned_to_nurture",
     "occurred_at": "...", "data": {...}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from rapport.core.ats import EVENT_KINDS, AtsEvent, AtsPerson
from rapport.core.ids import uuid7
from rapport.services.ats.adapter import WebhookMalformed
from rapport.services.ats.signatures import RAPPORT_HEADER, verify_rapport

SOURCE = "generic"
MAX_ID_CHARS = 100


def _string(document: Mapping, key: str, where: str, *, required: bool = False) -> str:
    value = document.get(key, "")
    if value is None:
        value = ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise WebhookMalformed(f"{where}{key}: expected a string")
    if required and not value.strip():
        raise WebhookMalformed(f"{where}{key}: required")
    if len(value) > 300:
        raise WebhookMalformed(f"{where}{key}: at most 300 characters")
    return value.strip()


def _object(document: Mapping, key: str) -> Mapping:
    value = document.get(key)
    if not isinstance(value, Mapping):
        raise WebhookMalformed(f"{key}: expected an object")
    return value


def parse(
    headers: Mapping[str, str], body: bytes, secret: str, tolerance_s: float
) -> list[AtsEvent]:
    """The event of a generic delivery: signature first (WebhookRefused), then shape
    (WebhookMalformed)."""
    verify_rapport(secret, headers.get(RAPPORT_HEADER), body, tolerance_s)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookMalformed("body is not JSON") from None
    if not isinstance(document, Mapping):
        raise WebhookMalformed("expected a JSON object")
    event_id = _string(document, "id", "", required=True)
    if len(event_id) > MAX_ID_CHARS:
        raise WebhookMalformed(f"id: at most {MAX_ID_CHARS} characters")
    kind = _string(document, "type", "", required=True)
    if kind not in EVENT_KINDS:
        raise WebhookMalformed(f"type: one of {', '.join(EVENT_KINDS)}")
    candidate, application = _object(document, "candidate"), _object(document, "application")
    emails = candidate.get("emails", [])
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise WebhookMalformed("candidate.emails: expected a list of strings")
    occurred_text = _string(document, "occurred_at", "")
    occurred = None
    if occurred_text:
        try:
            occurred = datetime.fromisoformat(occurred_text)
        except ValueError:
            raise WebhookMalformed("occurred_at: an ISO 8601 time") from None
        if occurred.tzinfo is None:
            raise WebhookMalformed("occurred_at: give the offset (Z for UTC)")
        occurred = min(occurred, datetime.now(UTC))  # a sender's clock ahead of ours
    return [
        AtsEvent(
            kind=kind,
            ats=SOURCE,
            delivery_key=f"event:{event_id}",
            person=AtsPerson(
                _string(candidate, "id", "candidate.", required=True),
                _string(candidate, "first_name", "candidate."),
                _string(candidate, "last_name", "candidate."),
                tuple(emails[:20]),
            ),
            application_id=_string(application, "id", "application.", required=True),
            job_id=_string(application, "job_id", "application."),
            job_name=_string(application, "job_name", "application."),
            stage=_string(application, "stage", "application."),
            reason=_string(application, "reason", "application."),
            occurred_at=occurred,
        )
    ]


def outgoing(event_type: str, data: Mapping) -> dict:
    """An outgoing event document (signed when sent, so a retry carries a fresh time)."""
    return {
        "id": uuid7(),
        "type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": dict(data),
    }


def json_body(document: Mapping) -> bytes:
    """The exact bytes sent (and signed) for a document."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


__all__ = ["SOURCE", "json_body", "outgoing", "parse"]
