"""Content domain: library items, decisions and outcomes, and the pure rules NextBestContent
applies before any model is asked (DESIGN §8). No SQL, no grpc, no numpy.

The rules are kept here, apart from the store and the policy, so that the outreach
scheduler and the content service agree on them: quiet hours in the person's own time
zone, caps over a sliding window, a language the person reads, an address for the channel,
and which opens are a machine's rather than a person's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapport.core.domain import Candidate, ConsentState, Rule
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.store.rules import validate_rule
from rapport.core.templating import validate_fallbacks, validate_template
from rapport.core.validation import normalise_language

MAX_TITLE_CHARS = 300
MAX_SUBJECT_CHARS = 1000
MAX_URL_CHARS = 2000
MAX_TAGS = 50
MAX_TAG_CHARS = 100
EMBED_BODY_CHARS = 1500


class ContentKind(StrEnum):
    EMAIL_TEMPLATE = "email_template"
    ARTICLE = "article"
    WHITEPAPER = "whitepaper"
    JOB_AD = "job_ad"
    EVENT_INVITE = "event_invite"


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    REPLIED = "replied"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class NoSend(StrEnum):
    """Why NextBestContent says "send nothing" ("" when something is to be sent)."""

    NONE = ""
    OPTED_OUT = "opted_out"
    NO_CONSENT = "no_consent"
    NO_ADDRESS = "no_address"
    QUIET_HOURS = "quiet_hours"
    FREQUENCY_CAP = "frequency_cap"
    CONTACT_BUDGET = "contact_budget"
    NOTHING_ELIGIBLE = "nothing_eligible"
    MERGED = "merged"


# Channels content can go out on, and what a person needs for each.
CONTENT_CHANNELS = ("email", "sms", "linkedin", "web")
DEFAULT_CHANNEL = "email"
CONSENTED = frozenset({ConsentState.GRANTED, ConsentState.LEGITIMATE_INTEREST})

# Outcome -> timeline kind (TIMELINE_KINDS); a reply by SMS is an sms_replied.
TIMELINE_KIND = {
    OutcomeKind.DELIVERED: "email_delivered",
    OutcomeKind.OPENED: "email_opened",
    OutcomeKind.CLICKED: "email_clicked",
    OutcomeKind.REPLIED: "email_replied",
    OutcomeKind.UNSUBSCRIBED: "unsubscribed",
    OutcomeKind.BOUNCED: "email_bounced",
}
# Outcomes that earn a decision its reward (a human response; opens are too noisy).
REWARDING = frozenset({OutcomeKind.CLICKED, OutcomeKind.REPLIED})


@dataclass(frozen=True)
class ContentItem:
    kind: ContentKind
    title: str
    subject: str = ""
    body: str = ""
    url: str = ""
    topics: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    audience: Rule = field(default_factory=Rule)
    locale: str = ""
    channels: tuple[str, ...] = (DEFAULT_CHANNEL,)
    fallbacks: Mapping[str, str] = field(default_factory=dict)
    role_id: str = ""
    active_from: datetime | None = None
    active_until: datetime | None = None
    id: str = ""
    pk: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def active_at(self, when: datetime) -> bool:
        if self.active_from is not None and when < self.active_from:
            return False
        return self.active_until is None or when < self.active_until


def embed_text(item: ContentItem) -> str:
    """The text embedded for an item: what it is about, not its merge tags or greeting."""
    body = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", item.body, flags=re.S)
    body = " ".join(body.split())[:EMBED_BODY_CHARS]
    parts = [item.title, item.subject if "{" not in item.subject else ""]
    if item.topics:
        parts.append("Topics: " + ", ".join(item.topics))
    if item.skills:
        parts.append("Skills: " + ", ".join(item.skills))
    parts.append(body)
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _tags(values: Iterable[str], field_name: str, problems: list[Violation]) -> tuple[str, ...]:
    out: list[str] = []
    values = list(values)
    if len(values) > MAX_TAGS:
        problems.append(Violation(field_name, f"at most {MAX_TAGS} entries"))
        return ()
    for i, raw in enumerate(values):
        text = " ".join(str(raw).split())
        if not text:
            problems.append(Violation(f"{field_name}[{i}]", "is empty"))
        elif len(text) > MAX_TAG_CHARS:
            problems.append(Violation(f"{field_name}[{i}]", f"longer than {MAX_TAG_CHARS} chars"))
        elif text.lower() not in (o.lower() for o in out):
            out.append(text)
    return tuple(out)


def validate_item(item: ContentItem, prefix: str = "item") -> ContentItem:
    """The item normalised, or ValidationFailed listing every problem (templates with their
    line and column)."""
    problems: list[Violation] = []
    title = " ".join(item.title.split())
    if not title:
        problems.append(Violation(f"{prefix}.title", "is required"))
    elif len(title) > MAX_TITLE_CHARS:
        problems.append(Violation(f"{prefix}.title", f"longer than {MAX_TITLE_CHARS} characters"))
    if item.kind not in set(ContentKind):
        problems.append(
            Violation(f"{prefix}.kind", "one of " + ", ".join(k.value for k in ContentKind))
        )
    channels = tuple(dict.fromkeys(c.strip().lower() for c in item.channels if c.strip()))
    channels = channels or (DEFAULT_CHANNEL,)
    bad = [c for c in channels if c not in CONTENT_CHANNELS]
    if bad:
        problems.append(
            Violation(
                f"{prefix}.channels", f"unknown channel {bad[0]!r}; one of {CONTENT_CHANNELS}"
            )
        )
    if item.kind == ContentKind.EMAIL_TEMPLATE and "email" in channels:
        if not item.subject.strip():
            problems.append(Violation(f"{prefix}.subject", "an email template needs a subject"))
        if not item.body.strip():
            problems.append(Violation(f"{prefix}.body", "an email template needs a body"))
    if len(item.subject) > MAX_SUBJECT_CHARS:
        problems.append(
            Violation(f"{prefix}.subject", f"longer than {MAX_SUBJECT_CHARS} characters")
        )
    for name in ("subject", "body"):
        try:
            validate_template(getattr(item, name), f"{prefix}.{name}")
        except ValidationFailed as err:
            problems.extend(err.violations)
    fallbacks: dict[str, str] = {}
    try:
        fallbacks = validate_fallbacks(item.fallbacks, f"{prefix}.fallbacks")
    except ValidationFailed as err:
        problems.extend(err.violations)
    url = item.url.strip()
    if url and (len(url) > MAX_URL_CHARS or not re.match(r"https?://[^\s/]+", url)):
        problems.append(Violation(f"{prefix}.url", "an http(s) URL of at most 2000 characters"))
    locale = ""
    if item.locale.strip():
        try:
            locale = normalise_language(item.locale)
        except ValueError as exc:
            problems.append(Violation(f"{prefix}.locale", str(exc)))
    try:
        validate_rule(item.audience, f"{prefix}.audience")
    except ValidationFailed as err:
        problems.extend(err.violations)
    for name in ("active_from", "active_until"):
        value = getattr(item, name)
        if value is not None and value.tzinfo is None:
            problems.append(Violation(f"{prefix}.{name}", "needs a time zone"))
    if (
        item.active_from is not None
        and item.active_until is not None
        and item.active_until <= item.active_from
    ):
        problems.append(Violation(f"{prefix}.active_until", "must be after active_from"))
    topics = _tags(item.topics, f"{prefix}.topics", problems)
    skills = _tags(item.skills, f"{prefix}.skills", problems)
    if problems:
        raise ValidationFailed(problems)
    return replace(
        item,
        title=title,
        subject=item.subject.strip(),
        url=url,
        topics=topics,
        skills=skills,
        locale=locale,
        channels=channels,
        fallbacks=fallbacks,
    )


# ------------------------------------------------------------------ eligibility rules


@dataclass(frozen=True)
class QuietHours:
    start: time  # local time quiet hours begin (e.g. 21:00)
    end: time  # local time they end (e.g. 08:00); may be earlier than start (overnight)

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def parse_quiet_hours(text: str) -> QuietHours | None:
    """ "21:00-08:00" -> QuietHours; "" -> None. ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", text)
    if not match:
        raise ValueError(f"quiet hours {text!r}: expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise ValueError(f"quiet hours {text!r}: not a time range")
    return QuietHours(time(h1, m1), time(h2, m2))


def zone_of(candidate: Candidate, default: str) -> ZoneInfo:
    for name in (candidate.timezone, default, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(at: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime | None:
    """When quiet hours end (UTC) if `at` falls inside them in `zone`, else None."""
    if quiet is None:
        return None
    local = at.astimezone(zone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    return end.astimezone(UTC)


def cap_until(
    contacts: Sequence[datetime], at: datetime, cap: int, window: timedelta
) -> datetime | None:
    """If `cap` contacts already fall in the window before `at`, when the oldest of the
    last `cap` leaves it (so one more is allowed); else None. `cap` 0: no cap."""
    if cap <= 0:
        return None
    recent = sorted(t for t in contacts if at - window < t <= at)
    if len(recent) < cap:
        return None
    return recent[len(recent) - cap] + window


def reads(languages: Sequence[str], locale: str, default_locale: str) -> bool:
    """True if someone with `languages` reads an item in `locale` ("en" meets "en-GB" both
    ways); people who list no language are assumed to read `default_locale`."""
    if not locale:
        return True
    wanted = locale.lower().split("-")[0]
    spoken = [lang.lower().split("-")[0] for lang in languages] or [
        default_locale.lower().split("-")[0]
    ]
    return wanted in spoken


def reachable(candidate: Candidate, channel: str) -> bool:
    if channel == "email":
        return bool(candidate.emails)
    if channel == "sms":
        return bool(candidate.phones)
    if channel == "linkedin":
        return any("linkedin.com" in u for u in candidate.profile_urls)
    return True  # web: shown where the person already is


# Pixel fetches that are not a person reading: Apple Mail Privacy Protection fetches with a
# bare "Mozilla/5.0"; security scanners and scripts say who they are.
_MACHINE_AGENT = re.compile(
    r"barracuda|mimecast|proofpoint|forcepoint|symantec|trendmicro|"
    r"\bbot\b|crawler|spider|python-requests|curl/|wget/|go-http-client|okhttp",
    re.IGNORECASE,
)


def machine_open_reason(
    user_agent: str,
    hint: bool,
    occurred_at: datetime,
    delivered_at: datetime | None,
    within: timedelta,
) -> str:
    """Why an open is a machine's ("" if it looks like a person): the sender's hint, a
    known proxy or scanner user agent, or an open within `within` of delivery."""
    if hint:
        return "hint"
    agent = " ".join(user_agent.split())
    if agent == "Mozilla/5.0" or (agent and _MACHINE_AGENT.search(agent)):
        return "user_agent"
    if delivered_at is not None and timedelta(0) <= occurred_at - delivered_at <= within:
        return "seconds_after_delivery"
    return ""


@dataclass(frozen=True)
class Decision:
    """A logged NextBestContent answer (see ContentDecisionRow)."""

    id: str
    candidate_id: str
    content_id: str  # "" when nothing is to be sent
    channel: str
    propensity: float
    score: float
    relevance: float
    predicted_response: float
    no_send: NoSend
    reason: str
    policy_name: str
    policy_version: str
    engagement_model: str
    created_at: datetime
    context: Mapping = field(default_factory=dict)
    eligible: Mapping = field(default_factory=dict)
    sent_at: datetime | None = None
    reward: float | None = None


@dataclass(frozen=True)
class Outcome:
    id: str
    outcome_key: str
    decision_id: str
    candidate_id: str
    content_id: str
    kind: OutcomeKind
    occurred_at: datetime
    machine: bool
    machine_reason: str
    timeline_event_id: str
    reward: float | None
    opted_out: bool = False


__all__ = [
    "CONSENTED",
    "CONTENT_CHANNELS",
    "REWARDING",
    "TIMELINE_KIND",
    "ContentItem",
    "ContentKind",
    "Decision",
    "NoSend",
    "Outcome",
    "OutcomeKind",
    "QuietHours",
    "cap_until",
    "embed_text",
    "machine_open_reason",
    "parse_quiet_hours",
    "quiet_until",
    "reachable",
    "reads",
    "text_hash",
    "validate_item",
    "zone_of",
]
