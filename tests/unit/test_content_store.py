"""The content store: audience rules decided in memory agree with the SQL, and the decision
log keeps what off-policy evaluation reads."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from rapport.core.content import ContentItem, ContentKind, NoSend, OutcomeKind
from rapport.core.domain import CandidateDraft, Condition, Rule, Seniority, SkillClaim
from rapport.core.errors import AlreadyExists, NotFound
from rapport.core.store import candidates, decisions, timeline
from rapport.core.store import content as content_store
from rapport.core.store.rules import compile_rule
from rapport.core.store.schema import CandidateRow

COUNTRIES = ["DE", "FR", "US", ""]
ZONES = ["Europe/Berlin", "America/New_York", ""]
SOURCES = ["referral", "linkedin", ""]
SKILLS = ["python", "sql", "react", "nursing"]


@pytest.fixture
def people(db):
    rng = random.Random(4)
    out = []
    with db.transaction() as s:
        candidates.ensure_skills(s, [SkillClaim(k, k.title()) for k in SKILLS])
        for i in range(40):
            draft = CandidateDraft(
                first_name=f"P{i}",
                emails=[f"p{i}@example.com"],
                country=rng.choice(COUNTRIES),
                timezone=rng.choice(ZONES),
                source=rng.choice(SOURCES),
                seniority=rng.choice(list(Seniority)),
                skills=[SkillClaim(k, k.title()) for k in rng.sample(SKILLS, rng.randint(0, 3))],
            )
            out.append(candidates.create(s, draft))
    return out


def conditions():
    yield Condition("country", "in", ("de", "US"))
    yield Condition("country", "not_in", ("FR",))
    yield Condition("timezone", "in", ("Europe/Berlin",))
    yield Condition("source", "not_in", ("referral",))
    yield Condition("seniority", "gte", ("senior",))
    yield Condition("seniority", "lte", ("mid",))
    yield Condition("seniority", "in", ("junior", "lead"))
    yield Condition("skill", "in", ("python", "react"))
    yield Condition("skill", "all", ("python", "sql"))
    yield Condition("skill", "not_in", ("nursing",))


def test_audience_rules_decided_in_memory_agree_with_sql(db, people):
    rules = [Rule((c,)) for c in conditions()]
    rules += [Rule(pair) for pair in itertools.combinations(conditions(), 2)]
    now = datetime.now(UTC)
    with db.read() as s:
        for rule in rules:
            sql = set(
                s.execute(
                    CandidateRow.__table__.select()
                    .with_only_columns(CandidateRow.pk)
                    .where(*compile_rule(rule, now))
                ).scalars()
            )
            for person in people:
                fits = content_store.rule_fits(person, rule)
                assert fits is not None
                assert fits == (person.pk in sql), (rule, person)


def test_rules_the_store_must_decide_go_to_sql(db, people):
    tagged = Rule((Condition("tag", "in", ("vip",)),))
    contacted = Rule((Condition("last_contacted_days", "within", ("30",)),))
    assert content_store.rule_fits(people[0], tagged) is None
    with db.transaction() as s:
        timeline.add(s, people[0].id, "email_sent", channel="email")
    with db.read() as s:
        matched = content_store.audience_matches(
            s, people[0], {"tag": tagged, "contacted": contacted}, datetime.now(UTC)
        )
        assert matched == {"contacted"}
        assert (
            content_store.audience_matches(
                s, people[1], {"tag": tagged, "contacted": contacted}, datetime.now(UTC)
            )
            == set()
        )


def _decide(db, person, item, *, propensity=0.5) -> str:
    with db.transaction() as s:
        return decisions.log(
            s,
            decisions.NewDecision(
                candidate_pk=person.pk,
                candidate_id=person.id,
                content_pk=item.pk,
                content_id=item.id,
                channel="email",
                context={},
                eligible=decisions.pack_eligible([item.pk], [1.0], [0.05], [0.5]),
                propensity=propensity,
                score=0.05,
                relevance=0.5,
                predicted_response=0.1,
                no_send=NoSend.NONE,
                reason="test",
                policy_name="test",
                policy_version="1",
            ),
        ).id


def test_the_log_feeds_item_statistics_and_contact_history(db, people):
    with db.transaction() as s:
        item = content_store.create(s, ContentItem(kind=ContentKind.ARTICLE, title="A", body="x"))
    ana, ben = people[0], people[1]
    first, second, third = (_decide(db, p, item) for p in (ana, ben, ben))
    now = datetime.now(UTC)
    with db.transaction() as s:
        decisions.record_outcome(s, OutcomeKind.DELIVERED, decision_id=first)
        decisions.record_outcome(s, OutcomeKind.REPLIED, decision_id=first)
        decisions.record_outcome(s, OutcomeKind.BOUNCED, decision_id=second)
    with db.read() as s:
        assert decisions.item_statistics(s) == {item.pk: (2, 1.0)}  # third: no outcome yet
        history = decisions.contact_history(s, ana.pk, now - timedelta(days=7))
        assert history.sent_content_pks == {item.pk}
        assert len(history.by_channel["email"]) == 1
        logged = decisions.logged_with_rewards(s)
        assert [(d.id, d.reward) for d in logged] == [(first, 1.0), (second, 0.0)]
        arrays = decisions.eligible_arrays(logged[0].eligible)
        assert arrays["ids"] == [item.pk] and arrays["p"] == [1.0]
        assert arrays["s"] == [pytest.approx(0.05)] and arrays["r"] == [0.5]
    assert third


def test_outcome_keys_and_targets(db, people):
    with db.transaction() as s:
        item = content_store.create(s, ContentItem(kind=ContentKind.ARTICLE, title="A", body="x"))
    d = _decide(db, people[0], item)
    with db.transaction() as s:
        decisions.record_outcome(s, OutcomeKind.CLICKED, decision_id=d, outcome_key="k")
    with pytest.raises(AlreadyExists), db.transaction() as s:
        decisions.record_outcome(s, OutcomeKind.CLICKED, decision_id=d, outcome_key="k")
    with pytest.raises(NotFound), db.transaction() as s:
        decisions.record_outcome(
            s, OutcomeKind.CLICKED, candidate_id=people[0].id, content_id="no-such-item"
        )
    with db.transaction() as s:  # without a decision for the pair: timeline only
        out = decisions.record_outcome(
            s, OutcomeKind.OPENED, candidate_id=people[1].id, content_id=item.id
        )
    assert out.decision_id == "" and out.reward is None and out.timeline_event_id
