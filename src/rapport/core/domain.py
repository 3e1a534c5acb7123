"""Domain types of the core store. Plain dataclasses: no ORM, no protobuf.

`CandidateDraft` is what a caller may write (already validated and normalised by
`rapport.core.validation`); `Candidate` is what the store holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Seniority(StrEnum):
    UNSPECIFIED = ""
    INTERN = "intern"
    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"
    LEAD = "lead"
    PRINCIPAL = "principal"
    EXECUTIVE = "executive"

    @property
    def rank(self) -> int:
        return _SENIORITY_RANK[self]


_SENIORITY_RANK = {level: i for i, level in enumerate(Seniority)}


class ConsentState(StrEnum):
    UNKNOWN = "unknown"
    GRANTED = "granted"
    LEGITIMATE_INTEREST = "legitimate_interest"
    OPTED_OUT = "opted_out"


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    PROFILE_URL = "profile_url"
    EXTERNAL_ID = "external_id"


# Timeline vocabulary. Outbound kinds count as "contact" for last-contacted rules.
TIMELINE_KINDS = frozenset(
    {
        "email_sent",
        "email_delivered",
        "email_opened",
        "email_clicked",
        "email_replied",
        "email_bounced",
        "unsubscribed",
        "sms_sent",
        "sms_replied",
        "call",
        "call_booked",  # a call booked through SchedulingService (issue 9)
        "call_cancelled",
        "note",
        "content_viewed",
        "content_downloaded",
        "stage_changed",
        "applied",
        "rejected",
        "hired",
        "profile_updated",
        "imported",
        "merged",
        "unmerged",
    }
)
CONTACT_KINDS = frozenset({"email_sent", "sms_sent", "call"})
RESPONSE_KINDS = frozenset({"email_replied", "sms_replied", "email_clicked", "applied"})
CHANNELS = frozenset({"", "email", "sms", "phone", "linkedin", "web", "ats", "in_person"})

DEFAULT_POOL_STAGES = (
    "sourced",
    "contacted",
    "engaged",
    "screen",
    "interview",
    "final_round",
    "offer",
    "hired",
    "rejected",
)
# Reaching one of these stages counts as "reached a final round before".
FINAL_ROUND_STAGES = frozenset({"final_round", "offer", "hired"})
# Engagement bands, most to least likely to respond (thresholds are settings). Written by
# the engagement service to candidates.engagement_band; "" until a model has scored a person.
ENGAGEMENT_BANDS = ("hot", "warm", "cold", "dormant")


@dataclass(frozen=True)
class SkillClaim:
    skill_id: str
    label: str
    level: int = 0  # 0 unknown, 1..5
    years: float = 0.0
    source: str = ""
    evidence: str = ""


@dataclass
class CandidateDraft:
    """The writable part of a candidate, validated and normalised."""

    external_id: str = ""
    first_name: str = ""
    last_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    profile_urls: list[str] = field(default_factory=list)
    headline: str = ""
    summary: str = ""
    current_company: str = ""
    seniority: Seniority = Seniority.UNSPECIFIED
    city: str = ""
    country: str = ""
    timezone: str = ""
    languages: list[str] = field(default_factory=list)
    skills: list[SkillClaim] = field(default_factory=list)
    source: str = ""
    tags: list[str] = field(default_factory=list)

    def identities(self) -> list[tuple[IdentityKind, str]]:
        out = [(IdentityKind.EMAIL, e) for e in self.emails]
        out += [(IdentityKind.PHONE, p) for p in self.phones]
        out += [(IdentityKind.PROFILE_URL, u) for u in self.profile_urls]
        if self.external_id:
            out.append((IdentityKind.EXTERNAL_ID, self.external_id))
        return out

    def content_hash(self) -> str:
        """Stable digest of every field: equal drafts mean a re-import changes nothing.
        (Runs once per imported record, so it joins strings instead of serialising.)"""
        us, rs = "\x1f", "\x1e"
        parts = [
            self.external_id,
            self.first_name,
            self.last_name,
            us.join(self.emails),
            us.join(self.phones),
            us.join(self.profile_urls),
            self.headline,
            self.summary,
            self.current_company,
            self.seniority.value,
            self.city,
            self.country,
            self.timezone,
            us.join(self.languages),
            rs.join(
                f"{s.skill_id}{us}{s.label}{us}{s.level}{us}{s.years!r}{us}{s.source}{us}"
                f"{s.evidence}"
                for s in self.skills
            ),
            self.source,
            us.join(self.tags),
        ]
        raw = "\x1d".join(parts).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(raw, digest_size=16).hexdigest()


WRITABLE_FIELDS = tuple(CandidateDraft.__dataclass_fields__)


@dataclass
class Candidate(CandidateDraft):
    id: str = ""
    pk: int = 0
    version: int = 0
    consent_state: ConsentState = ConsentState.UNKNOWN
    engagement_band: str = ""
    merged_into: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def draft(self) -> CandidateDraft:
        return CandidateDraft(**{name: getattr(self, name) for name in WRITABLE_FIELDS})


@dataclass(frozen=True)
class TimelineEvent:
    id: str
    candidate_id: str
    kind: str
    occurred_at: datetime
    channel: str = ""
    actor: str = ""
    stage: str = ""
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Pool:
    id: str
    name: str
    description: str = ""
    stages: tuple[str, ...] = DEFAULT_POOL_STAGES
    member_count: int = 0
    created_at: datetime | None = None
    team: str = ""  # the team of the key that created it; "" for a pool every team shares


@dataclass(frozen=True)
class PoolMember:
    candidate: Candidate
    stage: str
    added_at: datetime
    stage_changed_at: datetime


@dataclass(frozen=True)
class Condition:
    """One test of a segment rule; see rapport.core.store.rules for the vocabulary."""

    field: str
    op: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    description: str = ""
    rule: Rule = Rule()
    created_at: datetime | None = None


@dataclass(frozen=True)
class Page:
    """A page of results and the opaque token for the next one ("" when done)."""

    items: list
    next_token: str = ""
    total: int = -1  # -1: not counted


@dataclass(frozen=True)
class ChangeEvent:
    seq: int
    candidate_id: str
    op: str
    at: datetime


@dataclass(frozen=True)
class DuplicateEvidence:
    signal: str
    left: str
    right: str
    similarity: float


@dataclass(frozen=True)
class DuplicatePair:
    left_id: str
    right_id: str
    score: float
    exact: bool
    evidence: tuple[DuplicateEvidence, ...]


@dataclass(frozen=True)
class Role:
    """A job to fill, as a recruiter describes it (skills are free text until matching maps
    them). An unset seniority bound is `Seniority.UNSPECIFIED`; an unset window is None."""

    id: str = ""
    title: str = ""
    description: str = ""
    required_skills: tuple[str, ...] = ()
    nice_to_have_skills: tuple[str, ...] = ()
    min_seniority: Seniority = Seniority.UNSPECIFIED
    max_seniority: Seniority = Seniority.UNSPECIFIED
    countries: tuple[str, ...] = ()
    timezones: tuple[str, ...] = ()
    timezone_window: tuple[float, float] | None = None  # UTC offsets in hours, inclusive
    languages: tuple[str, ...] = ()
    created_at: datetime | None = None
