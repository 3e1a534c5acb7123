"""Validation and normalisation of roles (jobs), shared by every way a role arrives.

A role needs something to match on: a title, a description or at least one skill. Countries,
time zones and languages are normalised with the same rules as candidate profiles, so that
"Germany" in a role meets "DE" on a candidate.
"""

from __future__ import annotations

from dataclasses import replace

from rapport.core.domain import Role, Seniority
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.validation import normalise_country, normalise_language, normalise_timezone

MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 20_000
MAX_SKILLS = 100
MAX_SKILL_CHARS = 200
MAX_PLACES = 300
MAX_UTC_OFFSET = 14.0


def _clean_list(
    values: tuple[str, ...], field: str, normalise, problems: list[Violation], limit: int
) -> tuple[str, ...]:
    if len(values) > limit:
        problems.append(Violation(field, f"at most {limit} entries"))
        return ()
    out: list[str] = []
    for i, raw in enumerate(values):
        text = raw.strip()
        if not text:
            problems.append(Violation(f"{field}[{i}]", "is empty"))
            continue
        try:
            value = normalise(text)
        except ValueError as exc:
            problems.append(Violation(f"{field}[{i}]", str(exc)))
            continue
        if value not in out:
            out.append(value)
    return tuple(out)


def _skill(text: str) -> str:
    if len(text) > MAX_SKILL_CHARS:
        raise ValueError(f"longer than {MAX_SKILL_CHARS} characters")
    return " ".join(text.split())


def validate_role(role: Role, prefix: str = "role") -> Role:
    """The role normalised, or ValidationFailed naming every problem at once."""
    problems: list[Violation] = []
    title = " ".join(role.title.split())
    description = role.description.strip()
    if len(title) > MAX_TITLE_CHARS:
        problems.append(Violation(f"{prefix}.title", f"longer than {MAX_TITLE_CHARS} characters"))
    if len(description) > MAX_DESCRIPTION_CHARS:
        problems.append(
            Violation(f"{prefix}.description", f"longer than {MAX_DESCRIPTION_CHARS} characters")
        )
    required = _clean_list(
        role.required_skills, f"{prefix}.required_skills", _skill, problems, MAX_SKILLS
    )
    nice = _clean_list(
        role.nice_to_have_skills, f"{prefix}.nice_to_have_skills", _skill, problems, MAX_SKILLS
    )
    nice = tuple(s for s in nice if s.casefold() not in {r.casefold() for r in required})
    countries = _clean_list(
        role.countries, f"{prefix}.countries", normalise_country, problems, MAX_PLACES
    )
    timezones = _clean_list(
        role.timezones, f"{prefix}.timezones", normalise_timezone, problems, MAX_PLACES
    )
    languages = _clean_list(role.languages, f"{prefix}.languages", normalise_language, problems, 20)
    lo, hi = role.min_seniority, role.max_seniority
    if lo and hi and lo.rank > hi.rank:
        problems.append(
            Violation(f"{prefix}.min_seniority", f"{lo.value} is above max_seniority {hi.value}")
        )
    window = role.timezone_window
    if window is not None:
        w_lo, w_hi = window
        if not (
            -MAX_UTC_OFFSET <= w_lo <= MAX_UTC_OFFSET and -MAX_UTC_OFFSET <= w_hi <= MAX_UTC_OFFSET
        ):
            problems.append(
                Violation(f"{prefix}.timezone_window", "offsets must lie within -14..+14 hours")
            )
        elif w_lo > w_hi:
            problems.append(
                Violation(f"{prefix}.timezone_window", "min_utc_offset_hours is above max")
            )
    if not (title or description or required or nice) and not problems:
        problems.append(
            Violation(prefix, "is empty: give a title, a description or at least one skill")
        )
    if problems:
        raise ValidationFailed(problems)
    return replace(
        role,
        title=title,
        description=description,
        required_skills=required,
        nice_to_have_skills=nice,
        min_seniority=Seniority(lo),
        max_seniority=Seniority(hi),
        countries=countries,
        timezones=timezones,
        languages=languages,
    )
