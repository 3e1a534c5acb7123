"""rapport.core.validation: normalisers and build_draft (fast, no network)."""

from __future__ import annotations

import pytest

from rapport.core.domain import CandidateDraft, Seniority, SkillClaim
from rapport.core.errors import ValidationFailed, Violation
from rapport.core.validation import (
    RECORD_KEYS,
    Limits,
    build_draft,
    default_skill_resolver,
    normalise_country,
    normalise_email,
    normalise_language,
    normalise_phone,
    normalise_profile_url,
    normalise_timezone,
    parse_seniority,
)


def violations(record, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        build_draft(record, **kwargs)
    return {v.field: v.reason for v in info.value.violations}


# --- email -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("j+tag@sub.example.co.uk", "j+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("chloé@example.fr", "chloé@example.fr"),
        ("jörg@BÜCHER.de", "jörg@bücher.de"),
    ],
)
def test_normalise_email_good(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "a@b",
        "a@@example.com",
        "a b@example.com",
        ".a@example.com",
        "a..b@example.com",
        "a@example..com",
        "x@localhost",
        "a@-example.com",
        42,
        None,
    ],
)
def test_normalise_email_bad(raw):
    with pytest.raises(ValueError) as info:
        normalise_email(raw)
    assert str(info.value)


def test_email_fast_path_agrees_with_email_validator():
    # The cached-domain fast path must refuse what email_validator refuses.
    with pytest.raises(ValueError):
        normalise_email("someone@example.invalid")
    with pytest.raises(ValueError):
        normalise_email(f"a@{'x' * 250}.com")


# --- phone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 20 7946 0958", "", "+442079460958"),
        ("+44 (0)20 7946-0958", "", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(212) 555-0143", "US", "+12125550143"),
        ("+49 30 1234567", "FR", "+49301234567"),
        ("0049 30 1234567", "DE", "+49301234567"),
        ("+39 06 6982 1234", "", "+390669821234"),
        (4930123456, "DE", "+4930123456"),
    ],
)
def test_normalise_phone_good(raw, region, expected):
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("020 7946 0958", "", "national number"),
        ("+44 12", "", "too short"),
        ("hello", "", "not a phone number"),
        ("+999 1234567", "", "unknown country code"),
        ("+44 7700 900123 123456789", "", "too long"),
        ("+1 123 456 7890", "", "not a valid phone number"),
        ("", "", "empty"),
        (["+44"], "", "expected a string"),
    ],
)
def test_normalise_phone_bad(raw, region, reason):
    with pytest.raises(ValueError, match=reason):
        normalise_phone(raw, region)


# --- profile URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.linkedin.com/in/jane-doe/", "https://linkedin.com/in/jane-doe"),
        ("HTTPS://WWW.LinkedIn.COM/in/JaneDoe?trk=abc#top", "https://linkedin.com/in/JaneDoe"),
        ("linkedin.com/in/x", "https://linkedin.com/in/x"),
        ("www.github.com/octocat", "https://github.com/octocat"),
        ("http://github.com:80/a/", "http://github.com/a"),
        ("https://example.com:8443/p", "https://example.com:8443/p"),
        ("//example.org/me", "https://example.org/me"),
        ("https://github.com/", "https://github.com"),
        ("https://bücher.de/jörg", "https://xn--bcher-kva.de/jörg"),
    ],
)
def test_normalise_profile_url_good(raw, expected):
    assert normalise_profile_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ftp://example.com/x", "only http and https"),
        ("mailto:jane@example.com", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://", "no host"),
        ("https://localhost/x", "invalid host"),
        ("https://exa_mple.com/", "invalid host"),
        ("not a url", "spaces"),
        ("", "empty"),
    ],
)
def test_normalise_profile_url_bad(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalise_profile_url(raw)


# --- country, time zone, language ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        (" germany ", "DE"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("GBR", "GB"),
        ("USA", "US"),
        ("United States", "US"),
        ("U.S.A.", "US"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("Korea, Republic of", "KR"),
        ("South Korea", "KR"),
        ("Russia", "RU"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("The Netherlands", "NL"),
        ("Bolivia", "BO"),
    ],
)
def test_normalise_country_good(raw, expected):
    assert normalise_country(raw) == expected


@pytest.mark.parametrize("raw", ["Atlantis", "XX", "EU", "", 49, "Germany!!1"])
def test_normalise_country_bad(raw):
    with pytest.raises(ValueError):
        normalise_country(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("America/New York", "America/New_York"),
        ("utc", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_normalise_timezone_good(raw, expected):
    assert normalise_timezone(raw) == expected


@pytest.mark.parametrize("raw", ["Mars/Olympus_Mons", "CEST+2", "+02:00", "", "localtime", 1])
def test_normalise_timezone_bad(raw):
    with pytest.raises(ValueError):
        normalise_timezone(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("English", "en"),
        ("english", "en"),
        ("German", "de"),
        ("pt-br", "pt-BR"),
        ("de", "de"),
        ("en_US", "en-US"),
        ("eng", "en"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("Mandarin", "zh"),
        ("Greek", "el"),
        ("Swahili", "sw"),
        ("fil", "fil"),
    ],
)
def test_normalise_language_good(raw, expected):
    assert normalise_language(raw) == expected


@pytest.mark.parametrize("raw", ["xx-garbage", "zz", "und", "klingonese", "asdf", "", "e", 7])
def test_normalise_language_bad(raw):
    with pytest.raises(ValueError):
        normalise_language(raw)


# --- seniority, skills ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("senior", Seniority.SENIOR),
        ("Sr.", Seniority.SENIOR),
        ("SR", Seniority.SENIOR),
        ("jr", Seniority.JUNIOR),
        ("Entry-level", Seniority.JUNIOR),
        ("graduate", Seniority.JUNIOR),
        ("intern", Seniority.INTERN),
        ("Intermediate", Seniority.MID),
        ("mid", Seniority.MID),
        ("staff", Seniority.LEAD),
        ("Tech Lead", Seniority.LEAD),
        ("manager", Seniority.LEAD),
        ("principal", Seniority.PRINCIPAL),
        ("Architect", Seniority.PRINCIPAL),
        ("distinguished", Seniority.PRINCIPAL),
        ("VP", Seniority.EXECUTIVE),
        ("director", Seniority.EXECUTIVE),
        ("C-Level", Seniority.EXECUTIVE),
        ("head", Seniority.EXECUTIVE),
        ("executive", Seniority.EXECUTIVE),
        (Seniority.MID, Seniority.MID),
        ("", Seniority.UNSPECIFIED),
    ],
)
def test_parse_seniority_good(raw, expected):
    assert parse_seniority(raw) is expected


@pytest.mark.parametrize("raw", ["wizard", "level 9", 3, "engineer"])
def test_parse_seniority_bad(raw):
    with pytest.raises(ValueError):
        parse_seniority(raw)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Python", ("python", "Python")),
        ("C++", ("cplusplus", "C++")),
        ("C#", ("csharp", "C#")),
        ("  Machine   Learning ", ("machine-learning", "Machine Learning")),
        ("Node.js", ("node-js", "Node.js")),
        (".NET", ("net", ".NET")),
        ("Notepad++", ("notepadplusplus", "Notepad++")),
    ],
)
def test_default_skill_resolver(label, expected):
    assert default_skill_resolver(label) == expected


# --- build_draft ---------------------------------------------------------------------------


def test_build_draft_full_record():
    draft = build_draft(
        {
            "external_id": "  ats-42 ",
            "name": "  Jan   van der Berg ",
            "email": "Jan@Example.com; jan@example.COM",
            "emails": ["j.berg@work.example"],
            "phone": "030 1234567",
            "linkedin": "https://www.linkedin.com/in/janvdb/",
            "title": "Staff  Engineer",
            "summary": "  Builds things.\r\n\r\nLikes\tGo.  ",
            "company": "Acme GmbH",
            "seniority": "Sr.",
            "location": {"city": " Berlin ", "country": "Germany", "timezone": "europe/berlin"},
            "languages": "English, German;pt-br",
            "skills": [
                "Python",
                {"name": "python", "level": 4, "years": 6},
                {"label": "C++", "level": "2", "years": "1.5", "evidence": "ray tracer"},
                "Go",
            ],
            "tags": "backend, berlin;backend",
        },
        default_source="ats",
    )
    assert draft == CandidateDraft(
        external_id="ats-42",
        first_name="Jan",
        last_name="van der Berg",
        emails=["j.berg@work.example", "jan@example.com"],
        phones=["+49301234567"],  # national number read in the record's country
        profile_urls=["https://linkedin.com/in/janvdb"],
        headline="Staff Engineer",
        summary="Builds things.\n\nLikes\tGo.",
        current_company="Acme GmbH",
        seniority=Seniority.SENIOR,
        city="Berlin",
        country="DE",
        timezone="Europe/Berlin",
        languages=["en", "de", "pt-BR"],
        skills=[
            SkillClaim("python", "Python", 4, 6.0),
            SkillClaim("cplusplus", "C++", 2, 1.5, evidence="ray tracer"),
            SkillClaim("go", "Go"),
        ],
        source="ats",
        tags=["backend", "berlin"],
    )


def test_build_draft_minimal_and_absent_values():
    draft = build_draft({"first_name": "Ada", "last_name": None, "emails": "", "phones": []})
    assert draft == CandidateDraft(first_name="Ada")


def test_canonical_fields_win_over_aliases():
    draft = build_draft(
        {
            "headline": "Engineer",
            "title": "Ignored",
            "current_company": "A",
            "company": "B",
            "first_name": "Ada",
            "name": "Grace Hopper",
        }
    )
    assert (draft.headline, draft.current_company) == ("Engineer", "A")
    assert (draft.first_name, draft.last_name) == ("Ada", "")


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("Mary Ann  Evans", "Mary Ann", "Evans"),
        ("Lovelace, Ada", "Ada", "Lovelace"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Cher", "Cher", ""),
    ],
)
def test_name_split(name, first, last):
    draft = build_draft({"full_name": name})
    assert (draft.first_name, draft.last_name) == (first, last)


def test_location_string_is_city_and_top_level_wins():
    assert build_draft({"name": "A B", "location": "Lisbon"}).city == "Lisbon"
    draft = build_draft({"name": "A B", "country": "PT", "location": {"country": "ES"}})
    assert draft.country == "PT"


def test_source_defaults_and_explicit_source_wins():
    assert build_draft({"name": "A"}, default_source="csv").source == "csv"
    assert build_draft({"name": "A", "source": "referral"}, default_source="csv").source == (
        "referral"
    )


def test_default_region_for_national_phones():
    assert build_draft({"phone": "(212) 555-0143"}, default_region="US").phones == ["+12125550143"]
    # Without a default region, the record's own country reads national numbers.
    assert build_draft({"phone": "07911 123456", "country": "GB"}).phones == ["+447911123456"]
    # The import-wide default region comes first.
    assert build_draft({"phone": "030 1234567", "country": "GB"}, default_region="DE").phones == [
        "+49301234567"
    ]


def test_national_phone_without_region_is_refused():
    assert violations({"phone": "030 1234567"}) == {
        "phones[0]": "is a national number: write it with its +country code or set a default region"
    }


def test_invalid_default_region_fails_the_request():
    with pytest.raises(ValidationFailed) as info:
        build_draft({"phone": "030 1234567"}, default_region="Narnia")
    assert info.value.violations[0].field == "default_region"


def test_all_violations_are_reported_together():
    found = violations(
        {
            "first_name": "Ada\x00",
            "emails": ["ada@example.com", "not-an-email", "also@bad"],
            "phones": "+44 20 7946 0958;+44 12",
            "profile_urls": ["ftp://example.com"],
            "seniority": "wizard",
            "location": {"country": "Atlantis", "timezone": "Mars/Base", "planet": "Mars"},
            "languages": ["en", "xx-garbage"],
            "skills": [
                "Python",
                {"name": "Go", "level": 9},
                {"name": "Rust", "years": 99},
                {"level": 3},
                {"name": "SQL", "colour": "blue"},
                42,
            ],
            "tags": [{"a": 1}],
            "favourite_food": "pizza",
        }
    )
    assert set(found) == {
        "first_name",
        "emails[1]",
        "emails[2]",
        "phones[1]",
        "profile_urls[0]",
        "seniority",
        "location.country",
        "location.timezone",
        "location.planet",
        "languages[1]",
        "skills[1].level",
        "skills[2].years",
        "skills[3]",
        "skills[4].colour",
        "skills[5]",
        "tags[0]",
        "favourite_food",
    }
    assert found["favourite_food"] == "unknown field"
    assert found["location.planet"] == "unknown field"
    assert found["first_name"] == "contains control characters"
    assert found["skills[1].level"] == "must be a whole number from 0 to 5"


def test_violation_error_message_lists_fields():
    with pytest.raises(ValidationFailed) as info:
        build_draft({"emails": "bad", "foo": 1})
    assert "emails[0]" in str(info.value) and "foo: unknown field" in str(info.value)
    assert all(isinstance(v, Violation) for v in info.value.violations)


def test_record_needs_a_name_or_an_identity():
    assert violations({"city": "Berlin", "skills": "Python"}) == {
        "record": "needs a name or at least one email, phone, profile URL or external id"
    }
    assert violations({}) == {
        "record": "needs a name or at least one email, phone, profile URL or external id"
    }
    # An identity that was offered but refused explains itself: no extra "record" noise.
    assert set(violations({"emails": "nope"})) == {"emails[0]"}
    for record in (
        {"external_id": "x"},
        {"phone": "+44 20 7946 0958"},
        {"last_name": "Ng"},
        {"url": "github.com/ng"},
    ):
        build_draft(record)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Ada\ufffdLovelace", "not valid UTF-8"),
        ("Ada\udcffLovelace", "not valid UTF-8"),
        ("Ada\x07", "contains control characters"),
        ("Ada\x1b[31m", "contains control characters"),
        ("Ada\x85", "contains control characters"),
    ],
)
def test_bad_text_is_refused(value, reason):
    assert violations({"first_name": value, "external_id": "x"}) == {"first_name": reason}


def test_newlines_and_tabs_are_fine_in_text():
    draft = build_draft({"name": "A", "summary": "line one\n\tline two\r\nthree"})
    assert draft.summary == "line one\n\tline two\nthree"


def test_unicode_is_nfc_normalised():
    decomposed = "Zoe\u0308"  # e + combining diaeresis
    assert build_draft({"first_name": decomposed}).first_name == "Zo\u00eb"


def test_type_errors_are_violations():
    found = violations(
        {
            "first_name": ["Ada"],
            "emails": {"a": 1},
            "location": 5,
            "skills": [["x"]],
            "summary": True,
            "external_id": "x",
        }
    )
    assert found == {
        "first_name": "expected a string",
        "emails": "expected a list or a string",
        "location": "expected an object or a string",
        "skills[0]": "expected a string or an object",
        "summary": "expected a string",
    }


def test_integer_identifiers_are_accepted():
    draft = build_draft({"external_id": 1234, "phones": [4930123456]}, default_region="DE")
    assert (draft.external_id, draft.phones) == ("1234", ["+4930123456"])


def test_limits():
    limits = Limits(max_short_chars=10, max_text_chars=20, max_list_items=3, max_skills=4)
    found = violations(
        {
            "first_name": "x" * 11,
            "summary": "y" * 21,
            "emails": ";".join(f"a{i}@example.com" for i in range(4)),
            "skills": [f"s{i}" for i in range(5)],
            "tags": ["ok", "z" * 11],
            "external_id": "e",
        },
        limits=limits,
    )
    assert found == {
        "first_name": "must be at most 10 characters (got 11)",
        "summary": "must be at most 20 characters (got 21)",
        "emails": "must have at most 3 items (got 4)",
        "skills": "must have at most 4 items (got 5)",
        "tags[1]": "must be at most 10 characters",
    }


def test_default_limits():
    assert Limits() == Limits(300, 20_000, 50, 200)
    found = violations(
        {
            "name": "A",
            "headline": "h" * 301,
            "summary": "s" * 20_001,
            "tags": [f"t{i}" for i in range(51)],
            "skills": [f"s{i}" for i in range(201)],
        }
    )
    assert set(found) == {"headline", "summary", "tags", "skills"}
    ok = build_draft(
        {
            "name": "A",
            "headline": "h" * 300,
            "summary": "s" * 20_000,
            "tags": [f"t{i}" for i in range(50)],
            "skills": [f"s{i}" for i in range(200)],
        }
    )
    assert len(ok.tags) == 50 and len(ok.skills) == 200


def test_limits_from_settings():
    from rapport.core.config import Settings

    limits = Limits.from_settings(Settings(max_short_field_chars=99, max_text_field_chars=999))
    assert (limits.max_short_chars, limits.max_text_chars) == (99, 999)


def test_duplicates_collapse_preserving_order():
    draft = build_draft(
        {
            "emails": ["B@example.com", "a@example.com", "b@EXAMPLE.com"],
            "phones": ["+44 20 7946 0958", "+442079460958", "+49 30 1234567"],
            "profile_urls": ["github.com/x", "https://www.github.com/x/", "https://x.com/y"],
            "languages": ["German", "de", "en"],
            "skills": [
                {"name": "Go", "level": 2, "years": 5, "source": "cv"},
                {"name": "go", "level": 4, "years": 1, "evidence": "k8s operator"},
                "Python",
            ],
        }
    )
    assert draft.emails == ["b@example.com", "a@example.com"]
    assert draft.phones == ["+442079460958", "+49301234567"]
    assert draft.profile_urls == ["https://github.com/x", "https://x.com/y"]
    assert draft.languages == ["de", "en"]
    assert draft.skills == [
        SkillClaim("go", "Go", 4, 5.0, source="cv", evidence="k8s operator"),
        SkillClaim("python", "Python"),
    ]


def test_skill_objects_and_custom_resolver():
    taxonomy = {
        "k8s": ("esco:kubernetes", "Kubernetes"),
        "kubernetes": ("esco:kubernetes", "Kubernetes"),
    }

    def resolver(label: str) -> tuple[str, str]:
        try:
            return taxonomy[label.lower()]
        except KeyError:
            raise ValueError(f"unknown skill {label!r}") from None

    draft = build_draft(
        {
            "name": "A",
            "skills": [
                "k8s",
                {"label": "Kubernetes", "level": "expert"},
                {"skill_id": "esco:go", "label": "Go"},
                {"skill_id": "x"},
            ],
        },
        skill_resolver=resolver,
    )
    assert draft.skills == [
        SkillClaim("esco:kubernetes", "Kubernetes", 5),
        SkillClaim("esco:go", "Go"),
        SkillClaim("x", "x"),
    ]
    assert violations({"name": "A", "skills": "Cobol"}, skill_resolver=resolver) == {
        "skills[0]": "unknown skill 'Cobol'"
    }


def test_skill_levels_and_years():
    draft = build_draft(
        {
            "name": "A",
            "skills": [
                {"name": "a", "level": 0},
                {"name": "b", "level": 5.0},
                {"name": "c", "level": "Beginner", "years": 0},
                {"name": "d", "years": 60},
            ],
        }
    )
    assert [(s.level, s.years) for s in draft.skills] == [(0, 0), (5, 0), (2, 0), (0, 60)]
    found = violations(
        {
            "name": "A",
            "skills": [
                {"name": "a", "level": 2.5},
                {"name": "b", "level": True},
                {"name": "c", "years": -1},
                {"name": "d", "years": "many"},
                {"name": "e", "level": "godlike"},
            ],
        }
    )
    assert set(found) == {
        "skills[0].level",
        "skills[1].level",
        "skills[2].years",
        "skills[3].years",
        "skills[4].level",
    }


def test_record_keys_cover_draft_fields_and_aliases():
    assert set(CandidateDraft.__dataclass_fields__) <= RECORD_KEYS
    assert {
        "email",
        "phone",
        "linkedin",
        "profile_url",
        "url",
        "name",
        "full_name",
        "company",
        "title",
        "location",
    } <= RECORD_KEYS


def test_not_a_mapping():
    with pytest.raises(ValidationFailed):
        build_draft(["not", "a", "dict"])  # type: ignore[arg-type]


def test_content_hash_is_stable_across_spellings():
    a = build_draft({"name": "Ada Lovelace", "email": "ADA@example.com", "country": "UK"})
    b = build_draft(
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": ["ada@example.com"],
            "country": "gb",
        }
    )
    assert a.content_hash() == b.content_hash()
