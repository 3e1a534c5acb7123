"""ContentUseCases without a server: the engagement model's part, and seeded decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.core.config import Settings
from rapport.core.content import ContentItem, ContentKind
from rapport.core.domain import CandidateDraft, ConsentState
from rapport.core.errors import PreconditionFailed
from rapport.core.store import candidates, consent
from rapport.models.content_policy import ContentPolicy
from rapport.models.encoders import FakeEncoder
from rapport.services.content.library import EncoderHolder, Library
from rapport.services.content.use_cases import ContentUseCases, NextContext, policy_config
from rapport.services.engagement.source import EngagementLookup

NOON = (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, second=0)


class FixedEngagement:
    def __init__(self, p: float | None) -> None:
        self.p = p

    def scores_for(self, ids):
        if self.p is None:
            raise PreconditionFailed("no engagement model is available")
        return EngagementLookup("rapport-engagement", "3", {i: (self.p, "warm") for i in ids})


def make(db, settings: Settings, engagement=None, seed: int = 1) -> ContentUseCases:
    """Use cases over the stored library (loaded now; no background refresh)."""
    encoder = FakeEncoder()
    holder = EncoderHolder(load=None, shared=lambda: encoder)
    library = Library(db, holder, refresh_interval_s=3600)
    library.refresh()
    return ContentUseCases(
        db,
        settings,
        library,
        holder,
        ContentPolicy(policy_config(settings), seed=seed),
        engagement=engagement,
    )


@pytest.fixture
def person(db):
    with db.transaction() as s:
        c = candidates.create(
            s, CandidateDraft(first_name="Ana", emails=["ana@example.com"], headline="Python dev")
        )
        consent.set_state(s, c.id, ConsentState.GRANTED)
    return c.id


@pytest.fixture
def library(db, settings):
    uc = make(db, settings)
    for title in ("Python tips", "Nursing shifts", "Data meetup", "Go at scale"):
        uc.create(ContentItem(kind=ContentKind.ARTICLE, title=title, body="Hi {{ first_name }}"))
    return uc


def test_the_engagement_model_sets_the_predicted_response(db, settings, person, library):
    uc = make(db, settings, FixedEngagement(0.4))
    r = uc.next_best(person, NextContext(send_at=NOON), dry_run=True)
    # No item has history yet, so each is predicted at the person's own probability.
    assert r.response == pytest.approx(0.4)
    assert r.engagement_model == "rapport-engagement/3"
    assert r.score == pytest.approx(r.relevance * 0.4)


def test_without_a_model_the_prior_stands_in_and_says_so(db, settings, person, library):
    uc = make(db, settings, FixedEngagement(None))
    r = uc.next_best(person, NextContext(send_at=NOON), dry_run=True)
    assert r.response == pytest.approx(settings.content_prior_response)
    assert r.engagement_model == "" and "no engagement model" in r.reason


def test_the_same_seed_makes_the_same_decisions(db, settings, person, library):
    runs = []
    for _ in range(2):
        uc = make(db, settings, seed=42)
        runs.append(
            [
                uc.next_best(person, NextContext(send_at=NOON), dry_run=True).item.id
                for _ in range(20)
            ]
        )
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 1
