"""What the ATS sync needs from an applicant tracking system, whichever it is.

An adapter turns one ATS's HTTP API and web hooks into the domain of rapport.core.ats.
Errors say whether trying again may help (`AtsUnavailable`: timeouts, 5xx, 429) or not
(`AtsRejected`: the ATS refused the request as it is), which is what the worker's retry
policy needs to know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rapport.core.ats import AtsApplication, AtsEvent, AtsPerson


class AtsError(Exception):
    """A call to the ATS did not do what was asked."""


class AtsUnavailable(AtsError):
    """Temporary: the ATS did not answer, or answered 5xx / 429. Retry later."""


class AtsRejected(AtsError):
    """Permanent: the ATS refused the request (4xx other than 429)."""


class WebhookRefused(Exception):
    """A web hook that must not be applied: forged, unsigned or stale (HTTP 401)."""


class WebhookMalformed(Exception):
    """A correctly signed web hook whose body is not what the ATS documents (HTTP 400)."""


@dataclass(frozen=True)
class NewPerson:
    """A CRM candidate as sent to the ATS: what it needs to create them, and our
    reference so that we can find them again if the create's answer is lost."""

    first_name: str
    last_name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    reference: str  # e.g. "rapport:<candidate id>"


@dataclass(frozen=True)
class FoundCandidate:
    """A candidate the ATS already has, and its applications by job id."""

    id: str
    applications: Mapping[str, str]  # job id -> application id


class AtsAdapter(Protocol):
    name: str  # the links and receipts key, e.g. "greenhouse"

    def find_candidate(
        self, emails: tuple[str, ...], reference: str, created_after: datetime
    ) -> FoundCandidate | None:
        """The ATS candidate with one of `emails`, else the one carrying `reference`
        created after `created_after`; None when there is none."""

    def create_candidate_with_application(self, person: NewPerson, job_id: str) -> tuple[str, str]:
        """Creates the candidate with an application to `job_id`: (candidate id,
        application id)."""

    def add_application(self, candidate_id: str, job_id: str) -> str:
        """Applies an existing ATS candidate to `job_id`; the application id."""

    def get_application(self, application_id: str) -> AtsApplication: ...

    def get_person(self, candidate_id: str) -> AtsPerson: ...

    def list_applications(self, updated_after: datetime | None) -> list[AtsApplication]:
        """Every application changed after `updated_after` (all of them for None)."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[AtsEvent]:
        """The events of one web hook delivery, after checking its signature
        (`WebhookRefused`) and its shape (`WebhookMalformed`). Events of no interest
        (a ping, an edit of a job) give an empty list."""

    def close(self) -> None: ...


__all__ = [
    "AtsAdapter",
    "AtsError",
    "AtsRejected",
    "AtsUnavailable",
    "FoundCandidate",
    "NewPerson",
    "WebhookMalformed",
    "WebhookRefused",
]
