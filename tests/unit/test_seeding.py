"""Synthetic people: determinism, validity, uniqueness, timelines and the documented signal."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import available_timezones

import langcodes
import phonenumbers
import pycountry
import pytest
from email_validator import validate_email

from rapport.core.domain import (
    CHANNELS,
    DEFAULT_POOL_STAGES,
    TIMELINE_KINDS,
    CandidateDraft,
    Seniority,
)
from rapport.core.seeding import GROUND_TRUTH_DOC, SeedEvent, SeedPerson, generate_people
from rapport.core.taxonomy import Taxonomy
from rapport.core.validation import build_draft

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SENDS = {"email_sent", "sms_sent"}
REPLIES = {"email_replied", "sms_replied"}
LADDER = ("contacted", "engaged", "screen", "interview", "final_round", "offer", "hired")


@pytest.fixture(scope="module")
def people() -> list[SeedPerson]:
    return list(generate_people(20_000, 11, now=NOW))


@pytest.fixture(scope="module")
def first_5k(people: list[SeedPerson]) -> list[SeedPerson]:
    return people[:5000]


def _reply_rate(group: list[SeedPerson]) -> tuple[float, int]:
    sends = sum(1 for p in group for e in p.events if e.kind in SENDS)
    replies = sum(1 for p in group for e in p.events if e.kind in REPLIES)
    return replies / sends, sends


# -- determinism -------------------------------------------------------------------------------
def test_same_seed_same_output() -> None:
    a = list(generate_people(300, 5, now=NOW))
    b = list(generate_people(300, 5, now=NOW))
    assert a == b
    assert [p.draft.content_hash() for p in a] == [p.draft.content_hash() for p in b]


def test_different_seed_different_output() -> None:
    a = list(generate_people(200, 5, now=NOW))
    b = list(generate_people(200, 6, now=NOW))
    assert [p.draft.content_hash() for p in a] != [p.draft.content_hash() for p in b]
    same = sum(x.draft.emails == y.draft.emails for x, y in zip(a, b, strict=True))
    assert same < 10


def test_prefix_stable_and_now_shifts_time() -> None:
    small = list(generate_people(50, 3, now=NOW))
    large = list(generate_people(200, 3, now=NOW))
    assert small == large[:50]
    later = list(generate_people(50, 3, now=NOW + timedelta(days=10)))
    assert [p.draft for p in later] == [p.draft for p in small]
    assert all(
        b.created_at - a.created_at == timedelta(days=10) for a, b in zip(small, later, strict=True)
    )


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError):
        list(generate_people(1, 1, now=datetime(2025, 1, 1)))  # naive
    with pytest.raises(ValueError):
        list(generate_people(-1, 1, now=NOW))
    assert list(generate_people(0, 1, now=NOW)) == []
    # Any timezone is accepted; output is UTC.
    cet = timezone(timedelta(hours=2))
    person = next(generate_people(1, 1, now=NOW.astimezone(cet)))
    assert person.created_at.utcoffset() == timedelta(0)


def test_custom_taxonomy_is_used() -> None:
    tax = Taxonomy.bundled()
    assert list(generate_people(20, 1, now=NOW, taxonomy=tax)) == list(
        generate_people(20, 1, now=NOW)
    )


# -- uniqueness and validity over 20k ----------------------------------------------------------
def test_identities_are_unique(people: list[SeedPerson]) -> None:
    emails = [e for p in people for e in p.draft.emails]
    phones = [x for p in people for x in p.draft.phones]
    urls = [u for p in people for u in p.draft.profile_urls if "linkedin.com" in u]
    ext = [p.draft.external_id for p in people if p.draft.external_id]
    for values in (emails, phones, urls, ext):
        dupes = [v for v, c in Counter(values).items() if c > 1]
        assert not dupes, dupes[:5]
    assert all(p.draft.emails for p in people)
    assert 0.5 < len(phones) / len(people) < 0.7
    assert 0.6 < len(urls) / len(people) < 0.8
    assert 0.4 < len(ext) / len(people) < 0.6
    assert all(u.startswith("https://linkedin.com/in/") for u in urls)
    assert all(x.startswith("ats-") and x[4:].isdigit() for x in ext)


def test_phones_are_valid_for_the_country(people: list[SeedPerson]) -> None:
    for p in people:
        for number in p.draft.phones:
            parsed = phonenumbers.parse(number)
            assert phonenumbers.is_valid_number(parsed), number
            assert phonenumbers.region_code_for_number(parsed) == p.draft.country
            assert number == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def test_emails_are_valid(people: list[SeedPerson]) -> None:
    for p in people[:3000]:
        for email in p.draft.emails:
            assert email == email.lower() and email.isascii()
            validate_email(email, check_deliverability=False)


def test_locations_and_languages_are_valid(people: list[SeedPerson]) -> None:
    zones = available_timezones()
    for p in people:
        d = p.draft
        assert d.timezone in zones, d.timezone
        assert pycountry.countries.get(alpha_2=d.country) is not None, d.country
        assert d.city
        assert d.languages and len(set(d.languages)) == len(d.languages)
        for tag in d.languages:
            assert langcodes.tag_is_valid(tag), tag
    countries = Counter(p.draft.country for p in people)
    assert countries.most_common(1)[0][0] == "US"
    assert {"GB", "DE", "IN", "NL", "FR", "ES", "PL", "PT", "IE", "SE", "CA", "BR"} <= set(
        countries
    )
    us_zones = {p.draft.timezone for p in people if p.draft.country == "US"}
    assert {"America/New_York", "America/Chicago", "America/Los_Angeles"} <= us_zones
    non_english = [p for p in people if p.draft.country in ("DE", "FR", "PL", "NL", "ES")]
    share_en = sum("en" in p.draft.languages for p in non_english) / len(non_english)
    assert 0.5 < share_en < 0.98  # English is often, not always, a second language


def test_city_timezones_are_consistent(people: list[SeedPerson]) -> None:
    zone_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in people:
        zone_of[(p.draft.country, p.draft.city)].add(p.draft.timezone)
    assert all(len(z) == 1 for z in zone_of.values())
    assert zone_of[("US", "San Francisco")] == {"America/Los_Angeles"}
    assert zone_of[("IN", "Bengaluru")] == {"Asia/Kolkata"}


def test_names_come_from_the_country_locale(people: list[SeedPerson]) -> None:
    assert all(p.draft.first_name and p.draft.last_name for p in people)
    polish = [p for p in people if p.draft.country == "PL"]
    assert (
        sum(
            any(ch in "łśżźćńąęó" for ch in (p.draft.first_name + p.draft.last_name).lower())
            for p in polish
        )
        / len(polish)
        > 0.2
    )
    german = [p for p in people if p.draft.country == "DE"]
    assert len({p.draft.last_name for p in german}) > 100


# -- profile content ---------------------------------------------------------------------------
def test_profiles_fit_family_and_seniority(people: list[SeedPerson]) -> None:
    tax = Taxonomy.bundled()
    families = {f.id: f for f in tax.role_families}
    seniorities = Counter()
    for p in people[:5000]:
        d = p.draft
        assert isinstance(d, CandidateDraft)
        family = families[p.truth["role_family"]]
        level = p.truth["seniority"]
        assert d.seniority == Seniority(level) and level != ""
        seniorities[level] += 1
        title = d.headline.split(" at ")[0].split(" | ")[0]
        if d.headline:
            assert title in family.titles[level], (title, level)
        assert 4 <= len(d.skills) <= 12
        assert len({s.skill_id for s in d.skills}) == len(d.skills)
        in_family = set(family.core_skills) | set(family.optional_skills)
        from_family = sum(s.skill_id in in_family for s in d.skills)
        assert from_family >= 3 and from_family >= len(d.skills) / 3
        for claim in d.skills:
            assert claim.label == tax.skill(claim.skill_id).label
            assert 1 <= claim.level <= 5
            assert 0 < claim.years <= float(p.truth["career_years"]) + 0.5
            assert claim.source == "seed"
        assert "{" not in d.summary and "}" not in d.summary
        assert d.current_company
        assert d.source in {
            "linkedin",
            "referral",
            "careers_site",
            "event",
            "github",
            "agency",
            "imported_csv",
        }
    assert seniorities["mid"] > seniorities["executive"]
    assert len(seniorities) == 6


def test_drafts_are_already_normalised(people: list[SeedPerson]) -> None:
    """Seeded drafts pass the store's validation unchanged (what `rapport seed` writes)."""
    tax = Taxonomy.bundled()
    for p in people[:3000]:
        record = asdict(p.draft)
        record["seniority"] = str(p.draft.seniority)
        assert build_draft(record, skill_resolver=tax.resolve) == p.draft


def test_seniority_drives_levels_and_years(first_5k: list[SeedPerson]) -> None:
    def mean(level: str, attr: str) -> float:
        vals = [
            getattr(s, attr)
            for p in first_5k
            if p.truth["seniority"] == level
            for s in p.draft.skills
        ]
        return sum(vals) / len(vals)

    assert mean("junior", "level") + 1 < mean("senior", "level")
    assert mean("junior", "years") * 3 < mean("senior", "years") < mean("principal", "years")


def test_summaries_are_mostly_present(first_5k: list[SeedPerson]) -> None:
    assert sum(bool(p.draft.summary) for p in first_5k) / len(first_5k) > 0.8
    assert sum(bool(p.draft.headline) for p in first_5k) / len(first_5k) > 0.9


# -- timelines ---------------------------------------------------------------------------------
def test_events_are_valid_ordered_and_in_window(people: list[SeedPerson]) -> None:
    for p in people:
        assert p.created_at.tzinfo is not None and p.created_at.utcoffset() == timedelta(0)
        assert NOW - timedelta(days=3 * 366) <= p.created_at < NOW
        previous = p.created_at
        for e in p.events:
            assert isinstance(e, SeedEvent)
            assert e.kind in TIMELINE_KINDS, e.kind
            assert e.channel in CHANNELS, e.channel
            assert e.occurred_at.utcoffset() == timedelta(0)
            assert p.created_at < e.occurred_at <= NOW
            assert e.occurred_at >= previous
            previous = e.occurred_at
            if e.kind == "stage_changed":
                assert e.stage in DEFAULT_POOL_STAGES
            else:
                assert e.stage == ""
            if e.kind in SENDS:
                assert e.payload["campaign"].startswith("c-")
                assert e.payload["template"].startswith("t-")


def test_stage_changes_follow_the_ladder(people: list[SeedPerson]) -> None:
    for p in people:
        stage = ""
        for e in p.events:
            if e.kind != "stage_changed":
                continue
            if e.stage == "rejected":
                assert stage not in ("", "rejected", "hired")
            elif e.stage == "contacted":
                assert stage in ("", "rejected")
            elif e.stage == "engaged":
                assert stage in ("", "contacted", "rejected")
            else:
                assert LADDER.index(e.stage) == LADDER.index(stage) + 1, (stage, e.stage)
            stage = e.stage
        assert p.truth["final_stage"] == stage


def test_no_contact_after_unsubscribe_or_hire(people: list[SeedPerson]) -> None:
    for p in people:
        stop = next(
            (e.occurred_at for e in p.events if e.kind == "unsubscribed" or e.stage == "hired"),
            None,
        )
        if stop is not None:
            assert not [e for e in p.events if e.kind in SENDS and e.occurred_at > stop]


def test_replies_follow_sends_and_opens(people: list[SeedPerson]) -> None:
    machine = 0
    for p in people[:5000]:
        sent: set[str] = set()
        opened: set[str] = set()
        delivered_at: dict[str, datetime] = {}
        for e in p.events:
            campaign = e.payload.get("campaign", "")
            if e.kind in SENDS:
                sent.add(campaign)
            elif e.kind == "email_delivered":
                delivered_at[campaign] = e.occurred_at
            elif e.kind == "email_opened":
                if e.payload.get("machine"):
                    machine += 1
                    assert e.occurred_at - delivered_at[campaign] <= timedelta(seconds=30)
                else:
                    opened.add(campaign)
            elif e.kind in REPLIES or e.kind == "email_clicked":
                assert campaign in sent
                if e.channel == "email":
                    assert campaign in opened
    assert machine > 100


def test_history_volume_and_reply_rate_are_plausible(people: list[SeedPerson]) -> None:
    with_history = sum(1 for p in people if p.events) / len(people)
    assert 0.7 <= with_history <= 0.9
    mean_events = sum(len(p.events) for p in people) / len(people)
    assert 8 <= mean_events <= 15
    rate, sends = _reply_rate(people)
    assert 0.05 <= rate <= 0.20
    kinds = Counter(e.kind for p in people for e in p.events)
    for kind in (
        "email_sent",
        "email_delivered",
        "email_opened",
        "email_clicked",
        "email_replied",
        "sms_sent",
        "sms_replied",
        "unsubscribed",
        "applied",
        "stage_changed",
        "email_bounced",
    ):
        assert kinds[kind] > 0, kind
    assert kinds["unsubscribed"] < 0.02 * sends
    finals = Counter(p.truth["final_stage"] for p in people)
    assert finals["hired"] > 0 and finals["rejected"] > finals["hired"]


# -- the documented signal ---------------------------------------------------------------------
def test_referrals_reply_more_than_agency(first_5k: list[SeedPerson]) -> None:
    referral, n_ref = _reply_rate([p for p in first_5k if p.draft.source == "referral"])
    agency, n_ag = _reply_rate([p for p in first_5k if p.draft.source == "agency"])
    assert n_ref > 500 and n_ag > 500
    assert referral > 1.8 * agency and referral - agency > 0.05


def test_executives_reply_less_than_mid_level(first_5k: list[SeedPerson]) -> None:
    executive, n_ex = _reply_rate([p for p in first_5k if p.truth["seniority"] == "executive"])
    mid, n_mid = _reply_rate([p for p in first_5k if p.truth["seniority"] == "mid"])
    assert n_ex > 300 and n_mid > 1000
    assert executive < 0.7 * mid


def test_replying_before_predicts_replying_again(people: list[SeedPerson]) -> None:
    after_reply = [0, 0]  # [sends, replies] for sends after a previous reply
    never = [0, 0]
    for p in people:
        replied = False
        for e in p.events:
            if e.kind in SENDS:
                (after_reply if replied else never)[0] += 1
            elif e.kind in REPLIES:
                (after_reply if replied else never)[1] += 1
                replied = True
    assert after_reply[0] > 300
    assert after_reply[1] / after_reply[0] > 1.5 * never[1] / never[0]


def test_truth_matches_observed_behaviour(people: list[SeedPerson]) -> None:
    keys = {
        "responsiveness",
        "p_reply_email",
        "p_reply_sms",
        "p_reply_linkedin",
        "p_open",
        "p_click_given_open",
        "p_positive_reply",
        "p_reply_next",
        "mean_p_reply_used",
        "touches",
        "replies",
        "role_family",
        "seniority",
        "source",
        "final_stage",
    }
    for p in people[:100]:
        assert keys <= set(p.truth)
        assert all(isinstance(v, float | str) for v in p.truth.values())
    # The probabilities recorded are the ones used: expected replies ~= observed replies.
    expected = sum(float(p.truth["mean_p_reply_used"]) * float(p.truth["touches"]) for p in people)
    observed = sum(float(p.truth["replies"]) for p in people)
    assert abs(observed - expected) / expected < 0.08
    assert observed == sum(1 for p in people for e in p.events if e.kind in REPLIES)
    # Latent responsiveness orders people: top decile replies far more than the bottom one.
    contacted = sorted(
        (p for p in people if p.truth["touches"]), key=lambda p: float(p.truth["responsiveness"])
    )
    tenth = len(contacted) // 10
    low, _ = _reply_rate(contacted[:tenth])
    high, _ = _reply_rate(contacted[-tenth:])
    assert high > 3 * low


def test_ground_truth_doc_describes_the_model() -> None:
    text = GROUND_TRUTH_DOC.lower()
    for word in (
        "referral",
        "agency",
        "executive",
        "principal",
        "replied before",
        "fatigue",
        "unanswered",
        "machine",
        "quiet hours",
        "p_reply_next",
    ):
        assert word.replace("fatigue", "consecutive") in text, word
    assert len(GROUND_TRUTH_DOC) > 500
