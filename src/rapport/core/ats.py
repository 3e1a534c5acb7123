"""The ATS sync's domain (issue 9): what an applicant tracking system tells us (events
about applications) and what we owe it (submissions). No HTTP, no grpc here: adapters in
rapport.services.ats turn an ATS's API and web hooks into these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

APPLIED, STAGE_CHANGED, REJECTED, HIRED = "applied", "stage_changed", "rejected", "hired"
EVENT_KINDS = (APPLIED, STAGE_CHANGED, REJECTED, HIRED)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
SUBMISSION_STATUSES = (PENDING, DELIVERED, FAILED)

# Outcomes of an inbound event.
EVENT_APPLIED, EVENT_REFUSED, EVENT_DUPLICATE = "applied", "refused", "duplicate"

# Outgoing web hook event types (the generic JSON shape, README "ATS sync").
SUBMISSION_CREATED = "submission.created"
RETURNED_TO_NURTURE = "candidate.returned_to_nurture"


# The tag a person submitted from the CRM carries in the ATS: "rapport:<candidate id>".
REFERENCE_PREFIX = "rapport:"


@dataclass(frozen=True)
class AtsPerson:
    """A candidate as the ATS knows them. `crm_candidate_id`: ours, when the ATS carries
    our reference tag (someone we submitted), so their web hooks find them even when
    they arrive before the submission's answer is recorded, or the person has no email."""

    ats_candidate_id: str
    first_name: str = ""
    last_name: str = ""
    emails: tuple[str, ...] = ()
    crm_candidate_id: str = ""


def crm_reference(tags) -> str:
    """Our candidate id from an ATS person's tags ("" when none is ours)."""
    return next(
        (t[len(REFERENCE_PREFIX) :] for t in tags if str(t).startswith(REFERENCE_PREFIX)), ""
    )


@dataclass(frozen=True)
class AtsEvent:
    """One thing that happened to an application in the ATS.

    `delivery_key` identifies this event at its source (a web hook's event id, a digest of
    a delivery, an application's state when pulled): the same key is applied once."""

    kind: str  # one of EVENT_KINDS
    ats: str  # which system: "greenhouse", "generic"
    delivery_key: str
    person: AtsPerson
    application_id: str = ""
    job_id: str = ""
    job_name: str = ""
    stage: str = ""  # the ATS's stage name (stage_changed)
    reason: str = ""  # the rejection reason (rejected)
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class AtsApplication:
    """An application as the ATS reports it when asked (the pull sync)."""

    id: str
    ats_candidate_id: str
    job_id: str
    job_name: str
    status: str  # active | rejected | hired
    stage: str
    reason: str
    updated_at: datetime


@dataclass(frozen=True)
class Submission:
    """A CRM candidate queued for a job in the ATS, and how its delivery went."""

    id: str
    candidate_id: str
    ats: str
    ats_job_id: str
    status: str
    attempts: int
    ats_candidate_id: str
    ats_application_id: str
    last_error: str
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class EventOutcome:
    """What applying one inbound event did."""

    outcome: str  # EVENT_APPLIED | EVENT_REFUSED | EVENT_DUPLICATE
    candidate_id: str = ""
    pools: tuple[str, ...] = field(default=())  # pool ids the person was added to or moved in


__all__ = [
    "APPLIED",
    "DELIVERED",
    "EVENT_APPLIED",
    "EVENT_DUPLICATE",
    "EVENT_KINDS",
    "EVENT_REFUSED",
    "FAILED",
    "HIRED",
    "PENDING",
    "REJECTED",
    "RETURNED_TO_NURTURE",
    "STAGE_CHANGED",
    "SUBMISSION_CREATED",
    "SUBMISSION_STATUSES",
    "AtsApplication",
    "AtsEvent",
    "AtsPerson",
    "EventOutcome",
    "Submission",
]
