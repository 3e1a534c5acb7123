"""`candidates.set_engagement_bands`: the derived band column, written in bulk without the
bookkeeping of a candidate write (no version bump, no change feed), and read by segments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from rapport.core.domain import CandidateDraft, Condition, Rule
from rapport.core.errors import ValidationFailed
from rapport.core.store import candidates, feed, merges
from rapport.core.store.schema import AuditRow, CandidateRow


def people(db, n: int) -> list:
    with db.transaction() as s:
        return [
            candidates.create(s, CandidateDraft(first_name=f"P{i}", emails=[f"p{i}@example.com"]))
            for i in range(n)
        ]


def test_bands_change_only_what_differs_and_leave_versions_and_feed_alone(db):
    made = people(db, 4)
    pks = [c.pk for c in made]
    with db.read() as s:
        head = feed.head(s)
        audits = s.execute(select(func.count()).select_from(AuditRow)).scalar_one()
    with db.transaction() as s:
        first = dict(zip(pks, ["hot", "warm", "cold", "hot"], strict=True))
        assert candidates.set_engagement_bands(s, first) == 4
    with db.transaction() as s:  # one changes, three are already so
        second = dict(zip(pks, ["hot", "warm", "dormant", "hot"], strict=True))
        assert candidates.set_engagement_bands(s, second) == 1
    with db.read() as s:
        rows = {r.pk: r for r in s.execute(select(CandidateRow)).scalars()}
        assert [rows[pk].engagement_band for pk in pks] == ["hot", "warm", "dormant", "hot"]
        assert all(rows[pk].version == 1 for pk in pks)
        assert all(rows[c.pk].updated_at == c.updated_at for c in made)
        assert feed.head(s) == head
        assert s.execute(select(func.count()).select_from(AuditRow)).scalar_one() == audits
        hot = candidates.list_page(
            s, Rule((Condition("engagement_band", "in", ("hot",)),)), 10, ""
        ).items
        assert sorted(c.id for c in hot) == sorted([made[0].id, made[3].id])
        cooled = candidates.list_page(
            s, Rule((Condition("engagement_band", "not_in", ("hot", "warm")),)), 10, ""
        ).items
        assert [c.id for c in cooled] == [made[2].id]


def test_merged_records_keep_their_band_and_bad_bands_are_refused(db):
    a, b = people(db, 2)
    with db.transaction() as s:
        merges.merge(s, a.id, b.id, reason="same person")
    with db.transaction() as s:
        assert candidates.set_engagement_bands(s, {a.pk: "warm", b.pk: "hot"}) == 1  # a only
        with pytest.raises(ValidationFailed, match="unknown band 'tepid'"):
            candidates.set_engagement_bands(s, {a.pk: "tepid"})
    with db.read() as s:
        assert s.get(CandidateRow, b.pk).engagement_band == ""


def test_a_rule_with_an_unknown_band_is_refused(db):
    with db.read() as s, pytest.raises(ValidationFailed) as err:
        candidates.list_page(
            s, Rule((Condition("engagement_band", "in", ("hot", "tepid")),)), 5, ""
        )
    assert [v.field for v in err.value.violations] == ["rule.conditions[0].values"]


def test_ten_thousand_and_one_bands_go_in_chunks(db):
    """More pks than one UPDATE binds (BAND_CHUNK): every one is written."""
    now = datetime.now(UTC)
    from rapport.core.ids import uuid7s
    from rapport.core.store import bulk

    n = candidates.BAND_CHUNK + 1
    with db.transaction() as s:
        bulk.copy_rows(
            s,
            CandidateRow.__table__,
            ("id", "first_name", "created_at", "updated_at"),
            ((cid, "B", now, now) for cid in uuid7s(n)),
        )
        pks = list(s.execute(select(CandidateRow.pk)).scalars())
        assert candidates.set_engagement_bands(s, dict.fromkeys(pks, "cold")) == n
    with db.read() as s:
        assert (
            s.execute(
                select(func.count()).where(CandidateRow.engagement_band == "cold")
            ).scalar_one()
            == n
        )
