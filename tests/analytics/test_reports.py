"""Campaign and pool reports against figures counted by hand (conftest.KNOWN), on SQLite
and (with RAPPORT_DATABASE_URL) PostgreSQL; the ledger's refresh and rebuild; bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_data import KNOWN, SEQ, SINCE, UNTIL, at

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.store import analytics as store
from rapport.core.store import timeline
from rapport.models import analytics

NO_GRACE = timedelta(0)
LOW = analytics.Limits(min_n=1)  # every rate judged: the fixture is tiny on purpose


def refresh(db, **kw):
    return store.refresh(db.transaction, grace=NO_GRACE, **kw)


def campaign(db, limits=LOW, **kw):
    with db.read() as s:
        _, _, unattributed = store.position(s)
        return analytics.campaign_report(
            s, SINCE, UNTIL, limits=limits, unattributed=unattributed, **kw
        )


def counts(stats) -> dict:
    return {k: getattr(stats, k) for k in KNOWN["totals"]}


def test_campaign_report_matches_hand_counts(db, known):
    result = refresh(db)
    assert result.unattributed == KNOWN["unattributed"]
    report = campaign(db)
    assert counts(report.totals) == KNOWN["totals"]
    assert report.campaigns == KNOWN["campaigns"]
    assert report.unattributed == KNOWN["unattributed"]
    assert {t.key: counts(t) for t in report.by_template} == KNOWN["templates"]
    assert {s.key: s.sent for s in report.by_step} == KNOWN["steps"]
    assert [(s.key, s.sent, s.replied) for s in report.by_sequence] == [(SEQ, 1, 1)]
    assert [(c.key, c.sent) for c in report.by_channel] == [("email", 7)]
    rates = report.totals.rates
    assert (rates["delivery_rate"].numerator, rates["delivery_rate"].denominator) == (6, 7)
    assert (rates["open_rate"].numerator, rates["open_rate"].denominator) == (2, 6)
    assert rates["reply_rate"].value == pytest.approx(3 / 7)
    assert rates["bounce_rate"].value == pytest.approx(1 / 7)
    low, high = rates["reply_rate"].low, rates["reply_rate"].high
    assert 0.0 < low < 3 / 7 < high < 1.0  # a real interval around the rate
    assert any("machine opens" in n for n in report.notes)


def test_ab_comparison_of_variants_at_the_same_step(db, known):
    refresh(db)
    report = campaign(db)
    (comp,) = report.comparisons  # t-a-1 vs t-b-1, both email step 1
    assert comp.group == "email, step 1"
    assert (comp.leader, comp.variant) == ("t-a-1", "t-b-1")
    assert comp.test == "Fisher exact test"  # expected counts far below 5
    assert comp.p_value == pytest.approx(1.0)  # [[1, 1], [1, 2]]: nothing to see
    assert comp.difference == pytest.approx(1 / 3 - 1 / 2)
    assert not comp.significant


def test_small_numbers_are_marked_not_enough_data(db, known):
    refresh(db)
    report = campaign(db, limits=analytics.Limits(min_n=30))
    assert not report.totals.rates["reply_rate"].enough
    (comp,) = report.comparisons
    assert not comp.enough_data and "not enough data" in comp.verdict


def test_pool_report_matches_hand_counts(db, known):
    refresh(db)
    with db.read() as s:
        report = analytics.pool_report(s, SINCE, UNTIL, limits=LOW)
    assert report.added == 7 and report.pool_size == 7
    assert {f.stage: f.count for f in report.funnel} == KNOWN["funnel"]
    engaged = next(f for f in report.funnel if f.stage == "engaged")
    assert (engaged.from_previous.numerator, engaged.from_previous.denominator) == (2, 5)
    got = {
        s.source: (
            s.candidates,
            s.contacted.numerator,
            s.replied.numerator,
            s.interview.numerator,
            s.hired.numerator,
        )
        for s in report.sources
    }
    assert got == KNOWN["sources"]
    fc = report.time_to_first_contact
    assert fc.count == KNOWN["first_contact"]["count"]
    assert fc.median_hours == pytest.approx(KNOWN["first_contact"]["median"], abs=0.01)
    assert fc.p90_hours == pytest.approx(KNOWN["first_contact"]["p90"], abs=0.01)
    reply = report.time_to_reply
    assert (reply.count, reply.median_hours, reply.p90_hours) == pytest.approx(
        (3, 24.0, 24.0), abs=0.01
    )
    r = report.reengagement
    assert (r.contacted, r.replied.numerator) == KNOWN["reengagement"]
    growth = sorted((g.period_start, g.source, g.added) for g in report.growth)
    assert growth == KNOWN["growth"]
    by_source = {}
    for g in report.growth:  # cumulative counts run per source
        by_source.setdefault(g.source, []).append(g.cumulative)
    assert by_source["event"] == [1, 2]


def test_the_cohort_is_measured_as_of_the_range_end(db, known):
    """Until mid-February A had reached interview? No: only screen (02-10)."""
    refresh(db)
    with db.read() as s:
        report = analytics.pool_report(s, SINCE, at(2, 15), limits=LOW)
    funnel = {f.stage: f.count for f in report.funnel}
    assert funnel["sourced"] == 4  # A, B, C, D joined by then
    assert funnel["screen"] == 1 and funnel["interview"] == 0 and funnel["hired"] == 0


def test_a_pool_report_covers_its_members_only(db, known):
    from rapport.core.store import pools

    with db.transaction() as s:
        pool = pools.create(s, "Known pool")
        pools.add_members(s, pool.id, [known["A"], known["B"]], stage="interview")
        pool_pk = store.pool_pk(s, pool.id)
    refresh(db)
    with db.read() as s:
        report = analytics.pool_report(
            s, SINCE, UNTIL + timedelta(days=3650), pool_pk=pool_pk, limits=LOW
        )
    funnel = {f.stage: f.count for f in report.funnel}
    assert funnel["sourced"] == 2
    assert funnel["interview"] == 2  # B's pool stage counts as reached
    assert funnel["hired"] == 1


def test_refresh_is_incremental_and_rebuild_gives_the_same_ledger(db, known):
    refresh(db)
    first = campaign(db)
    with db.transaction() as s:  # a late click on A's campaign, a new send to E
        pk_a = store_pk(s, known["A"])
        pk_e = store_pk(s, known["E"])
        timeline.add_many(
            s,
            [
                {
                    "candidate_pk": pk_a,
                    "kind": "email_clicked",
                    "occurred_at": at(2, 2, 9),
                    "channel": "email",
                    "payload": {"campaign": "c-a"},
                },
                {
                    "candidate_pk": pk_e,
                    "kind": "email_sent",
                    "occurred_at": at(7, 1, 9),
                    "channel": "email",
                    "payload": {"campaign": "c-e", "template": "t-a-1", "step": 1},
                },
            ],
        )
    step = refresh(db)
    assert step.sends == 1 and step.outcomes == 1
    second = campaign(db)
    assert second.totals.sent == first.totals.sent + 1
    assert second.totals.clicked == first.totals.clicked  # A1 was clicked already
    with db.transaction() as s:
        store.rebuild(s)
    refresh(db, batch=3)  # many small batches: same result
    third = campaign(db)
    assert counts(third.totals) == counts(second.totals)
    assert third.campaigns == second.campaigns
    assert {t.key: counts(t) for t in third.by_template} == {
        t.key: counts(t) for t in second.by_template
    }


def store_pk(session, candidate_id):
    from rapport.core.store import candidates

    return candidates.pk_for(session, candidate_id)


def test_templates_filter_and_unknown_templates(db, known):
    refresh(db)
    report = campaign(db, templates=["t-a-2", "t-a-1"])
    assert [t.key for t in report.by_template] == ["t-a-1", "t-a-2"]
    assert report.totals.sent == 3
    assert report.unknown_templates == []
    with pytest.raises(NotFound, match="t-nope"):
        campaign(db, templates=["t-nope"])
    with db.read() as s:  # known, but not sent in this range: reported, not an error
        report = analytics.campaign_report(s, at(6, 1), at(7, 1), templates=["t-a-1"])
    assert report.unknown_templates == ["t-a-1"] and report.totals.sent == 0


def test_an_empty_range_reports_zeros_without_dividing_by_zero(db, known):
    refresh(db)
    with db.read() as s:
        report = analytics.campaign_report(s, at(12, 1), at(12, 2))
        pools_report = analytics.pool_report(s, at(12, 1), at(12, 2))
    assert report.totals.sent == 0
    assert all(not r.enough and r.value == 0.0 for r in report.totals.rates.values())
    assert "no sends in this range" in report.notes
    assert pools_report.added == 0
    assert all(f.count == 0 and not f.from_start.enough for f in pools_report.funnel)
    assert not pools_report.time_to_first_contact.enough_data


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (at(3, 1), at(3, 1), "empty"),
        (at(3, 2), at(3, 1), "empty"),
        (UNTIL + timedelta(days=3650), None, "future"),
    ],
)
def test_bad_ranges_are_refused(since, until, message):
    with pytest.raises(ValidationFailed, match=message):
        analytics.resolve_range(since, until, 365)


def test_bad_metric_and_interval(db, known):
    with db.read() as s, pytest.raises(ValidationFailed, match="metric"):
        analytics.campaign_report(s, SINCE, UNTIL, metric="revenue")
    with db.read() as s, pytest.raises(ValidationFailed, match="interval"):
        analytics.pool_report(s, SINCE, UNTIL, interval="fortnight")


def test_erasing_a_person_removes_their_ledger_rows(db, known):
    from sqlalchemy import delete

    from rapport.core.store.schema import CandidateRow

    refresh(db)
    with db.transaction() as s:
        s.execute(delete(CandidateRow).where(CandidateRow.id == known["B"]))
    report = campaign(db)
    assert report.totals.sent == KNOWN["totals"]["sent"] - 2


def test_content_items_come_from_the_decision_log(db, known):
    """NextBestContent sends: two decisions for one item; A's mail was delivered, opened
    by a scanner within seconds, then by A, and clicked; B's bounced."""
    from datetime import UTC, datetime

    from rapport.core.content import ContentItem, ContentKind, NoSend, OutcomeKind
    from rapport.core.store import content as content_store
    from rapport.core.store import decisions

    now = datetime.now(UTC)
    with db.transaction() as s:
        item = content_store.create(
            s, ContentItem(kind=ContentKind.ARTICLE, title="Why engineers join us")
        )
        made = {}
        for name in ("A", "B"):
            made[name] = decisions.log(
                s,
                decisions.NewDecision(
                    candidate_pk=store_pk(s, known[name]),
                    candidate_id=known[name],
                    content_pk=item.pk,
                    content_id=item.id,
                    channel="email",
                    context={},
                    eligible={},
                    propensity=0.5,
                    score=0.1,
                    relevance=0.5,
                    predicted_response=0.05,
                    no_send=NoSend.NONE,
                    reason="test",
                    policy_name="test",
                    policy_version="1",
                ),
            )
        a, b = made["A"].id, made["B"].id
        decisions.record_outcome(s, OutcomeKind.DELIVERED, decision_id=a, occurred_at=now)
        decisions.record_outcome(
            s,
            OutcomeKind.OPENED,
            decision_id=a,
            occurred_at=now + timedelta(seconds=5),
            machine_hint=True,
        )
        decisions.record_outcome(
            s, OutcomeKind.OPENED, decision_id=a, occurred_at=now + timedelta(minutes=3)
        )
        decisions.record_outcome(
            s, OutcomeKind.CLICKED, decision_id=a, occurred_at=now + timedelta(minutes=4)
        )
        decisions.record_outcome(s, OutcomeKind.BOUNCED, decision_id=b, occurred_at=now)
    refresh(db)
    with db.read() as s:
        _, _, unattributed = store.position(s)
        report = analytics.campaign_report(
            s, now - timedelta(days=1), now + timedelta(days=1), limits=LOW
        )
    (row,) = report.by_content
    assert (row.key, row.label) == (item.id, "Why engineers join us")
    assert (row.sent, row.delivered, row.opened, row.machine_opens, row.clicked) == (
        2,
        1,
        1,
        1,
        1,
    )
    assert row.bounced == 1
    # their timeline events name the decision: left to the decision log, not "unattributed"
    assert unattributed == KNOWN["unattributed"]
