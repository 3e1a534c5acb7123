"""Self-reported, optional demographic answers, used only for adverse-impact reports.

The categories are the ones NYC Local Law 144 bias audits report on (the EEO-1 component 1
categories): sex, and race/ethnicity. Every answer is optional and "declined" is an answer:
both count as the unknown category, which the report shows as a count and leaves out of the
impact ratios, as the law's rules require.

Values arrive in many spellings (audit files, forms); `normalise_sex` and
`normalise_race_ethnicity` map them to one vocabulary or refuse them with a reason.
"""

from __future__ import annotations

import re

from rapport.core.errors import ValidationFailed, Violation

SEX = ("female", "male", "non_binary")
RACE_ETHNICITY = (
    "hispanic_or_latino",
    "white",
    "black_or_african_american",
    "native_hawaiian_or_pacific_islander",
    "asian",
    "native_american_or_alaska_native",
    "two_or_more_races",
)
UNKNOWN = ""  # no answer, or declined to answer
DECLINED_WORDS = frozenset({"", "declined", "decline", "unknown", "prefer_not_to_say", "n/a", "na"})

_SEX_ALIASES = {
    "f": "female",
    "woman": "female",
    "women": "female",
    "m": "male",
    "man": "male",
    "men": "male",
    "nonbinary": "non_binary",
    "non_binary": "non_binary",
    "nb": "non_binary",
    "x": "non_binary",
}
_RACE_ALIASES = {
    "hispanic": "hispanic_or_latino",
    "latino": "hispanic_or_latino",
    "latina": "hispanic_or_latino",
    "latinx": "hispanic_or_latino",
    "black": "black_or_african_american",
    "african_american": "black_or_african_american",
    "pacific_islander": "native_hawaiian_or_pacific_islander",
    "native_hawaiian": "native_hawaiian_or_pacific_islander",
    "native_american": "native_american_or_alaska_native",
    "american_indian": "native_american_or_alaska_native",
    "american_indian_or_alaska_native": "native_american_or_alaska_native",
    "alaska_native": "native_american_or_alaska_native",
    "two_or_more": "two_or_more_races",
    "multiracial": "two_or_more_races",
    "mixed": "two_or_more_races",
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z/]+", "_", text.strip().lower()).strip("_")


def normalise_sex(text: str) -> str:
    key = _key(text)
    if key in DECLINED_WORDS:
        return UNKNOWN
    value = _SEX_ALIASES.get(key, key)
    if value not in SEX:
        raise ValueError(f"unknown value {text!r}; one of {', '.join(SEX)} or declined")
    return value


def normalise_race_ethnicity(text: str) -> str:
    key = _key(text)
    if key in DECLINED_WORDS:
        return UNKNOWN
    value = _RACE_ALIASES.get(key, key)
    if value not in RACE_ETHNICITY:
        raise ValueError(f"unknown value {text!r}; one of {', '.join(RACE_ETHNICITY)} or declined")
    return value


def validate_answers(sex: str, race_ethnicity: str) -> tuple[str, str]:
    """Both answers normalised, or ValidationFailed naming each bad one."""
    problems, out = [], []
    for field, value, normalise in (
        ("sex", sex, normalise_sex),
        ("race_ethnicity", race_ethnicity, normalise_race_ethnicity),
    ):
        try:
            out.append(normalise(value))
        except ValueError as exc:
            problems.append(Violation(field, str(exc)))
            out.append(UNKNOWN)
    if problems:
        raise ValidationFailed(problems)
    return out[0], out[1]


__all__ = [
    "RACE_ETHNICITY",
    "SEX",
    "UNKNOWN",
    "normalise_race_ethnicity",
    "normalise_sex",
    "validate_answers",
]
