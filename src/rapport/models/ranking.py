"""Hybrid, explainable scoring of candidates for a role.

The score is a weighted mean of components a recruiter can check: semantic similarity of
the texts, coverage of the role's skills (related skills earn partial credit), seniority fit
and place fit (country or time zone, and languages). A component the role says nothing about
(no skills, no seniority range, no place) is left out of the mean instead of counted as zero,
so a role that only names skills is ranked on skills and text alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from rapport.core.domain import Role, Seniority
from rapport.core.taxonomy import Taxonomy
from rapport.models.profiles import CandidateProfile, SkillMatchLike, SkillResolver
from rapport.models.skills import RELATED_CREDIT

# How much each kind of role skill counts towards coverage: a nice-to-have half a required
# one, a skill only mentioned in the title or description a quarter.
SKILL_WEIGHTS = {"required": 1.0, "nice": 0.5, "mentioned": 0.25}
MAX_MENTIONED_SKILLS = 15
SENIORITY_STEP_PENALTY = 0.4  # per level outside the range
TIMEZONE_HOURS_TO_ZERO = 4.0  # hours outside the window at which time-zone fit reaches 0
UNKNOWN_FIT = 0.5  # fit of a fact the candidate did not give (seniority, place, languages)


@dataclass(frozen=True)
class Weights:
    semantic: float = 0.40
    skills: float = 0.40
    seniority: float = 0.10
    location: float = 0.10

    def __post_init__(self) -> None:
        values = (self.semantic, self.skills, self.seniority, self.location)
        if any(v < 0 for v in values) or sum(values) <= 0:
            raise ValueError("match weights must be non-negative and not all zero")


@dataclass(frozen=True)
class RoleSkill:
    """One of the role's skills as understood: the canonical id it is matched by."""

    text: str
    skill_id: str
    label: str
    confidence: float
    method: str  # alias | embedding | none (then matched literally by its text)
    kind: str  # required | nice | mentioned (found in the title or description)
    related: frozenset[str] = frozenset()  # skills that earn partial credit for this one

    @property
    def required(self) -> bool:
        return self.kind == "required"

    @property
    def weight(self) -> float:
        return SKILL_WEIGHTS[self.kind]


@dataclass(frozen=True)
class RoleQuery:
    role: Role
    skills: tuple[RoleSkill, ...]
    utc_window: tuple[float, float] | None

    @property
    def required(self) -> tuple[RoleSkill, ...]:
        return tuple(s for s in self.skills if s.required)

    @property
    def nice(self) -> tuple[RoleSkill, ...]:
        return tuple(s for s in self.skills if not s.required)

    def text(self) -> str:
        """What is embedded for the role: title, description and the skills it names."""
        parts = [self.role.title, self.role.description[:2000]]
        listed = [s.label or s.text for s in self.skills if s.kind != "mentioned"]
        if listed:
            parts.append("Skills: " + ", ".join(listed))
        return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())


@dataclass(frozen=True)
class MatchedSkill:
    skill_id: str
    label: str
    credit: float
    via: str


@dataclass(frozen=True)
class Components:
    semantic: float
    skills: float | None
    seniority: float | None
    location: float | None


@dataclass(frozen=True)
class ScoredCandidate:
    profile: CandidateProfile
    score: float
    components: Components
    matched: tuple[MatchedSkill, ...] = ()
    missing: tuple[str, ...] = ()
    reason: str = ""
    notes: tuple[str, ...] = field(default=(), repr=False)


# ------------------------------------------------------------------------- the role side


@lru_cache(maxsize=4096)
def _utc_offset_hours(zone: str, hour_key: int) -> float | None:
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        return None
    offset = datetime.fromtimestamp(hour_key * 3600, UTC).astimezone(tz).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else None


def utc_offset_hours(zone: str, now: datetime | None = None) -> float | None:
    """Current UTC offset of an IANA zone in hours (daylight saving included), None if unknown."""
    if not zone:
        return None
    stamp = (now or datetime.now(UTC)).timestamp()
    return _utc_offset_hours(zone, int(stamp // 3600))


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    """Every IANA zone; available_timezones() walks the tz database on disk at each call."""
    return tuple(sorted(available_timezones()))


def zones_within(window: tuple[float, float], now: datetime | None = None) -> list[str]:
    """IANA zones whose current offset lies inside the window: a strict location filter."""
    lo, hi = window
    return [
        z for z in _zone_names() if (o := utc_offset_hours(z, now)) is not None and lo <= o <= hi
    ]


def resolve_role(role: Role, resolver: SkillResolver, now: datetime | None = None) -> RoleQuery:
    """Map the role's skill texts to canonical ids and its time zones to a UTC window.

    A skill that maps to nothing known is kept with method "none" and matched by its literal
    text (its slug), so a niche tool the taxonomy lacks still counts when a candidate lists it.
    Skills mentioned in the title or description but not listed count as "mentioned".
    """
    texts = [*role.required_skills, *role.nice_to_have_skills]
    matches: list[SkillMatchLike] = resolver.map_many(texts) if texts else []
    taxonomy = Taxonomy.bundled()
    skills = []
    seen: set[str] = set()
    for i, (text, match) in enumerate(zip(texts, matches, strict=True)):
        if match.skill_id:
            skill_id, label = match.skill_id, match.label
            method, conf = match.method, match.confidence
        else:
            skill_id, label = taxonomy.resolve(text)
            method, conf = "none", 0.0
        if skill_id in seen:
            continue
        seen.add(skill_id)
        kind = "required" if i < len(role.required_skills) else "nice"
        related = frozenset(resolver.related(skill_id))
        skills.append(RoleSkill(text, skill_id, label, float(conf), method, kind, related))
    prose = f"{role.title}. {role.description}".strip(". ")
    if prose:
        for match in resolver.extract(prose, limit=MAX_MENTIONED_SKILLS):
            if match.skill_id and match.skill_id not in seen:
                seen.add(match.skill_id)
                skills.append(
                    RoleSkill(
                        match.text,
                        match.skill_id,
                        match.label,
                        float(match.confidence),
                        match.method,
                        "mentioned",
                        frozenset(resolver.related(match.skill_id)),
                    )
                )
    window = role.timezone_window
    if window is None and role.timezones:
        offsets = [o for z in role.timezones if (o := utc_offset_hours(z, now)) is not None]
        window = (min(offsets), max(offsets)) if offsets else None
    return RoleQuery(role, tuple(skills), window)


# -------------------------------------------------------------------- the candidate side


def _seniority_fit(query: RoleQuery, candidate: str) -> float | None:
    lo, hi = query.role.min_seniority, query.role.max_seniority
    if not lo and not hi:
        return None
    if not candidate:
        return UNKNOWN_FIT
    rank = Seniority(candidate).rank
    lo_rank = lo.rank if lo else 0
    hi_rank = hi.rank if hi else len(Seniority) - 1
    distance = lo_rank - rank if rank < lo_rank else max(0, rank - hi_rank)
    return max(0.0, 1.0 - SENIORITY_STEP_PENALTY * distance)


def _place_fit(query: RoleQuery, profile: CandidateProfile, now: datetime | None) -> float | None:
    """Country or time zone (whichever fits better: remote roles name either), then languages."""
    role = query.role
    parts: list[float] = []
    place: list[float] = []
    if role.countries:
        place.append(
            UNKNOWN_FIT if not profile.country else float(profile.country in role.countries)
        )
    if query.utc_window is not None:
        offset = utc_offset_hours(profile.timezone, now)
        if offset is None:
            place.append(UNKNOWN_FIT)
        else:
            lo, hi = query.utc_window
            outside = lo - offset if offset < lo else max(0.0, offset - hi)
            place.append(max(0.0, 1.0 - outside / TIMEZONE_HOURS_TO_ZERO))
    if place:
        parts.append(max(place))
    if role.languages:
        if not profile.languages:
            parts.append(UNKNOWN_FIT)
        else:
            spoken = sum(
                any(
                    lang == want or lang.startswith(want + "-") or want.startswith(lang + "-")
                    for lang in profile.languages
                )
                for want in role.languages
            )
            parts.append(spoken / len(role.languages))
    return sum(parts) / len(parts) if parts else None


def _skills_fit(
    query: RoleQuery, profile: CandidateProfile
) -> tuple[float | None, tuple[MatchedSkill, ...], tuple[str, ...]]:
    if not query.skills:
        return None, (), ()
    owned = profile.skill_ids
    matched: list[MatchedSkill] = []
    missing: list[str] = []
    earned = possible = 0.0
    for skill in query.skills:
        weight = skill.weight
        possible += weight
        credit, via = 0.0, ""
        if skill.skill_id in owned:
            credit, via = 1.0, skill.skill_id
        elif skill.related and (hits := skill.related & owned):
            credit, via = RELATED_CREDIT, min(hits)
        if credit > 0:
            earned += weight * credit
            evidence = profile.skills.get(via)
            via_label = evidence.label if evidence else via
            if evidence is not None and evidence.source == "summary":
                via_label += " (in summary)"
            matched.append(
                MatchedSkill(skill.skill_id, skill.label or skill.text, credit, via_label)
            )
        elif skill.required:
            missing.append(skill.label or skill.text)
    return earned / possible, tuple(matched), tuple(missing)


def _reason(
    query: RoleQuery, profile: CandidateProfile, comps: Components, matched, missing
) -> str:
    bits: list[str] = []
    required = query.required
    if required:
        full = sum(
            1 for m in matched if m.credit >= 1 and m.skill_id in {s.skill_id for s in required}
        )
        related = sum(
            1 for m in matched if m.credit < 1 and m.skill_id in {s.skill_id for s in required}
        )
        text = f"{full}/{len(required)} required skills"
        if related:
            text += f" (+{related} related)"
        if missing:
            shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
            text += f"; missing {shown}"
        bits.append(text)
    elif comps.skills is not None:
        bits.append(f"{len(matched)}/{len(query.skills)} of the role's skills")
    if comps.seniority is not None:
        if not profile.seniority:
            bits.append("seniority unknown")
        elif comps.seniority >= 1:
            bits.append(f"{profile.seniority}, as asked")
        else:
            bits.append(f"{profile.seniority}, outside the range")
    if comps.location is not None:
        where = profile.country or profile.timezone or "location unknown"
        bits.append(
            f"{where} fits" if comps.location >= 1 else f"{where} (place fit {comps.location:.1f})"
        )
    bits.append(f"text similarity {comps.semantic:.2f}")
    return "; ".join(bits)


def score_candidate(
    query: RoleQuery,
    profile: CandidateProfile,
    semantic: float,
    weights: Weights,
    now: datetime | None = None,
) -> ScoredCandidate:
    """Score and components; the reason is written by `explain`, for the results shown only."""
    skills, matched, missing = _skills_fit(query, profile)
    comps = Components(
        semantic=max(0.0, min(1.0, float(semantic))),
        skills=skills,
        seniority=_seniority_fit(query, profile.seniority),
        location=_place_fit(query, profile, now),
    )
    total = weights.semantic * comps.semantic
    total_weight = weights.semantic
    for w, c in (
        (weights.skills, comps.skills),
        (weights.seniority, comps.seniority),
        (weights.location, comps.location),
    ):
        if c is not None:
            total += w * c
            total_weight += w
    score = total / total_weight if total_weight else 0.0
    return ScoredCandidate(profile, score, comps, matched, missing)


def explain(query: RoleQuery, scored: ScoredCandidate) -> ScoredCandidate:
    """The same result with its one-line reason."""
    reason = _reason(query, scored.profile, scored.components, scored.matched, scored.missing)
    return replace(scored, reason=reason)


def rank_scored(scored: Sequence[ScoredCandidate]) -> list[ScoredCandidate]:
    """Best first; ties broken by candidate id so pages are stable."""
    return sorted(scored, key=lambda s: (-s.score, s.profile.id))
