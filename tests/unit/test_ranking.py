"""Hybrid scoring: each component on its own, their weighting, and the reasons given."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from rapport.core.domain import Role, Seniority
from rapport.models.profiles import CandidateProfile, SkillEvidence
from rapport.models.ranking import (
    Weights,
    explain,
    rank_scored,
    resolve_role,
    score_candidate,
    utc_offset_hours,
    zones_within,
)

WINTER = datetime(2026, 1, 15, 12, tzinfo=UTC)


@dataclass
class Match:
    text: str
    skill_id: str
    label: str
    confidence: float
    method: str


class TinyResolver:
    """A stand-in skill mapper: a fixed alias table and one related pair."""

    ALIASES = {
        "python": ("python", "Python"),
        "k8s": ("kubernetes", "Kubernetes"),
        "kubernetes": ("kubernetes", "Kubernetes"),
        "go": ("go", "Go"),
        "docker": ("docker", "Docker"),
    }
    RELATED = {("kubernetes", "docker"), ("docker", "kubernetes")}

    def map_many(self, texts):
        out = []
        for t in texts:
            hit = self.ALIASES.get(t.lower())
            out.append(Match(t, *hit, 1.0, "alias") if hit else Match(t, "", "", 0.0, "none"))
        return out

    def extract(self, text, *, limit=30):
        words = {w.strip(".,").lower() for w in text.split()}
        return [
            Match(w, *self.ALIASES[w], 1.0, "alias") for w in sorted(words) if w in self.ALIASES
        ][:limit]

    def related(self, skill_id):
        return {b for a, b in self.RELATED if a == skill_id}


def profile(
    skills=(), seniority="senior", country="DE", timezone="Europe/Berlin", languages=("en",)
):
    return CandidateProfile(
        pk=1,
        id="c1",
        display_name="Ana",
        headline="Engineer",
        seniority=seniority,
        country=country,
        timezone=timezone,
        languages=tuple(languages),
        skills=MappingProxyType({s: SkillEvidence(s.title(), "profile") for s in skills}),
        skill_ids=frozenset(skills),
    )


def score(role, prof, semantic=0.5, weights=Weights()):
    query = resolve_role(role, TinyResolver(), WINTER)
    return explain(query, score_candidate(query, prof, semantic, weights, WINTER))


def test_required_skills_full_partial_and_missing():
    role = Role(title="x", required_skills=("Python", "k8s", "Go"))
    s = score(role, profile(["python", "docker"]))
    assert s.components.skills == pytest.approx((1 + 0.5 + 0) / 3)
    assert [(m.skill_id, m.credit, m.via) for m in s.matched] == [
        ("python", 1.0, "Python"),
        ("kubernetes", 0.5, "Docker"),
    ]
    assert s.missing == ("Go",)
    assert s.reason.startswith("1/3 required skills (+1 related); missing Go")


def test_nice_to_have_counts_half():
    role = Role(title="x", required_skills=("Python",), nice_to_have_skills=("Go",))
    assert score(role, profile(["python"])).components.skills == pytest.approx(1 / 1.5)
    assert score(role, profile(["go"])).components.skills == pytest.approx(0.5 / 1.5)


def test_skill_that_maps_to_nothing_is_matched_by_its_text():
    role = Role(title="x", required_skills=("Zig Lang",))
    query = resolve_role(role, TinyResolver(), WINTER)
    assert query.skills[0].method == "none" and query.skills[0].skill_id == "zig-lang"
    assert score(role, profile(["zig-lang"])).components.skills == 1.0


def test_skills_mentioned_in_the_description_count_a_quarter():
    role = Role(title="Platform engineer", description="We run Go on Kubernetes.")
    query = resolve_role(role, TinyResolver(), WINTER)
    assert {(s.skill_id, s.kind) for s in query.skills} == {
        ("go", "mentioned"),
        ("kubernetes", "mentioned"),
    }
    assert score(role, profile(["go"])).components.skills == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("seniority", "expected"),
    [("senior", 1.0), ("lead", 1.0), ("mid", 0.6), ("junior", 0.2), ("intern", 0.0), ("", 0.5)],
)
def test_seniority_fit(seniority, expected):
    role = Role(title="x", min_seniority=Seniority.SENIOR, max_seniority=Seniority.LEAD)
    assert score(role, profile(seniority=seniority)).components.seniority == pytest.approx(expected)


def test_place_fit_country_or_timezone_then_languages():
    role = Role(title="x", countries=("DE",), timezones=("Europe/Lisbon",), languages=("en", "de"))
    # Berlin: in the countries (1), speaks en but not de (0.5) -> mean 0.75.
    assert score(role, profile()).components.location == pytest.approx(0.75)
    # London: not DE, but UTC+0 is inside the Lisbon window in winter: place fit 1.
    london = profile(country="GB", timezone="Europe/London", languages=("en-GB", "de"))
    assert score(role, london).components.location == pytest.approx(1.0)
    # New York: 5 hours outside the window -> time-zone fit 0; country 0.
    ny = profile(country="US", timezone="America/New_York", languages=("en", "de"))
    assert score(role, ny).components.location == pytest.approx(0.5)


def test_components_the_role_is_silent_on_are_left_out():
    role = Role(title="Engineer")
    s = score(role, profile(), semantic=0.42)
    assert s.components.skills is None
    assert s.components.seniority is None and s.components.location is None
    assert s.score == pytest.approx(0.42)


def test_weights_shape_the_score():
    role = Role(title="x", required_skills=("Python",))
    semantic_only = Weights(semantic=1, skills=0, seniority=0, location=0)
    assert score(role, profile(["python"]), 0.3, semantic_only).score == pytest.approx(0.3)
    even = Weights(semantic=1, skills=1, seniority=0, location=0)
    assert score(role, profile(["python"]), 0.3, even).score == pytest.approx(0.65)
    with pytest.raises(ValueError):
        Weights(semantic=0, skills=0, seniority=0, location=0)


def test_rank_order_is_stable_on_ties():
    role = Role(title="x")
    a = score(role, profile(), 0.5)
    b = score(role, replace(profile(), pk=2, id="c0"), 0.5)
    assert [s.profile.id for s in rank_scored([a, b])] == ["c0", "c1"]


def test_timezones_and_windows():
    assert utc_offset_hours("Asia/Kolkata", WINTER) == 5.5
    assert utc_offset_hours("Nowhere/Special", WINTER) is None
    zones = zones_within((0, 1), WINTER)
    assert "Europe/Berlin" in zones and "Europe/London" in zones
    assert "America/New_York" not in zones
    query = resolve_role(
        Role(title="x", timezones=("Europe/London", "Europe/Helsinki")), TinyResolver(), WINTER
    )
    assert query.utc_window == (0.0, 2.0)


def test_skill_shortlist_dense_and_sparse_totals_agree(monkeypatch):
    """The pk-indexed totals (no sort of the postings) pick the same shortlist as the
    sort-based path kept for stores with huge keys, with and without a filter."""
    from types import SimpleNamespace

    import numpy as np

    from rapport.models import match_index

    rng = np.random.default_rng(7)
    index = match_index.MatchIndex(
        None, None, SimpleNamespace(resolver=SimpleNamespace(related=lambda s: ("rel",)))
    )
    index._postings = {
        name: set(rng.choice(50_000, size, replace=False).tolist())
        for name, size in (("py", 20_000), ("k8s", 5_000), ("sql", 12_000), ("rel", 8_000))
    }
    query = SimpleNamespace(
        skills=[
            SimpleNamespace(skill_id=s, weight=w)
            for s, w in (("py", 1.0), ("k8s", 1.0), ("sql", 0.5))
        ]
    )
    allowed = np.sort(rng.choice(60_000, 9_000, replace=False))

    def shortlist(limit, allowed):
        weights = {}  # the totals each path ranks by, to compare sets whatever the ties
        got = index._skill_shortlist(query, allowed, limit)
        for pk in got.tolist():
            weights[pk] = sum(
                w * f
                for s, w in (("py", 1.0), ("k8s", 1.0), ("sql", 0.5))
                for name, f in ((s, 1.0), ("rel", 0.5))
                if pk in index._postings[name]
            )
        return sorted(weights.values(), reverse=True), set(got.tolist())

    for limit, filt in ((200, None), (200, allowed), (100_000, allowed)):
        dense = shortlist(limit, filt)
        monkeypatch.setattr(match_index, "DENSE_TOTALS_MIN", 0)
        monkeypatch.setattr(match_index, "DENSE_TOTALS_RATIO", 0)
        sparse = shortlist(limit, filt)
        monkeypatch.undo()
        assert dense[0] == sparse[0]  # the same totals chosen (ties may pick other pks)
        if filt is not None:
            assert dense[1] <= set(filt.tolist())
        if limit >= 100_000:
            assert dense[1] == sparse[1]
