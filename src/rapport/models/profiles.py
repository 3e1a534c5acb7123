"""What matching keeps in memory per candidate: the facts ranking scores, nothing more.

Contact details are left out on purpose: a ranking explains itself with skills, seniority
and place, and the index never holds an email address or a phone number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from rapport.core.domain import Candidate

MAX_TEXT_CHARS = 2_000  # the encoder reads ~256 word pieces; more text only costs time
EMBEDDED_SKILLS = 5
MAX_MENTIONS = 60  # skills taken from a headline and summary


class SkillMatchLike(Protocol):
    text: str
    skill_id: str
    label: str
    confidence: float
    method: str


class SkillResolver(Protocol):
    """The part of the skill mapper that profiles and ranking rely on."""

    def map_many(self, texts: Sequence[str]) -> list[SkillMatchLike]: ...

    def extract(self, text: str, *, limit: int = 30) -> list[SkillMatchLike]: ...

    def credit(self, required_id: str, candidate_skill_ids: Iterable[str]) -> tuple[float, str]: ...


@dataclass(frozen=True, slots=True)
class SkillEvidence:
    label: str
    source: str  # "profile" (a listed skill) or "summary" (mentioned in the text)


@dataclass(frozen=True, slots=True)
class CandidateProfile:
    pk: int
    id: str
    display_name: str
    headline: str
    seniority: str
    country: str
    timezone: str
    languages: tuple[str, ...]
    skills: Mapping[str, SkillEvidence]  # canonical skill id -> how we know
    skill_ids: frozenset[str] = frozenset()  # the keys of `skills`, for set operations


def candidate_text(candidate: Candidate) -> str:
    """The text embedded for a candidate: headline, summary and the first listed skills.

    Only the first few skills: the whole list is scored exactly by the skills component, and
    every token embedded costs indexing time (a long list doubled it on seeded profiles).
    """
    skills = ", ".join(s.label for s in candidate.skills[:EMBEDDED_SKILLS])
    parts = [candidate.headline, candidate.summary[:MAX_TEXT_CHARS]]
    if skills:
        parts.append(f"Skills: {skills}")
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())


class ProfileBuilder:
    """Turns stored candidates into profiles, mapping their free-text skills canonically.

    Listed skills keep the id the store gave them when the mapper knows that id or finds a
    canonical skill for the label (alias first, then nearest label); skills mentioned in the
    headline or summary are added with source "summary". Mappings are cached per label, so a
    full rebuild maps each distinct label once.
    """

    def __init__(
        self, resolver: SkillResolver, is_known: Callable[[str], bool] = lambda _id: False
    ) -> None:
        self.resolver = resolver
        self._is_known = is_known
        self._label_cache: dict[str, tuple[str, str]] = {}

    def _canonical(self, claims: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
        pending = [
            label
            for skill_id, label in claims
            if not self._is_known(skill_id) and label not in self._label_cache
        ]
        if pending:
            for label, match in zip(pending, self.resolver.map_many(pending), strict=True):
                self._label_cache[label] = (
                    (match.skill_id, match.label) if match.skill_id else ("", "")
                )
        out: dict[str, tuple[str, str]] = {}
        for skill_id, label in claims:
            if self._is_known(skill_id):
                out[skill_id] = (skill_id, label)
            else:
                mapped_id, mapped_label = self._label_cache.get(label, ("", ""))
                out[skill_id] = (mapped_id or skill_id, mapped_label or label)
        return out

    def build_many(self, candidates: Sequence[Candidate]) -> list[CandidateProfile]:
        claims = [(s.skill_id, s.label) for c in candidates for s in c.skills]
        canonical = self._canonical(claims)
        profiles = []
        for c in candidates:
            skills: dict[str, SkillEvidence] = {}
            for s in c.skills:
                cid, label = canonical[s.skill_id]
                skills.setdefault(cid, SkillEvidence(label, "profile"))
            # Mentions are looked for in the whole summary (a resume can run to pages); only
            # the embedded text is cut short.
            for match in self.resolver.extract(f"{c.headline}. {c.summary}", limit=MAX_MENTIONS):
                if match.skill_id and match.skill_id not in skills:
                    skills[match.skill_id] = SkillEvidence(match.label, "summary")
            name = " ".join(p for p in (c.first_name, c.last_name) if p)
            profiles.append(
                CandidateProfile(
                    pk=c.pk,
                    id=c.id,
                    display_name=name,
                    headline=c.headline,
                    seniority=c.seniority.value,
                    country=c.country,
                    timezone=c.timezone,
                    languages=tuple(c.languages),
                    skills=MappingProxyType(skills),
                    skill_ids=frozenset(skills),
                )
            )
        return profiles
