"""Turn a loose candidate record into a validated, normalised `CandidateDraft`.

A record is a plain mapping as found in NDJSON, in JSON from the CLI, in a mapped CSV row
or converted from protobuf. `build_draft` checks every field and raises `ValidationFailed`
carrying *all* violations (field path + reason), never just the first one.

The normalisers are public so other layers (search filters, role files, the CLI) can
normalise a single value the same way the store does. Each raises `ValueError` whose
message is a short reason, safe to show to a client.

This module is on the import hot path (about 100k records per import), so expensive
lookups are cached and every regular expression is compiled once.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import email_validator
import langcodes
import phonenumbers
import pycountry

from rapport.core.domain import WRITABLE_FIELDS, CandidateDraft, Seniority, SkillClaim
from rapport.core.errors import ValidationFailed, Violation

__all__ = [
    "LIST_FIELDS",
    "RECORD_KEYS",
    "SKILL_LEVEL_WORDS",
    "Limits",
    "SkillResolver",
    "build_draft",
    "default_skill_resolver",
    "normalise_country",
    "normalise_email",
    "normalise_language",
    "normalise_phone",
    "normalise_profile_url",
    "normalise_timezone",
    "parse_seniority",
]

SkillResolver = Callable[[str], tuple[str, str]]


@dataclass(frozen=True)
class Limits:
    """Size limits applied by `build_draft`."""

    max_short_chars: int = 300
    max_text_chars: int = 20_000
    max_list_items: int = 50
    max_skills: int = 200

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """Limits from a `rapport.core.config.Settings` (the list limits stay fixed)."""
        return cls(
            max_short_chars=settings.max_short_field_chars,
            max_text_chars=settings.max_text_field_chars,
        )


# Aliases accepted in a record besides the CandidateDraft field names.
_LIST_ALIASES = {
    "email": "emails",
    "phone": "phones",
    "linkedin": "profile_urls",
    "profile_url": "profile_urls",
    "url": "profile_urls",
}
_SCALAR_ALIASES = {"company": "current_company", "title": "headline"}
_NAME_KEYS = ("name", "full_name")

LIST_FIELDS = frozenset({"emails", "phones", "profile_urls", "languages", "tags", "skills"})
RECORD_KEYS = frozenset(
    (*WRITABLE_FIELDS, *_LIST_ALIASES, *_SCALAR_ALIASES, *_NAME_KEYS, "location")
)
_LOCATION_KEYS = ("city", "country", "timezone")

# Words for a skill level (0 unknown, 1..5). JSON Resume uses the capitalised ones.
SKILL_LEVEL_WORDS = {
    "novice": 1,
    "basic": 1,
    "beginner": 2,
    "elementary": 2,
    "intermediate": 3,
    "competent": 3,
    "proficient": 4,
    "advanced": 4,
    "master": 5,
    "expert": 5,
}

# ---------------------------------------------------------------------------------------
# Text hygiene

# Anything suspicious: C0/C1 controls (except \t \n \r), U+FFFD and lone surrogates.
_SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")
_NOT_UTF8 = re.compile("[\ufffd\ud800-\udfff]")
_REASON_NOT_UTF8 = "not valid UTF-8"
_REASON_CONTROL = "contains control characters"


def _text_problem(s: str) -> str:
    """The reason `s` is unacceptable as text, or "" when it is fine."""
    if _SUSPECT.search(s) is None:
        return ""
    return _REASON_NOT_UTF8 if _NOT_UTF8.search(s) else _REASON_CONTROL


# ---------------------------------------------------------------------------------------
# Normalisers

_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def _email_reason(exc: email_validator.EmailNotValidError) -> str:
    text = str(exc)
    prefix = "The email address is not valid. "
    return text[len(prefix) :] if text.startswith(prefix) else text


@lru_cache(maxsize=8192)
def _email_domain(domain: str) -> str:
    """The normalised domain of an ASCII address (validated once per domain)."""
    info = email_validator.validate_email("x@" + domain, check_deliverability=False)
    return info.domain.lower()


def normalise_email(raw: Any) -> str:
    """Syntax-check an address (no DNS) and return it lower-cased."""
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    s = raw.strip()
    if not s:
        raise ValueError("is empty")
    try:
        # Fast path, equivalent to email_validator for the overwhelmingly common case of
        # a dot-atom ASCII local part: only the domain needs the (cached) full check.
        local, at, domain = s.rpartition("@")
        if (
            at
            and len(local) <= 64
            and len(s) <= 254
            and domain.isascii()
            and (_LOCAL_ATOM.match(local))
        ):
            return f"{local.lower()}@{_email_domain(domain.lower())}"
        info = email_validator.validate_email(s, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(_email_reason(exc)) from None
    return info.normalized.lower()


_PHONE_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "is not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short",
    phonenumbers.NumberParseException.TOO_LONG: "is too long",
}
_PHONE_LENGTH_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
    phonenumbers.ValidationResult.TOO_SHORT: "is too short",
    phonenumbers.ValidationResult.TOO_LONG: "is too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "has the wrong number of digits",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is a local number: add the area code",
}
_E164 = phonenumbers.PhoneNumberFormat.E164
_PHONE_FORMATTING = str.maketrans(dict.fromkeys(" -.()/\u00a0\u2010\u2011\u2012\u2013"))
_PHONE_DIGITS = re.compile(r"\+?[0-9]{1,30}\Z")


def normalise_phone(raw: Any, default_region: str = "") -> str:
    """A possible and valid phone number in E.164 form (``+4915112345678``).

    A national number (no leading ``+``) is read in `default_region` (ISO 3166-1 alpha-2);
    without one it is refused.
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    s = raw.strip()
    if not s:
        raise ValueError("is empty")
    region = default_region.upper() or None
    # Formatting characters are ignored by phonenumbers anyway ("+44 (0)20" reads as
    # "+44020"); dropping them first makes parse() markedly faster on the import path.
    compact = s.translate(_PHONE_FORMATTING)
    if _PHONE_DIGITS.match(compact):
        s = compact
    try:
        number = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == exc.INVALID_COUNTRY_CODE and not s.startswith("+") and not region:
            raise ValueError(
                "is a national number: write it with its +country code or set a default region"
            ) from None
        reason = _PHONE_PARSE_REASONS.get(exc.error_type, "is not a phone number")
        raise ValueError(reason) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError(_PHONE_LENGTH_REASONS.get(possible, "is not a possible phone number"))
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_country_code(number.country_code)
        if where == phonenumbers.UNKNOWN_REGION or where == "001":
            where = f"+{number.country_code}"
        raise ValueError(f"is not a valid phone number for {where}")
    return phonenumbers.format_number(number, _E164)


_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(?!\d)")
_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SIMPLE_URL = re.compile(r"(?i)(https?)://([a-z0-9.\-]+)((?:/[^?#]*)?)(?:[?#].*)?\Z", re.S)
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")


def normalise_profile_url(raw: Any) -> str:
    """An http(s) URL with lower-case scheme and host, no ``www.``, query, fragment or
    trailing slash. A bare ``linkedin.com/in/x`` gets ``https://``."""
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    s = raw.strip()
    if not s:
        raise ValueError("is empty")
    if _URL_FORBIDDEN.search(s):
        raise ValueError("must not contain spaces or control characters")
    m = _SIMPLE_URL.match(s)
    if m is not None:  # the common shape, without urlsplit (same result)
        host = m.group(2).lower().rstrip(".")
        if host.startswith("www."):
            host = host[4:]
        if len(host) <= 253 and _HOST.match(host):
            return f"{m.group(1).lower()}://{host}{m.group(3).rstrip('/')}"
    if s.startswith("//"):
        s = "https:" + s
    m = _URL_SCHEME.match(s)
    if m is None:
        s = "https://" + s
    elif m.group(1).lower() not in _DEFAULT_PORTS:
        raise ValueError("only http and https URLs are accepted")
    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if "@" in parts.netloc:
        raise ValueError("must not contain a user name or password")
    host = parts.hostname or ""
    if not host:
        raise ValueError("has no host name")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("has an invalid host name") from None
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if len(host) > 253 or not _HOST.match(host):
        raise ValueError("has an invalid host name")
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def _fold(s: str) -> str:
    """Case-, accent- and punctuation-insensitive key for name lookups."""
    s = unicodedata.normalize("NFKD", s.replace("&", " and "))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = s.replace(".", "").replace("'", "").replace("\u2019", "")
    s = "".join(c if c.isalnum() else " " for c in s)
    words = s.split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "russia": "RU",
    "korea": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "north korea": "KP",
    "turkey": "TR",
    "czech republic": "CZ",
    "holland": "NL",
    "uae": "AE",
    "emirates": "AE",
    "ivory coast": "CI",
    "vietnam": "VN",
    "laos": "LA",
    "syria": "SY",
    "moldova": "MD",
    "macedonia": "MK",
    "burma": "MM",
    "swaziland": "SZ",
    "cape verde": "CV",
    "east timor": "TL",
    "palestine": "PS",
    "vatican": "VA",
    "vatican city": "VA",
    "brunei": "BN",
    "congo": "CG",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of congo": "CD",
    "hong kong": "HK",
    "macau": "MO",
}


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("official_name", "name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                index[_fold(name)] = country.alpha_2
                if "," in name:  # "Korea, Republic of" -> "republic of korea"
                    head, _, tail = name.partition(",")
                    index[_fold(f"{tail} {head}")] = country.alpha_2
        index[country.alpha_3.lower()] = country.alpha_2
        index[country.alpha_2.lower()] = country.alpha_2
    index.update(_COUNTRY_ALIASES)
    return index


def normalise_country(raw: Any) -> str:
    """ISO 3166-1 alpha-2 (upper case) from alpha-2, alpha-3 or a common English name."""
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    return _country(raw)


@lru_cache(maxsize=4096)
def _country(raw: str) -> str:
    s = raw.strip()
    if not s:
        raise ValueError("is empty")
    code = _country_index().get(s.lower()) or _country_index().get(_fold(s))
    if code is None:
        raise ValueError(f"unknown country {s!r}: use an ISO 3166-1 code such as DE or GB")
    return code


_TZ_EXCLUDED = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _timezone_index() -> dict[str, str]:
    return {
        name.lower(): name
        for name in zoneinfo.available_timezones()
        if name not in _TZ_EXCLUDED and not name.startswith(("posix/", "right/"))
    }


def normalise_timezone(raw: Any) -> str:
    """A valid IANA time zone name in its canonical spelling (case-insensitive input)."""
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    return _timezone(raw)


@lru_cache(maxsize=4096)
def _timezone(raw: str) -> str:
    s = raw.strip()
    if not s:
        raise ValueError("is empty")
    key = s.lower()
    index = _timezone_index()
    name = index.get(key) or index.get(key.replace(" ", "_"))
    if name is None:
        raise ValueError(f"unknown time zone {s!r}: use an IANA name such as Europe/Berlin")
    return name


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*\Z")
_LANGUAGE_ALIASES = {
    "greek": "el",
    "mandarin": "zh",
    "mandarin chinese": "zh",
    "cantonese": "yue",
    "castilian": "es",
    "flemish": "nl",
    "farsi": "fa",
    "punjabi": "pa",
    "filipino": "fil",
    "brazilian portuguese": "pt-BR",
    "american english": "en-US",
    "british english": "en-GB",
    "swiss german": "gsw",
    "sign language": "sgn",
}


@lru_cache(maxsize=1)
def _language_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for lang in pycountry.languages:
        tag = getattr(lang, "alpha_2", None) or lang.alpha_3
        for attr in ("name", "common_name"):
            name = getattr(lang, attr, None)
            if name and len(name) > 2:  # skip one- and two-letter names ("E"): codes win
                index.setdefault(_fold(name), tag)
                bare = _fold(name.split("(")[0])  # "Swahili (macrolanguage)" -> "swahili"
                if len(bare) > 2:
                    index.setdefault(bare, tag)
    index.update(_LANGUAGE_ALIASES)
    return index


def normalise_language(raw: Any) -> str:
    """A BCP-47 tag: "English" -> "en", "pt-br" -> "pt-BR", "eng" -> "en"."""
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    return _language(raw)


@lru_cache(maxsize=4096)
def _language(raw: str) -> str:
    s = raw.strip()
    if not s:
        raise ValueError("is empty")
    if _LANGUAGE_TAG.match(s):
        try:
            lang = langcodes.Language.get(s.replace("_", "-"))
        except ValueError:
            lang = None
        if lang is not None and lang.is_valid():
            tag = lang.to_tag()
            if tag != "und":
                return tag
    tag = _language_index().get(_fold(s))
    if tag is None:
        raise ValueError(f"unknown language {s!r}: use a BCP-47 tag such as en or pt-BR")
    return langcodes.standardize_tag(tag)


_SENIORITY_WORDS: dict[str, Seniority] = {
    **dict.fromkeys(
        ("intern", "internship", "trainee", "apprentice", "student", "working student"),
        Seniority.INTERN,
    ),
    **dict.fromkeys(
        ("junior", "jr", "entry", "entry level", "graduate", "grad", "associate"),
        Seniority.JUNIOR,
    ),
    **dict.fromkeys(
        ("mid", "mid level", "middle", "intermediate", "regular", "experienced"), Seniority.MID
    ),
    **dict.fromkeys(("senior", "sr"), Seniority.SENIOR),
    **dict.fromkeys(
        ("lead", "staff", "manager", "team lead", "tech lead", "engineering manager"),
        Seniority.LEAD,
    ),
    **dict.fromkeys(("principal", "architect", "distinguished", "fellow"), Seniority.PRINCIPAL),
    **dict.fromkeys(
        (
            "director",
            "vp",
            "vice president",
            "head",
            "chief",
            "cxo",
            "executive",
            "c level",
            "c suite",
            "ceo",
            "cto",
            "cfo",
            "coo",
            "cio",
            "cpo",
            "cmo",
            "president",
        ),
        Seniority.EXECUTIVE,
    ),
}
_SENIORITY_SEPARATORS = re.compile(r"[\s._\-/]+")


def parse_seniority(raw: Any) -> Seniority:
    """A `Seniority` from its value or a common word ("sr", "staff", "vp", ...)."""
    if isinstance(raw, Seniority):
        return raw
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    key = _SENIORITY_SEPARATORS.sub(" ", raw.lower()).strip()
    if not key:
        return Seniority.UNSPECIFIED
    found = _SENIORITY_WORDS.get(key)
    if found is None:
        accepted = ", ".join(s.value for s in Seniority if s.value)
        raise ValueError(f"unknown seniority {raw.strip()!r}: use one of {accepted}")
    return found


_SLUG = re.compile(r"[\W_]+")


@lru_cache(maxsize=65536)
def default_skill_resolver(label: str) -> tuple[str, str]:
    """(skill_id, label): a lower-case slug ("C++" -> "cplusplus") and the tidied label."""
    clean = " ".join(label.split())
    slug = clean.lower().replace("+", "plus").replace("#", "sharp")
    return _SLUG.sub("-", slug).strip("-"), clean


# ---------------------------------------------------------------------------------------
# Record -> draft


def _scalar(
    value: Any, path: str, out: list[Violation], limit: int, *, collapse: bool = True
) -> str:
    """A cleaned string ("" when absent); appends a violation and returns "" when bad."""
    if value is None:
        return ""
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        else:
            out.append(Violation(path, "expected a string"))
            return ""
    problem = _text_problem(value)
    if problem:
        out.append(Violation(path, problem))
        return ""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    s = " ".join(value.split()) if collapse else value.strip()
    if not s.isascii():
        s = unicodedata.normalize("NFC", s)
    if len(s) > limit:
        out.append(Violation(path, f"must be at most {limit} characters (got {len(s)})"))
        return ""
    return s


_SPLIT_SEMI = re.compile(r";")
_SPLIT_SEMI_COMMA = re.compile(r"[;,]")


def _items(
    sources: list[tuple[str, Any]],
    out: list[Violation],
    max_items: int,
    field: str,
    splitter: re.Pattern[str],
) -> list[tuple[int, Any]]:
    """(index, item) of a list field given as lists or separated strings, possibly under
    several keys (``emails`` then ``email``). The violation path of an item is
    ``field[index]``, its position in the concatenation of what was given."""
    items: list[tuple[int, Any]] = []
    offset = 0
    for key, value in sources:
        if isinstance(value, str):
            pieces = splitter.split(value)
            if len(pieces) == 1:
                if not value.isspace():
                    items.append((offset, value))
                offset += 1
            else:
                pieces = [p for p in pieces if p and not p.isspace()]
                items.extend((offset + i, p) for i, p in enumerate(pieces))
                offset += len(pieces)
        elif isinstance(value, list | tuple):
            items.extend((offset + i, v) for i, v in enumerate(value) if v is not None and v != "")
            offset += len(value)
        elif isinstance(value, int) and not isinstance(value, bool) and field == "phones":
            items.append((offset, str(value)))
            offset += 1
        else:
            out.append(Violation(key, "expected a list or a string"))
    if len(items) > max_items:
        out.append(Violation(field, f"must have at most {max_items} items (got {len(items)})"))
        return []
    return items


def _normalised_list(
    field: str,
    items: list[tuple[int, Any]],
    normalise: Callable[[Any], str],
    out: list[Violation],
    limit: int,
) -> list[str]:
    result: list[str] = []
    seen: set[str] = set()
    for i, item in items:
        if isinstance(item, str):
            problem = _text_problem(item)
            if not problem and len(item) > limit:
                problem = f"must be at most {limit} characters"
            if problem:
                out.append(Violation(f"{field}[{i}]", problem))
                continue
        try:
            value = normalise(item)
        except ValueError as exc:
            out.append(Violation(f"{field}[{i}]", str(exc)))
            continue
        if value not in seen:
            seen.add(value)
            result.append(value)
    return result


_NAME_PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "du",
        "la",
        "le",
        "dos",
        "das",
        "do",
        "bin",
        "ibn",
        "al",
        "el",
        "ten",
        "ter",
    }
)


def _split_name(full: str) -> tuple[str, str]:
    """(first, last) from a full name: "Doe, Jane" and "Jan van der Berg" work."""
    if "," in full:
        last, _, first = full.partition(",")
        return " ".join(first.split()), " ".join(last.split())
    words = full.split()
    if len(words) < 2:
        return full, ""
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in _NAME_PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def _level(value: Any, path: str, out: list[Violation]) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in SKILL_LEVEL_WORDS:
            return SKILL_LEVEL_WORDS[word]
        try:
            value = float(word)
        except ValueError:
            out.append(Violation(path, "must be a whole number from 0 to 5"))
            return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        out.append(Violation(path, "must be a whole number from 0 to 5"))
        return 0
    if value != value or value < 0 or value > 5 or int(value) != value:
        out.append(Violation(path, "must be a whole number from 0 to 5"))
        return 0
    return int(value)


def _years(value: Any, path: str, out: list[Violation]) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            out.append(Violation(path, "must be a number of years from 0 to 60"))
            return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        out.append(Violation(path, "must be a number of years from 0 to 60"))
        return 0.0
    if not math.isfinite(value) or value < 0 or value > 60:
        out.append(Violation(path, "must be a number of years from 0 to 60"))
        return 0.0
    return float(value)


@lru_cache(maxsize=65536)
def _plain_skill(item: str, short: int) -> SkillClaim | None:
    """The claim for a bare label with the default resolver (claims are immutable, so
    they can be shared); None when the label needs the full path to report a problem."""
    problems: list[Violation] = []
    label = _scalar(item, "", problems, short)
    if problems or not label:
        return None
    skill_id, label = default_skill_resolver(label)
    return SkillClaim(skill_id, label) if skill_id else None


_SKILL_KEYS = frozenset({"name", "label", "skill_id", "level", "years", "evidence", "source"})


def _skills(
    sources: list[tuple[str, Any]],
    out: list[Violation],
    limits: Limits,
    resolver: SkillResolver,
) -> list[SkillClaim]:
    items = _items(sources, out, limits.max_skills, "skills", _SPLIT_SEMI)
    claims: list[SkillClaim] = []
    by_id: dict[str, int] = {}
    short = limits.max_short_chars
    plain = resolver is default_skill_resolver
    for i, item in items:
        if plain and isinstance(item, str):
            claim = _plain_skill(item, short)
            if claim is not None:
                seen = by_id.get(claim.skill_id)
                if seen is None:
                    by_id[claim.skill_id] = len(claims)
                    claims.append(claim)
                continue
        path = f"skills[{i}]"
        level, years, evidence, source, skill_id = 0, 0.0, "", "", ""
        if isinstance(item, str):
            label = _scalar(item, path, out, short)
        elif isinstance(item, Mapping):
            unknown = [k for k in item if k not in _SKILL_KEYS]
            for name in unknown:
                out.append(Violation(f"{path}.{name}", "unknown field"))
            label = _scalar(item.get("label"), f"{path}.label", out, short) or _scalar(
                item.get("name"), f"{path}.name", out, short
            )
            skill_id = _scalar(item.get("skill_id"), f"{path}.skill_id", out, short)
            level = _level(item.get("level"), f"{path}.level", out)
            years = _years(item.get("years"), f"{path}.years", out)
            evidence = _scalar(
                item.get("evidence"),
                f"{path}.evidence",
                out,
                limits.max_text_chars,
                collapse=False,
            )
            source = _scalar(item.get("source"), f"{path}.source", out, short)
            if not label and not skill_id:
                out.append(Violation(path, "needs a name, label or skill_id"))
                continue
        else:
            out.append(Violation(path, "expected a string or an object"))
            continue
        if skill_id:
            label = label or skill_id
        elif label:
            try:
                skill_id, label = resolver(label)
            except (ValueError, KeyError, LookupError) as exc:
                out.append(Violation(path, str(exc) or "unknown skill"))
                continue
            if not skill_id:
                out.append(Violation(path, f"cannot make a skill id from {label!r}"))
                continue
        else:
            continue  # the label itself was refused above
        seen = by_id.get(skill_id)
        if seen is None:
            by_id[skill_id] = len(claims)
            claims.append(SkillClaim(skill_id, label, level, years, source, evidence))
        else:
            old = claims[seen]
            claims[seen] = SkillClaim(
                skill_id,
                old.label,
                max(old.level, level),
                max(old.years, years),
                old.source or source,
                old.evidence or evidence,
            )
    return claims


def _tidy_tag(raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if not isinstance(raw, str):
        raise ValueError("expected a string")
    tag = " ".join(raw.split())
    if not tag.isascii():
        tag = unicodedata.normalize("NFC", tag)
    return tag


_LIST_NORMALISERS: dict[str, Callable[[Any], str]] = {
    "emails": normalise_email,
    "profile_urls": normalise_profile_url,
    "languages": normalise_language,
    "tags": _tidy_tag,
}
_IDENTITY_INPUTS = frozenset(
    {
        "first_name",
        "last_name",
        "name",
        "full_name",
        "external_id",
        "emails",
        "phones",
        "profile_urls",
        *_LIST_ALIASES,
    }
)
_ABSENT = (None, "", [], ())
_MISSING_IDENTITY = "needs a name or at least one email, phone, profile URL or external id"


def build_draft(
    record: Mapping[str, Any],
    *,
    default_region: str = "",
    default_source: str = "",
    skill_resolver: SkillResolver | None = None,
    limits: Limits = Limits(),
) -> CandidateDraft:
    """A validated, normalised draft from a loose record, or `ValidationFailed` with every
    violation found (field paths such as ``emails[1]``, ``skills[3].level``)."""
    if not isinstance(record, Mapping):
        raise ValidationFailed(Violation("record", "expected an object"))
    out: list[Violation] = []
    short = limits.max_short_chars
    resolver = skill_resolver or default_skill_resolver

    scalars: dict[str, tuple[str, Any]] = {}
    aliased: dict[str, tuple[str, Any]] = {}
    lists: dict[str, list[tuple[str, Any]]] = {}
    location: Any = None
    full_name: tuple[str, Any] | None = None
    for key, value in record.items():
        if value is None or value == "":
            continue
        if key in LIST_FIELDS:
            lists.setdefault(key, []).insert(0, (key, value))
        elif key in _LIST_ALIASES:
            lists.setdefault(_LIST_ALIASES[key], []).append((key, value))
        elif key in _SCALAR_ALIASES:
            aliased[_SCALAR_ALIASES[key]] = (key, value)
        elif key in _NAME_KEYS:
            if full_name is None or key == "name":
                full_name = (key, value)
        elif key == "location":
            location = value
        elif key in WRITABLE_FIELDS:
            scalars[key] = (key, value)
        else:
            out.append(Violation(str(key), "unknown field"))
    for key, pair in aliased.items():
        scalars.setdefault(key, pair)

    if location is not None:
        if isinstance(location, str):
            scalars.setdefault("city", ("location", location))
        elif isinstance(location, Mapping):
            for key, value in location.items():
                if key in _LOCATION_KEYS:
                    if value is not None and value != "":
                        scalars.setdefault(key, (f"location.{key}", value))
                else:
                    out.append(Violation(f"location.{key}", "unknown field"))
        else:
            out.append(Violation("location", "expected an object or a string"))

    draft = CandidateDraft()

    def text(field: str, limit: int = short, collapse: bool = True) -> str:
        pair = scalars.get(field)
        return "" if pair is None else _scalar(pair[1], pair[0], out, limit, collapse=collapse)

    def normalised(field: str, normalise: Callable[[Any], Any], default: Any = "") -> Any:
        pair = scalars.get(field)
        if pair is None:
            return default
        path, value = pair
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                out.append(Violation(path, problem))
                return default
        try:
            return normalise(value)
        except ValueError as exc:
            out.append(Violation(path, str(exc)))
            return default

    draft.external_id = text("external_id", collapse=False)
    draft.first_name = text("first_name")
    draft.last_name = text("last_name")
    if full_name is not None and not draft.first_name and not draft.last_name:
        name = _scalar(full_name[1], full_name[0], out, short)
        if name:
            draft.first_name, draft.last_name = _split_name(name)
    draft.headline = text("headline")
    draft.summary = text("summary", limits.max_text_chars, collapse=False)
    draft.current_company = text("current_company")
    draft.city = text("city")
    draft.seniority = normalised("seniority", parse_seniority, Seniority.UNSPECIFIED)
    draft.country = normalised("country", normalise_country)
    draft.timezone = normalised("timezone", normalise_timezone)
    draft.source = (
        text("source")
        if "source" in scalars
        else _scalar(default_source, "default_source", out, short)
    )

    if lists:
        for field, values in lists.items():
            if field == "skills":
                draft.skills = _skills(values, out, limits, resolver)
                continue
            splitter = _SPLIT_SEMI_COMMA if field in ("languages", "tags") else _SPLIT_SEMI
            items = _items(values, out, limits.max_list_items, field, splitter)
            if field == "phones":
                region = draft.country
                if default_region:
                    try:
                        region = normalise_country(default_region)
                    except ValueError as exc:
                        raise ValidationFailed(Violation("default_region", str(exc))) from None

                def normalise(raw: Any, region: str = region) -> str:
                    return normalise_phone(raw, region)
            else:
                normalise = _LIST_NORMALISERS[field]
            limit = 2048 if field == "profile_urls" else short
            setattr(draft, field, _normalised_list(field, items, normalise, out, limit))
        if draft.tags and "" in draft.tags:
            draft.tags = [t for t in draft.tags if t]

    if not (
        draft.first_name
        or draft.last_name
        or draft.emails
        or draft.phones
        or draft.profile_urls
        or draft.external_id
    ) and not _IDENTITY_INPUTS.intersection(k for k, v in record.items() if v not in _ABSENT):
        # Only when nothing identifying was even offered: otherwise the refused email,
        # phone, ... already explain why the record is unusable.
        out.append(Violation("record", _MISSING_IDENTITY))
    if out:
        raise ValidationFailed(out)
    return draft
