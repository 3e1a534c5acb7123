"""Privacy rules shared by every service (issue 7): who may be contacted on which channel,
how an erased person's identities are remembered without keeping them, retention policy.

Pure functions and value types; the store lives in `rapport.core.store.privacy`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rapport.core.domain import ConsentState

ERASED_MESSAGE = "erased at the person's request"

# Channels a preference can be recorded for (the outreach and content channels).
PREFERENCE_CHANNELS = ("email", "sms", "phone", "linkedin", "web")

# Consent states under which someone may be contacted at all. "unknown" is not consent.
CONTACTABLE = frozenset({ConsentState.GRANTED, ConsentState.LEGITIMATE_INTEREST})


class ConsentBasis(StrEnum):
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"


# The basis a state implies when the caller gives none.
DEFAULT_BASIS = {
    ConsentState.GRANTED: ConsentBasis.CONSENT,
    ConsentState.LEGITIMATE_INTEREST: ConsentBasis.LEGITIMATE_INTEREST,
}


@dataclass(frozen=True)
class ChannelPreference:
    channel: str
    allowed: bool = True
    topics: tuple[str, ...] = ()  # empty: any topic
    source: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ConsentEvent:
    state: ConsentState
    basis: str
    source: str
    channel: str
    actor: str
    recorded_at: datetime


@dataclass(frozen=True)
class ConsentRecord:
    """A person's consent now, its history (oldest first) and their channel preferences."""

    candidate_id: str
    state: ConsentState
    history: tuple[ConsentEvent, ...] = ()
    preferences: tuple[ChannelPreference, ...] = ()


def opted_out_anywhere(state: ConsentState | str, preferences: Iterable[ChannelPreference]) -> bool:
    """An opt-out from any channel is an opt-out from all outreach (issue 7 §4)."""
    return ConsentState(state) == ConsentState.OPTED_OUT or any(not p.allowed for p in preferences)


def may_contact(
    state: ConsentState | str,
    preferences: Iterable[ChannelPreference] | Mapping[str, ChannelPreference] = (),
    channel: str = "",
    *,
    topics: Iterable[str] = (),
    require_consent: bool = True,
) -> tuple[bool, str]:
    """The one rule every sender applies: (allowed, reason when not).

    Not allowed when the person opted out, or refused any channel (one opt-out stops all
    outreach at once), or, with `require_consent`, has no consent on record; and, for a
    channel preference limited to topics, when none of `topics` is among them.
    """
    prefs = list(preferences.values() if isinstance(preferences, Mapping) else preferences)
    state = ConsentState(state)
    if state == ConsentState.OPTED_OUT:
        return False, "opted out"
    refused = sorted(p.channel for p in prefs if not p.allowed)
    if refused:
        return False, f"opted out of {', '.join(refused)}: no outreach on any channel"
    if require_consent and state not in CONTACTABLE:
        return False, f"no consent on record (consent {state.value})"
    wanted = {t.strip().lower() for t in topics if t.strip()}
    for p in prefs:
        if p.channel == channel and p.topics and wanted and not wanted & set(p.topics):
            return False, f"{channel}: only about {', '.join(p.topics)}"
    return True, ""


def identity_digest(salt: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of one normalised identity under the installation's salt (hex)."""
    return hmac.new(salt, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RetentionPolicy:
    """Anonymise records idle for `idle_months` (no timeline event, no update), unless the
    person is in one of `keep_stages` of a pool (an open process). 0 months: never."""

    idle_months: int = 24
    keep_stages: tuple[str, ...] = ("screen", "interview", "final_round", "offer")

    def as_dict(self) -> dict:
        return {"idle_months": self.idle_months, "keep_stages": list(self.keep_stages)}


@dataclass(frozen=True)
class ErasureReport:
    candidate_id: str
    erased_ids: tuple[str, ...]  # the record and the records merged into it
    identities: int  # tombstones written
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    erased_at: datetime | None = None


@dataclass(frozen=True)
class RetentionCandidate:
    candidate_id: str
    last_activity: datetime | None


@dataclass(frozen=True)
class RetentionReport:
    run_id: str
    dry_run: bool
    policy: RetentionPolicy
    cutoff: datetime
    candidates: tuple[RetentionCandidate, ...]
    anonymised: int


__all__ = [
    "CONTACTABLE",
    "DEFAULT_BASIS",
    "ERASED_MESSAGE",
    "PREFERENCE_CHANNELS",
    "ChannelPreference",
    "ConsentBasis",
    "ConsentEvent",
    "ConsentRecord",
    "ErasureReport",
    "RetentionCandidate",
    "RetentionPolicy",
    "RetentionReport",
    "identity_digest",
    "may_contact",
    "opted_out_anywhere",
]
