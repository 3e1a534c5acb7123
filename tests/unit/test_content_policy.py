"""The next-best-content policy and the eligibility rules it runs after."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from rapport.core.content import (
    ContentItem,
    ContentKind,
    cap_until,
    embed_text,
    machine_open_reason,
    parse_quiet_hours,
    quiet_until,
    reads,
    validate_item,
)
from rapport.core.domain import Condition, Rule
from rapport.core.errors import ValidationFailed
from rapport.models.content_policy import (
    ContentPolicy,
    PolicyConfig,
    item_rates,
    predicted_response,
    propensities,
    relevance,
)

RNG = np.random.default_rng(11)


def test_propensities_are_a_distribution_over_the_eligible_set():
    config = PolicyConfig(temperature=0.1, exploration=0.05)
    for k in (1, 2, 7, 1000):
        scores = RNG.uniform(0.001, 0.2, k)
        p = propensities(scores, config)
        assert p.shape == (k,)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert p.min() >= 0.05 / k - 1e-12  # exploration keeps every item possible


def test_uniform_policy_is_one_over_k():
    p = propensities(np.array([0.9, 0.1, 0.001]), PolicyConfig(kind="uniform"))
    assert np.allclose(p, 1 / 3)


def test_better_scores_get_more_and_temperature_sharpens():
    scores = np.array([0.06, 0.05, 0.03])
    warm = propensities(scores, PolicyConfig(temperature=1.0, exploration=0.0))
    cold = propensities(scores, PolicyConfig(temperature=0.05, exploration=0.0))
    assert warm[0] > warm[1] > warm[2]
    assert cold[0] > warm[0]
    # Only ratios matter: scaling every score leaves the distribution as it is.
    assert np.allclose(
        propensities(scores * 7, PolicyConfig()), propensities(scores, PolicyConfig())
    )


def test_draws_follow_the_logged_propensities():
    policy = ContentPolicy(PolicyConfig(temperature=0.2), seed=3)
    rel = np.array([0.9, 0.8, 0.75, 0.5])
    rates = np.full(4, 0.05)
    choice = policy.choose(rel, rates, 0.05)
    counts = np.zeros(4)
    n = 20_000
    for _ in range(n):
        counts[policy.draw(choice.propensities)] += 1
    expected = choice.propensities * n
    sd = np.sqrt(expected * (1 - choice.propensities))
    assert np.all(np.abs(counts - expected) < 4 * sd), (counts, expected)
    assert choice.propensity == choice.propensities[choice.index]


def test_a_seed_makes_decisions_repeatable():
    rel = RNG.uniform(0.4, 0.9, 50)
    rates = RNG.uniform(0.01, 0.1, 50)
    a, b = ContentPolicy(PolicyConfig(), seed=9), ContentPolicy(PolicyConfig(), seed=9)
    seq_a = [a.choose(rel, rates, 0.1).index for _ in range(30)]
    seq_b = [b.choose(rel, rates, 0.1).index for _ in range(30)]
    assert seq_a == seq_b
    assert len(set(seq_a)) > 1  # and still random


def test_item_response_rates_shrink_to_the_prior():
    rates = item_rates(np.array([0, 10, 1000]), np.array([0, 10, 100]), 0.05, 20.0)
    assert rates[0] == pytest.approx(0.05)  # no history: the prior
    assert 0.05 < rates[1] < 0.5  # ten out of ten: pulled towards the prior
    assert rates[2] == pytest.approx(0.1, abs=0.002)  # plenty of history: the data


def test_predicted_response_is_the_persons_odds_times_the_items_odds_ratio():
    rates = np.array([0.05, 0.10, 0.025])
    assert predicted_response(0.05, rates, 0.05) == pytest.approx(rates)
    shifted = predicted_response(0.30, rates, 0.05)
    assert shifted[0] == pytest.approx(0.30)
    assert shifted[1] > 0.30 > shifted[2]


def test_relevance_is_cosine_mapped_to_unit_interval():
    person = np.array([1.0, 0.0])
    items = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    assert np.allclose(relevance(person, items), [1.0, 0.5, 0.0])
    role = np.array([0.0, 1.0])
    assert np.allclose(relevance(person, items, role), [0.75, 0.75, 0.25])


def test_the_policy_version_changes_with_what_changes_a_draw():
    base = PolicyConfig()
    assert base.version("enc-a") == PolicyConfig().version("enc-a")
    assert base.version("enc-a") != base.version("enc-b")
    assert base.version("enc-a") != PolicyConfig(temperature=0.2).version("enc-a")
    with pytest.raises(ValueError):
        PolicyConfig(kind="greedy")


# ------------------------------------------------------------------ eligibility rules


def test_quiet_hours_in_the_persons_own_time_zone():
    quiet = parse_quiet_hours("21:00-08:00")
    assert quiet.contains(time(23, 0)) and quiet.contains(time(7, 59))
    assert not quiet.contains(time(8, 0)) and not quiet.contains(time(20, 59))
    tokyo = ZoneInfo("Asia/Tokyo")  # UTC+9, no DST
    at = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    assert quiet_until(at, tokyo, quiet) == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 08:00 JST
    assert quiet_until(at, ZoneInfo("Europe/Berlin"), quiet) is None  # 15:00 in Berlin
    assert quiet_until(at, tokyo, None) is None
    for bad in ("21-08", "25:00-08:00", "08:00-08:00"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


def test_caps_over_a_sliding_window():
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    week = timedelta(days=7)
    sends = [at - timedelta(days=d) for d in (1, 3, 9)]
    assert cap_until(sends, at, 3, week) is None  # the 9-day-old send is outside
    assert cap_until(sends, at, 2, week) == at - timedelta(days=3) + week
    assert cap_until(sends, at, 0, week) is None  # 0: no cap


def test_language_rules():
    assert reads(["de", "en-GB"], "en", "en")
    assert reads(["en"], "en-US", "en")
    assert not reads(["de"], "fr", "en")
    assert reads([], "en", "en") and not reads([], "de", "en")
    assert reads(["de"], "", "en")


def test_machine_opens():
    delivered = datetime(2026, 3, 1, 9, tzinfo=UTC)
    soon, later = delivered + timedelta(seconds=4), delivered + timedelta(hours=3)
    within = timedelta(seconds=60)
    browser = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    assert machine_open_reason("Mozilla/5.0", False, later, delivered, within) == "user_agent"
    assert machine_open_reason(browser, False, soon, delivered, within) == "seconds_after_delivery"
    assert machine_open_reason(browser, True, later, delivered, within) == "hint"
    assert machine_open_reason("Barracuda Sentinel", False, later, None, within) == "user_agent"
    assert machine_open_reason(browser, False, later, delivered, within) == ""
    assert machine_open_reason("", False, later, None, within) == ""


def test_items_are_checked_with_template_locations():
    item = ContentItem(
        kind=ContentKind.EMAIL_TEMPLATE,
        title="  Hello  ",
        subject="Hi {{ first_name }}",
        body="Line one\n{{ frist_name }}",
        locale="english",
        channels=("EMAIL",),
    )
    with pytest.raises(ValidationFailed) as info:
        validate_item(item)
    (violation,) = info.value.violations
    assert violation.field == "item.body"
    assert violation.reason.startswith("line 2, column 4: unknown merge tag 'frist_name'")
    ok = validate_item(ContentItem(**{**item.__dict__, "body": "Line one\n{{ first_name }}"}))
    assert (ok.title, ok.locale, ok.channels) == ("Hello", "en", ("email",))


def test_item_problems_are_all_listed():
    start = datetime(2026, 1, 2, tzinfo=UTC)
    item = ContentItem(
        kind=ContentKind.EMAIL_TEMPLATE,
        title="",
        channels=("fax",),
        url="ftp://x",
        audience=Rule((Condition("shoe_size", "in", ("44",)),)),
        active_from=start,
        active_until=start - timedelta(days=1),
        fallbacks={"nope": "x"},
    )
    with pytest.raises(ValidationFailed) as info:
        validate_item(item)
    fields = {v.field for v in info.value.violations}
    assert {
        "item.title",
        "item.channels",
        "item.url",
        "item.audience.conditions[0].field",
        "item.active_until",
        "item.fallbacks.nope",
    } <= fields


def test_embedded_text_leaves_out_merge_tags():
    item = ContentItem(
        kind=ContentKind.ARTICLE,
        title="Scaling PostgreSQL",
        body="Hi {{ first_name }},\n{% if city %}in {{ city }}{% endif %} we wrote about replicas.",
        topics=("databases",),
    )
    text = embed_text(item)
    assert "{{" not in text and "first_name" not in text
    assert text.startswith("Scaling PostgreSQL") and "replicas" in text and "databases" in text
