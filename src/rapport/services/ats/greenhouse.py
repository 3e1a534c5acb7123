"""The Greenhouse adapter: the Harvest v1 REST API and Greenhouse web hooks.

Harvest: Basic auth with the API key as the user name and an empty password; writes name
the acting Greenhouse user in `On-Behalf-Of`; lists are paged with `per_page` / `page`
and a `Link: <...>; rel="next"` header. Used here: GET /v1/candidates?email=,
GET /v1/candidates?created_after=, GET /v1/candidates/{id}, POST /v1/candidates (with
`applications: [{job_id}]`), POST /v1/candidates/{id}/applications,
GET /v1/applications/{id}, GET /v1/applications?last_activity_after=.

Web hooks: a JSON body `{"action": ..., "payload": {"application": {...}}}` signed with
`Signature: sha256 <hex HMAC-SHA256 of the raw body>`. Greenhouse sends no event id, so a
delivery is known by the digest of its body: a redelivery of the same body is a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import httpx

from rapport.core.ats import (
    APPLIED,
    HIRED,
    REJECTED,
    STAGE_CHANGED,
    AtsApplication,
    AtsEvent,
    AtsPerson,
    crm_reference,
)
from rapport.services.ats.adapter import (
    AtsRejected,
    AtsUnavailable,
    FoundCandidate,
    NewPerson,
    WebhookMalformed,
)
from rapport.services.ats.signatures import GREENHOUSE_HEADER, verify_greenhouse

NAME = "greenhouse"
PER_PAGE = 100
MAX_PAGES = 1000  # a Link chain longer than this is a loop, not data
# Web hook actions -> event kinds; other actions (ping, job edits, ...) are acknowledged.
ACTIONS = {
    "new_candidate_application": APPLIED,
    "new_prospect_application": APPLIED,
    "candidate_stage_change": STAGE_CHANGED,
    "reject_candidate_application": REJECTED,
    "hire_candidate": HIRED,
}
STATUS_KINDS = {"active": STAGE_CHANGED, "rejected": REJECTED, "hired": HIRED}


def parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value) -> str:
    return "" if value is None else str(value)


def person_from(candidate: Mapping) -> AtsPerson:
    emails = tuple(
        _text(e.get("value")) for e in candidate.get("email_addresses") or () if e.get("value")
    )
    return AtsPerson(
        _text(candidate.get("id")),
        _text(candidate.get("first_name")),
        _text(candidate.get("last_name")),
        emails,
        crm_reference(candidate.get("tags") or ()),
    )


def _job(application: Mapping) -> tuple[str, str]:
    jobs = application.get("jobs") or ()
    if not jobs:
        return "", ""  # a prospect of no job
    return _text(jobs[0].get("id")), _text(jobs[0].get("name"))


def _reason(application: Mapping) -> str:
    reason = application.get("rejection_reason")
    return _text(reason.get("name")) if isinstance(reason, Mapping) else _text(reason)


def application_from(application: Mapping) -> AtsApplication:
    job_id, job_name = _job(application)
    stage = application.get("current_stage") or {}
    updated = (
        parse_time(application.get("last_activity_at"))
        or parse_time(application.get("applied_at"))
        or datetime.now(UTC)
    )
    return AtsApplication(
        id=_text(application.get("id")),
        ats_candidate_id=_text(application.get("candidate_id")),
        job_id=job_id,
        job_name=job_name,
        status=_text(application.get("status")) or "active",
        stage=_text(stage.get("name")) if isinstance(stage, Mapping) else "",
        reason=_reason(application),
        updated_at=updated,
    )


def events_from_webhook(body: bytes) -> list[AtsEvent]:
    """The events of a (verified) Greenhouse web hook body."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookMalformed("body is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("action"), str):
        raise WebhookMalformed('expected an object with "action" and "payload"')
    kind = ACTIONS.get(document["action"])
    if kind is None:
        return []
    payload = document.get("payload")
    application = payload.get("application") if isinstance(payload, dict) else None
    if not isinstance(application, dict) or application.get("id") in (None, ""):
        raise WebhookMalformed("payload.application with an id is required")
    candidate = application.get("candidate")
    if not isinstance(candidate, dict) or candidate.get("id") in (None, ""):
        raise WebhookMalformed("payload.application.candidate with an id is required")
    try:
        parsed = application_from(application)
        person = person_from(candidate)
    except (AttributeError, TypeError):
        raise WebhookMalformed(
            "payload.application is not shaped as Greenhouse documents"
        ) from None
    occurred = {
        APPLIED: application.get("applied_at"),
        REJECTED: application.get("rejected_at"),
    }.get(kind)
    return [
        AtsEvent(
            kind=kind,
            ats=NAME,
            delivery_key="body:" + hashlib.sha256(body).hexdigest(),
            person=person,
            application_id=parsed.id,
            job_id=parsed.job_id,
            job_name=parsed.job_name,
            stage=parsed.stage,
            reason=parsed.reason,
            occurred_at=_not_future(parse_time(occurred)),
        )
    ]


def _not_future(value: datetime | None) -> datetime | None:
    """The ATS's clock may run ahead of ours; the timeline refuses future events."""
    return None if value is None or value > datetime.now(UTC) else value


class GreenhouseAdapter:
    """Harvest v1 over httpx (one pooled client; thread-safe)."""

    name = NAME

    def __init__(
        self,
        base_url: str,
        api_key: str,
        on_behalf_of: str,
        webhook_secret: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._on_behalf_of = on_behalf_of
        self._webhook_secret = webhook_secret
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(api_key, ""),
            timeout=timeout_s,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    # ------------------------------------------------------------ HTTP
    def _call(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:  # connect, read, timeouts, a dropped connection
            raise AtsUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise AtsUnavailable(f"{method} {url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise AtsRejected(f"{method} {url}: HTTP {response.status_code}: {response.text[:300]}")
        return response

    def _write(self, url: str, body: dict) -> dict:
        headers = {"On-Behalf-Of": self._on_behalf_of} if self._on_behalf_of else {}
        return self._json(self._call("POST", url, json=body, headers=headers))

    @staticmethod
    def _json(response: httpx.Response):
        try:
            return response.json()
        except ValueError:
            raise AtsUnavailable(f"{response.request.url}: the answer is not JSON") from None

    def _pages(self, url: str, params: dict) -> Iterator[dict]:
        """Every item of a paged list, following `Link: rel="next"`."""
        next_url: str | None = url
        query: dict | None = {**params, "per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            response = self._call("GET", next_url, params=query)
            items = self._json(response)
            if not isinstance(items, list):
                raise AtsUnavailable(f"{url}: expected a list")
            yield from items
            next_url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the whole query
        raise AtsUnavailable(f"{url}: more than {MAX_PAGES} pages")

    # ------------------------------------------------------------ API
    @staticmethod
    def _job_id(job_id: str) -> int:
        if not job_id.isdigit():
            raise AtsRejected(f"Greenhouse job ids are numbers, not {job_id!r}")
        return int(job_id)

    @staticmethod
    def _found(candidate: dict) -> FoundCandidate:
        applications = {}
        for app in candidate.get("applications") or ():
            for job in app.get("jobs") or ():
                applications[_text(job.get("id"))] = _text(app.get("id"))
        return FoundCandidate(_text(candidate.get("id")), applications)

    def find_candidate(
        self, emails: tuple[str, ...], reference: str, created_after: datetime
    ) -> FoundCandidate | None:
        for email in emails:
            hits = self._json(self._call("GET", "/v1/candidates", params={"email": email}))
            if hits:
                return self._found(hits[0])
        if reference:
            for candidate in self._pages("/v1/candidates", {"created_after": iso(created_after)}):
                if reference in (candidate.get("tags") or ()):
                    return self._found(candidate)
        return None

    def create_candidate_with_application(self, person: NewPerson, job_id: str) -> tuple[str, str]:
        body = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email_addresses": [{"value": e, "type": "personal"} for e in person.emails],
            "phone_numbers": [{"value": p, "type": "mobile"} for p in person.phones],
            "tags": [person.reference],
            "applications": [{"job_id": self._job_id(job_id)}],
        }
        created = self._write("/v1/candidates", body)
        found = self._found(created)
        application = found.applications.get(job_id) or next(iter(found.applications.values()), "")
        return found.id, application

    def add_application(self, candidate_id: str, job_id: str) -> str:
        created = self._write(
            f"/v1/candidates/{candidate_id}/applications", {"job_id": self._job_id(job_id)}
        )
        return _text(created.get("id"))

    def get_application(self, application_id: str) -> AtsApplication:
        return application_from(self._json(self._call("GET", f"/v1/applications/{application_id}")))

    def get_person(self, candidate_id: str) -> AtsPerson:
        return person_from(self._json(self._call("GET", f"/v1/candidates/{candidate_id}")))

    def list_applications(self, updated_after: datetime | None) -> list[AtsApplication]:
        params = {"last_activity_after": iso(updated_after)} if updated_after else {}
        return [application_from(a) for a in self._pages("/v1/applications", params)]

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[AtsEvent]:
        verify_greenhouse(self._webhook_secret, headers.get(GREENHOUSE_HEADER), body)
        return events_from_webhook(body)

    def close(self) -> None:
        self._http.close()


__all__ = ["NAME", "GreenhouseAdapter", "application_from", "events_from_webhook"]
