"""Adverse-impact reports by the NYC LL144 method: a planted bias is found, small and
unknown groups are handled as the rules say, audit files are read with clear errors."""

from __future__ import annotations

import pytest
from analytics_data import BERTRAND_RATES, bertrand_synthetic, planted_audit

from rapport.core.errors import ValidationFailed
from rapport.models import fairness
from rapport.models.fairness import INTERSECTION, Limits, adverse_impact, read_audit


def _table(result, name):
    return next(t for t in result.tables if t.characteristic == name)


def _group(table, name):
    return next(g for g in table.groups if g.group == name)


def test_a_planted_bias_is_found():
    """Women selected at 0.6x the men's rate (30% vs 50%); race has no effect."""
    rates, people = {}, {}
    for race in ("white", "asian", "black_or_african_american"):
        rates[("male", race)] = 0.50
        rates[("female", race)] = 0.30
        people[("male", race)] = people[("female", race)] = 1500
    rows = planted_audit(rates, people)
    result = adverse_impact(["sex", "race_ethnicity"], fairness.ll144_counts(rows))
    sex = _table(result, "sex")
    female, male = _group(sex, "female"), _group(sex, "male")
    assert male.reference and male.impact_ratio == pytest.approx(1.0)
    assert female.impact_ratio == pytest.approx(0.6, abs=0.04)
    assert female.flagged and female.p_value < 1e-6
    assert female.total == 4500 and female.selected == pytest.approx(1350, abs=90)
    race = _table(result, "race_ethnicity")
    assert not any(g.flagged for g in race.groups)  # no bias planted there
    assert all(g.impact_ratio > 0.85 for g in race.groups)
    inter = _table(result, f"sex{INTERSECTION}race_ethnicity")
    assert len(inter.groups) == 6
    assert {g.values[0] for g in inter.groups if g.flagged} == {"female"}
    assert result.flagged_groups == 1 + 3


def test_synthetic_bertrand_callback_rates_are_flagged():
    """SYNTHETIC data drawn with Bertrand & Mullainathan's published callback rates
    (9.65% white-sounding vs 6.45% Black-sounding names): ratio about 0.67."""
    result = adverse_impact(["sex", "race_ethnicity"], fairness.ll144_counts(bertrand_synthetic()))
    race = _table(result, "race_ethnicity")
    black = _group(race, "black_or_african_american")
    expected = BERTRAND_RATES["black_or_african_american"] / BERTRAND_RATES["white"]
    assert black.impact_ratio == pytest.approx(expected, abs=0.1)
    assert black.flagged and black.p_value < 0.01
    assert _group(race, "white").reference


def test_small_groups_are_too_small_never_100_percent():
    counts = {
        ("male", "white"): (40, 100),
        ("female", "white"): (35, 100),
        ("male", "asian"): (2, 2),  # 2 of 2 selected: not a 100% to compare against
        ("", "white"): (5, 10),  # unknown sex
    }
    result = adverse_impact(["sex", "race_ethnicity"], counts, Limits(min_count=30))
    inter = _table(result, f"sex{INTERSECTION}race_ethnicity")
    tiny = _group(inter, f"male{INTERSECTION}asian")
    assert tiny.too_small and tiny.impact_ratio is None and not tiny.flagged
    assert not tiny.rate.enough  # shown as "too small", not as a rate
    ref = next(g for g in inter.groups if g.reference)
    assert ref.group == f"male{INTERSECTION}white"  # not the 2-of-2 group
    assert inter.unknown == 10
    race = _table(result, "race_ethnicity")
    assert _group(race, "asian").too_small
    sex = _table(result, "sex")
    assert sex.unknown == 10 and {g.group for g in sex.groups} == {"male", "female"}


def test_the_two_percent_rule():
    counts = {("a",): (50, 1000), ("b",): (40, 1000), ("c",): (10, 40)}  # c: 1.9% of 2,040
    table = adverse_impact(["group"], counts, Limits(min_count=1)).tables[0]
    assert _group(table, "c").too_small
    assert not _group(table, "b").too_small


def test_nobody_selected_and_a_single_group_are_not_judged():
    none = adverse_impact(["g"], {("a",): (0, 100), ("b",): (0, 100)})
    assert not none.tables[0].judged
    assert all(g.impact_ratio is None for g in none.tables[0].groups)
    assert "nobody was selected" in " ".join(none.notes)
    single = adverse_impact(["g"], {("a",): (10, 100), ("",): (3, 50)})
    assert not single.tables[0].judged and "fewer than two" in single.tables[0].note
    empty = adverse_impact(["g"], {})
    assert empty.population == 0 and "empty" in empty.notes[0]


def test_reading_an_audit_file():
    text = (
        "id;Sex;Race;Selected\n"
        "1;Female;White;yes\n"
        "2;male;White;no\n"
        "3;;Asian;1\n"
        "4;female;declined;0\n"
        "\n"
    )
    data = read_audit(text, ["sex", "race"], "selected", source="a.csv")
    assert data.group_columns == ("sex", "race")
    assert data.rows == 4
    assert data.counts == {
        ("Female", "White"): (1, 1),
        ("male", "White"): (0, 1),
        ("", "Asian"): (1, 1),
        ("female", ""): (0, 1),
    }


@pytest.mark.parametrize(
    ("text", "groups", "selected", "message"),
    [
        ("a,b\n1,2\n", ["sex"], "b", "'sex' is not a column; columns: a, b"),
        ("sex,b\nf,1\n", ["sex"], "picked", "'picked' is not a column"),
        ("", ["sex"], "sel", "is empty"),
        ("sex,sel\n", ["sex"], "sel", "no rows"),
        ("sex,sel\nf,maybe\nm,1\n", ["sex"], "sel", "line 2: sel is 'maybe'"),
        ("sex,sel\nf\n", ["sex"], "sel", "fewer than the header"),
        ("sex,sel\nf,1\n", [], "sel", "at least one group column"),
    ],
)
def test_bad_audit_files_get_clear_errors(text, groups, selected, message):
    with pytest.raises(ValidationFailed) as err:
        read_audit(text, groups, selected)
    assert message in str(err.value)


def test_audit_file_on_disk(tmp_path):
    path = tmp_path / "audit.csv"
    path.write_text("sex,hired\nf,1\nm,0\n", encoding="utf-8")
    assert fairness.read_audit_file(path, ["sex"], "hired").source == "audit.csv"
    with pytest.raises(ValidationFailed, match="does not exist"):
        fairness.read_audit_file(tmp_path / "nope.csv", ["sex"], "hired")
